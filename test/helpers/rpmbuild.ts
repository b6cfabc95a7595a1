/**
 * Builds real RPM packages with the system `rpmbuild` (rpm 4.18 on Debian) from generated specs,
 * for tests and benchmarks that need packages with known contents.
 *
 * Every spec gets its own throw-away `_topdir`; the packaged files are prepared by this helper in
 * SOURCES/root and copied into the build root with one `cp -a`, so thousands of files cost one
 * process, not thousands. Packages land flat in `outDir` as <name>-<version>-<release>.<arch>.rpm.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

export interface SpecFile {
  /** Absolute path inside the package, e.g. /usr/bin/tool. */
  path: string;
  /** 'file' (default), 'config' (%config(noreplace)), 'doc', 'dir' (%dir), 'ghost' (%ghost, not in the build root), 'symlink'. */
  kind?: 'file' | 'config' | 'doc' | 'dir' | 'ghost' | 'symlink';
  /** File content (default: a line naming the path). */
  content?: string;
  /** Octal mode for %attr, e.g. '0755'. */
  mode?: string;
  /** Symlink target (kind 'symlink'). */
  target?: string;
}

export interface SpecChangelog {
  /** Seconds since the epoch (any time of day; rpm keeps it exactly). */
  time: number;
  /** The header line after the date, e.g. 'Jane Doe <jane@example.com> - 1.0-1'. */
  author: string;
  /** The entry text, usually lines starting with '- '. */
  text: string;
}

/** Dependency lists take rpm spec syntax: 'foo', 'foo >= 1:2.0-3', '(a or b)'. */
export interface SpecDependencies {
  requires?: string[];
  /** Written as Requires(pre): and so rendered with pre="1". */
  requiresPre?: string[];
  requiresPost?: string[];
  provides?: string[];
  conflicts?: string[];
  obsoletes?: string[];
  recommends?: string[];
  suggests?: string[];
  supplements?: string[];
  enhances?: string[];
}

export interface SubpackageSpec extends SpecDependencies {
  /** Full package name (written with %package -n). */
  name: string;
  summary?: string;
  description?: string;
  files?: SpecFile[];
}

export interface RpmSpec extends SpecDependencies {
  name: string;
  version?: string;
  release?: string;
  epoch?: number;
  /** 'noarch' (BuildArch) or a target such as 'x86_64' (rpmbuild --target); default x86_64. */
  arch?: string;
  summary?: string;
  description?: string;
  license?: string;
  url?: string;
  vendor?: string;
  packager?: string;
  group?: string;
  files?: SpecFile[];
  /** Any order; written newest first as rpmbuild requires. */
  changelog?: SpecChangelog[];
  /** Whether the main package is built (default true); false builds only the subpackages. */
  mainPackage?: boolean;
  /**
   * Extra packages from the same spec. A number N adds N packages named
   * `<name>-sub<i>` (i = 1..N, zero-padded to the width of N) with one file each,
   * /usr/share/<name>/sub<i>.txt, and a provides `<name>-sub<i>-feature`.
   */
  subpackages?: number | SubpackageSpec[];
  /** Scriptlet bodies of the main package (rpmbuild adds their interpreter, /bin/sh, as a pre-requirement). */
  scripts?: Partial<Record<'pre' | 'post' | 'preun' | 'postun' | 'pretrans' | 'posttrans', string>>;
  /** rpm's automatic dependency generators (default true); off makes big builds much faster. */
  autoReqProv?: boolean;
  /** Build time and clamp for file mtimes (seconds): makes the output reproducible. */
  sourceDateEpoch?: number;
}

export interface BuildOptions {
  /** Parallel rpmbuild processes (default: available cores). */
  concurrency?: number;
}

/** Names of the packages a spec produces, in build order (main first). */
export function subpackageNames(spec: RpmSpec): string[] {
  return expandSubpackages(spec).map((sub) => sub.name);
}

/** Builds every spec; resolves to the absolute paths of all written .rpm files, spec by spec. */
export async function buildRpms(specs: readonly RpmSpec[], outDir: string, options: BuildOptions = {}): Promise<string[]> {
  const out = resolve(outDir);
  await mkdir(out, { recursive: true });
  const results: string[][] = new Array(specs.length);
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (next < specs.length && !failed) {
      const index = next++;
      try {
        results[index] = await buildOne(specs[index], out);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  const workers = Math.max(1, Math.min(options.concurrency ?? availableParallelism(), specs.length));
  // Let running builds finish (and remove their temporary trees) before reporting a failure.
  const settled = await Promise.allSettled(Array.from({ length: workers }, worker));
  const failure = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failure) throw failure.reason;
  return results.flat();
}

export interface ManyOptions extends BuildOptions {
  /** Package name prefix (default 'bench'): packages are <prefix>-<index>, zero-padded to 5+ digits, from 0. */
  prefix?: string;
  version?: string;
  release?: string;
  arch?: string;
  /** Subpackages per spec (default 500): rpmbuild's cost per package falls with bigger specs. */
  perSpec?: number;
  /** Files per package besides the main one (default 0). */
  extraFiles?: number;
  autoReqProv?: boolean;
  sourceDateEpoch?: number;
}

/**
 * Builds `count` small, distinct packages <prefix>-<00000..>, each with a /usr/bin script, a data
 * file, a dependency and a changelog entry; several specs of many subpackages run in parallel.
 */
export async function buildManyRpms(count: number, outDir: string, options: ManyOptions = {}): Promise<string[]> {
  const prefix = options.prefix ?? 'bench';
  const perSpec = Math.max(1, options.perSpec ?? 500);
  const width = Math.max(5, String(Math.max(0, count - 1)).length);
  const specs: RpmSpec[] = [];
  for (let first = 0; first < count; first += perSpec) {
    const subs: SubpackageSpec[] = [];
    for (let i = first; i < Math.min(count, first + perSpec); i++) {
      const name = prefix + '-' + String(i).padStart(width, '0');
      const files: SpecFile[] = [{ path: '/usr/bin/' + name, mode: '0755', content: '#!/bin/sh\necho ' + name + '\n' }, { path: '/usr/share/' + prefix + '/' + name + '.txt' }];
      for (let f = 0; f < (options.extraFiles ?? 0); f++) files.push({ path: '/usr/share/' + prefix + '/' + name + '/' + f + '.dat' });
      subs.push({ name, summary: 'Benchmark package ' + name, files, provides: [name + '-feature = ' + (options.version ?? '1.0')], requires: ['/bin/sh'] });
    }
    specs.push({
      name: prefix + '-spec' + String(first / perSpec).padStart(4, '0'),
      version: options.version,
      release: options.release,
      arch: options.arch,
      mainPackage: false,
      subpackages: subs,
      autoReqProv: options.autoReqProv ?? false,
      sourceDateEpoch: options.sourceDateEpoch,
      changelog: [{ time: 1700000000, author: 'Bench Mark <bench@example.com> - 1.0-1', text: '- Generated for benchmarks' }],
    });
  }
  return buildRpms(specs, outDir, options);
}

/** The spec file text for a spec (exported for tests of the helper itself). */
export function renderSpec(spec: RpmSpec): string {
  const lines: string[] = [];
  const version = spec.version ?? '1.0';
  lines.push('Name: ' + spec.name, 'Version: ' + version, 'Release: ' + (spec.release ?? '1'));
  if (spec.epoch !== undefined) lines.push('Epoch: ' + spec.epoch);
  lines.push('Summary: ' + oneLine(spec.summary ?? 'Test package ' + spec.name), 'License: ' + (spec.license ?? 'MIT'));
  if (spec.url) lines.push('URL: ' + spec.url);
  if (spec.vendor) lines.push('Vendor: ' + oneLine(spec.vendor));
  if (spec.packager) lines.push('Packager: ' + oneLine(spec.packager));
  if (spec.group) lines.push('Group: ' + oneLine(spec.group));
  if (spec.arch === 'noarch') lines.push('BuildArch: noarch');
  if (spec.autoReqProv === false) lines.push('AutoReqProv: no');
  pushDependencies(lines, spec);
  lines.push('', '%description', spec.description ?? 'Test package ' + spec.name + '.', '');

  const subs = expandSubpackages(spec);
  for (const sub of subs) {
    lines.push('%package -n ' + sub.name, 'Summary: ' + oneLine(sub.summary ?? 'Subpackage ' + sub.name));
    pushDependencies(lines, sub);
    lines.push('', '%description -n ' + sub.name, sub.description ?? 'Subpackage ' + sub.name + '.', '');
  }

  lines.push('%install', 'mkdir -p %{buildroot}', 'cp -a %{_sourcedir}/root/. %{buildroot}/', '');
  for (const [phase, body] of Object.entries(spec.scripts ?? {})) lines.push('%' + phase, body, '');
  if (spec.mainPackage !== false) lines.push('%files', ...(spec.files ?? []).map(fileLine), '');
  for (const sub of subs) lines.push('%files -n ' + sub.name, ...(sub.files ?? []).map(fileLine), '');

  if (spec.changelog && spec.changelog.length > 0) {
    lines.push('%changelog');
    const entries = [...spec.changelog].sort((a, b) => b.time - a.time);
    for (const entry of entries) lines.push('* ' + changelogDate(entry.time) + ' ' + oneLine(entry.author), entry.text, '');
  }
  return lines.join('\n') + '\n';
}

function expandSubpackages(spec: RpmSpec): SubpackageSpec[] {
  if (Array.isArray(spec.subpackages)) return spec.subpackages;
  const count = spec.subpackages ?? 0;
  const width = String(count).length;
  return Array.from({ length: count }, (_, i) => {
    const name = spec.name + '-sub' + String(i + 1).padStart(width, '0');
    return { name, files: [{ path: '/usr/share/' + spec.name + '/sub' + String(i + 1).padStart(width, '0') + '.txt' }], provides: [name + '-feature'] };
  });
}

function pushDependencies(lines: string[], deps: SpecDependencies): void {
  const tags: [keyof SpecDependencies, string][] = [
    ['requires', 'Requires'],
    ['requiresPre', 'Requires(pre)'],
    ['requiresPost', 'Requires(post)'],
    ['provides', 'Provides'],
    ['conflicts', 'Conflicts'],
    ['obsoletes', 'Obsoletes'],
    ['recommends', 'Recommends'],
    ['suggests', 'Suggests'],
    ['supplements', 'Supplements'],
    ['enhances', 'Enhances'],
  ];
  for (const [key, tag] of tags) for (const dep of deps[key] ?? []) lines.push(tag + ': ' + dep);
}

function fileLine(file: SpecFile): string {
  const path = '"' + file.path + '"';
  const attr = file.mode ? '%attr(' + file.mode + ',root,root) ' : '';
  switch (file.kind ?? 'file') {
    case 'config':
      return attr + '%config(noreplace) ' + path;
    case 'doc':
      return attr + '%doc ' + path;
    case 'dir':
      return attr + '%dir ' + path;
    case 'ghost':
      return attr + '%ghost ' + path;
    default:
      return attr + path;
  }
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

// rpm 4.18 accepts "Wed Jan 01 10:11:12 UTC 2020" and stores that exact second.
function changelogDate(seconds: number): string {
  const d = new Date(seconds * 1000);
  const two = (n: number): string => String(n).padStart(2, '0');
  return (
    DAYS[d.getUTCDay()] +
    ' ' +
    MONTHS[d.getUTCMonth()] +
    ' ' +
    two(d.getUTCDate()) +
    ' ' +
    two(d.getUTCHours()) +
    ':' +
    two(d.getUTCMinutes()) +
    ':' +
    two(d.getUTCSeconds()) +
    ' UTC ' +
    d.getUTCFullYear()
  );
}

function oneLine(value: string): string {
  return value.replace(/[\r\n]+/g, ' ');
}

/**
 * Builds the source package of a spec (`rpmbuild -bs`: lead type 1, payload = the spec file);
 * resolves to <outDir>/<name>-<version>-<release>.src.rpm.
 */
export async function buildSrpm(spec: RpmSpec, outDir: string): Promise<string> {
  const out = resolve(outDir);
  await mkdir(out, { recursive: true });
  const top = await mkdtemp(join(tmpdir(), 'repod-rpmbuild-'));
  try {
    const specPath = join(top, spec.name + '.spec');
    await writeFile(specPath, renderSpec(spec));
    const args = ['-bs', '--nodeps', '--quiet', '--define', '_topdir ' + top, '--define', '_srcrpmdir ' + out, specPath];
    await run('rpmbuild', args, { ...process.env, LC_ALL: 'C' } as NodeJS.ProcessEnv);
    return join(out, spec.name + '-' + (spec.version ?? '1.0') + '-' + (spec.release ?? '1') + '.src.rpm');
  } finally {
    await rm(top, { recursive: true, force: true });
  }
}

async function buildOne(spec: RpmSpec, outDir: string): Promise<string[]> {
  const top = await mkdtemp(join(tmpdir(), 'repod-rpmbuild-'));
  try {
    const root = join(top, 'SOURCES', 'root');
    await mkdir(root, { recursive: true });
    const all = [...(spec.mainPackage === false ? [] : (spec.files ?? [])), ...expandSubpackages(spec).flatMap((s) => s.files ?? [])];
    for (const file of all) await materialize(root, file);
    const specPath = join(top, spec.name + '.spec');
    await writeFile(specPath, renderSpec(spec));
    const args = [
      '-bb',
      '--nodeps',
      '--quiet',
      '--define',
      '_topdir ' + top,
      '--define',
      '_rpmdir ' + outDir,
      '--define',
      '_build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm',
      '--define',
      'debug_package %{nil}',
      '--define',
      '_build_id_links none',
    ];
    if (spec.sourceDateEpoch !== undefined) {
      args.push('--define', 'use_source_date_epoch_as_buildtime 1', '--define', 'clamp_mtime_to_source_date_epoch 1');
    }
    if (spec.arch && spec.arch !== 'noarch') args.push('--target', spec.arch);
    args.push(specPath);
    const env = { ...process.env, LC_ALL: 'C' } as NodeJS.ProcessEnv;
    if (spec.sourceDateEpoch !== undefined) env.SOURCE_DATE_EPOCH = String(spec.sourceDateEpoch);
    await run('rpmbuild', args, env);
    // --quiet hides the "Wrote:" lines, and _build_name_fmt makes the names predictable anyway.
    const arch = spec.arch ?? 'x86_64';
    const evr = (spec.version ?? '1.0') + '-' + (spec.release ?? '1') + '.' + arch + '.rpm';
    const names = [...(spec.mainPackage === false ? [] : [spec.name]), ...subpackageNames(spec)];
    return names.map((name) => join(outDir, name + '-' + evr));
  } finally {
    await rm(top, { recursive: true, force: true });
  }
}

async function materialize(root: string, file: SpecFile): Promise<void> {
  const kind = file.kind ?? 'file';
  if (kind === 'ghost') return;
  const target = join(root, file.path);
  if (kind === 'dir') {
    await mkdir(target, { recursive: true });
    return;
  }
  await mkdir(dirname(target), { recursive: true });
  if (kind === 'symlink') {
    await symlink(file.target ?? '/dev/null', target);
    return;
  }
  await writeFile(target, file.content ?? 'content of ' + file.path + '\n');
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0 && !/^error:/m.test(output)) resolvePromise(output);
      else reject(new Error(command + ' ' + args.join(' ') + ' failed (' + code + '):\n' + output.slice(-4000)));
    });
  });
}

/**
 * An RPM of about `mib` MiB whose payload is one file of zeros: a sparse file costs no disk to
 * create and an uncompressed payload keeps rpmbuild fast, so tests of large packages stay quick.
 */
export async function buildLargeRpm(dir: string, name: string, mib: number): Promise<string> {
  const top = join(dir, `top-${name}`);
  await mkdir(join(top, 'SPECS'), { recursive: true });
  await writeFile(
    join(top, 'SPECS/big.spec'),
    `Name: ${name}\nVersion: 1.0\nRelease: 1\nSummary: big\nLicense: MIT\nBuildArch: noarch\n%description\nbig\n%install\nmkdir -p %{buildroot}/usr/share/big\ntruncate -s ${mib}M %{buildroot}/usr/share/big/blob\n%files\n/usr/share/big/blob\n`,
  );
  await run(
    'rpmbuild',
    [
      '-bb',
      '--define',
      `_topdir ${top}`,
      '--define',
      `_rpmdir ${dir}`,
      '--define',
      '_binary_payload w.ufdio',
      '--define',
      '_build_name_fmt %%{NAME}.rpm',
      '--define',
      'debug_package %{nil}',
      join(top, 'SPECS/big.spec'),
    ],
    process.env,
  );
  return join(dir, `${name}.rpm`);
}
