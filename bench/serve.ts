/**
 * Serving throughput (`npm run bench -- --only serve`): requests per second of repod and of nginx
 * serving the same bytes from disk, measured with wrk on the same machine in one run. repod runs
 * as `npm start` runs it (the dist/server.mjs bundle under plain node, built when stale) on the
 * file store with REPOD_WORKERS=1 and =2 (and, with --serve-baseline DIR, an older checkout of
 * repod at the same worker counts, for a before/after figure); nginx gets a minimal config in a
 * temp dir on 127.0.0.1 and the files repod served, at the same paths. With `profileDir` (the
 * bench's --profile) every repod process writes a .cpuprofile there. Measured, per server:
 *   1. a warm GET of repodata/repomd.xml (the entry point: revalidated, rendered once per revision)
 *   2. a GET of the checksum-named primary.xml.gz
 *   3. a GET of a small package (about 7 KB)
 *   4. a GET of an 8 MiB package (streamed from the file store: larger than any cached file)
 *   5. a revalidation of repomd.xml (If-None-Match with the etag that server sent: a 304), as
 *      caches and clients that keep the file ask
 * The repository holds 9 packages (8 small, 1 of 8 MiB), built once and kept in .bench/serve-rpms/.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { REPO_ROOT } from '../test/helpers/paths.ts';
import { freePort } from '../test/helpers/ports.ts';
import { pseudoRandomBytes } from '../test/helpers/prng.ts';
import { buildRpms } from '../test/helpers/rpmbuild.ts';
import { run } from '../test/helpers/run.ts';
import { uploadFile } from '../test/helpers/server.ts';
import { ensureTools } from './lib/apt-tools.ts';
import { startNodeOptions } from './lib/bundle-server.ts';
import { table } from './lib/stats.ts';

export interface ServeBenchOptions {
  /** Where the package set is kept between runs (.bench/serve-rpms). */
  rpmsDir: string;
  seconds: number;
  connections: number;
  /** REPOD_WORKERS values to measure. */
  workers: number[];
  /** A checkout of an older repod to measure as a baseline (its own store), or null. */
  baseline: string | null;
  keep: boolean;
  /** Where the repod processes write .cpuprofile files (--profile), or null. */
  profileDir?: string | null;
  log: (message: string) => void;
}

const ADMIN = 'bench-serve-admin-token-0123456789';
const DIST = 'rocky9';
const BASE = `/repos/${DIST}/x86_64`;
const BIG_MIB = 8;
/** The pause between the last server's start and the first figure. */
const SETTLE_MS = 5000;

interface Target {
  label: string;
  path: string;
  bytes: number;
  sha256: string;
  /** Asked with If-None-Match naming the etag each server sends for it (each has its own): answered 304. */
  revalidate?: boolean;
}

interface Measured {
  requestsPerSecond: number;
  mibPerSecond: number;
  /** Responses that were not 2xx/3xx, as wrk counts them: any makes the figure suspect. */
  errors: number;
}

/**
 * The executables the section needs, or an error saying how to get them. wrk (a client, no
 * daemon) is installed with apt-get when missing and running as root; nginx comes with the test
 * command (scripts/test.sh installs it without starting a system nginx on port 80).
 */
async function tools(log: (message: string) => void): Promise<{ wrk: string; nginx: string }> {
  const find = (name: string) => ['/usr/bin', '/usr/sbin', '/usr/local/bin', '/usr/local/sbin'].map((d) => join(d, name)).find((p) => existsSync(p));
  if (!find('wrk')) await ensureTools(['wrk'], log);
  const wrk = find('wrk');
  const nginx = find('nginx');
  if (!wrk || !nginx) {
    throw new Error(
      `the serve benchmark needs ${[!wrk && 'wrk', !nginx && 'nginx'].filter(Boolean).join(' and ')}: ` +
        'install them with `apt-get install wrk nginx` (Debian/Ubuntu; scripts/test.sh installs nginx) or `dnf install wrk nginx` (Fedora/EPEL), then run it again',
    );
  }
  return { wrk, nginx };
}

/** 8 small packages and one of BIG_MIB MiB (sparse and stored uncompressed, so rpmbuild is quick). */
async function packageSet(dir: string, log: (m: string) => void): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const existing = (await readdir(dir)).filter((f) => f.endsWith('.rpm')).map((f) => join(dir, f));
  if (existing.length === 9) return existing.sort();
  log(`serve: building the 9 packages into ${dir}`);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  // Text that compresses to about 6 KB: the size of a typical small noarch package.
  const filler = (seed: number) => Buffer.from(pseudoRandomBytes(4500, seed)).toString('base64');
  const small = await buildRpms(
    Array.from({ length: 8 }, (_, i) => ({
      name: `serve-small-${i}`,
      version: '1.0',
      arch: 'noarch',
      autoReqProv: false,
      sourceDateEpoch: 1700000000,
      files: [{ path: `/usr/share/serve-small/${i}.txt`, content: filler(i + 1) }],
    })),
    dir,
  );
  const top = await mkdtemp(join(tmpdir(), 'repod-serve-big-'));
  await mkdir(join(top, 'SPECS'), { recursive: true });
  await writeFile(
    join(top, 'SPECS/big.spec'),
    `Name: serve-big\nVersion: 1.0\nRelease: 1\nSummary: big\nLicense: MIT\nBuildArch: noarch\n%description\nbig\n%install\nmkdir -p %{buildroot}/usr/share/big\ntruncate -s ${BIG_MIB}M %{buildroot}/usr/share/big/blob\n%files\n/usr/share/big/blob\n`,
  );
  const defines = ['_topdir', top, '_rpmdir', dir, '_binary_payload', 'w.ufdio', '_build_name_fmt', '%%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm', 'debug_package', '%{nil}'];
  const args = ['-bb'];
  for (let i = 0; i < defines.length; i += 2) args.push('--define', `${defines[i]} ${defines[i + 1]}`);
  await run('rpmbuild', [...args, join(top, 'SPECS/big.spec')], { timeoutMs: 120_000 });
  await rm(top, { recursive: true, force: true });
  return [...small, join(dir, 'serve-big-1.0-1.noarch.rpm')].sort();
}

/** Waits until `url` answers; a server that never does is stopped, not left behind. */
async function waitFor(url: string, child: ChildProcess, logs: string[]): Promise<void> {
  try {
    await poll(url, child, logs);
  } catch (error) {
    await stopper(child)();
    throw error;
  }
}

async function poll(url: string, child: ChildProcess, logs: string[]): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${url}: the server exited with ${child.exitCode}:\n${logs.join('').slice(-3000)}`);
    try {
      const response = await fetch(url);
      await response.arrayBuffer();
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not answer within 30 s:\n${logs.join('').slice(-3000)}`);
}

interface Running {
  url: string;
  stop(): Promise<void>;
}

function spawnServer(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv }): { child: ChildProcess; logs: string[] } {
  const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: string[] = [];
  child.stdout!.on('data', (d: Buffer) => logs.push(d.toString()));
  child.stderr!.on('data', (d: Buffer) => logs.push(d.toString()));
  return { child, logs };
}

function stopper(child: ChildProcess): () => Promise<void> {
  return () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
}

/** Builds (when stale) the bundle `npm start` runs in `checkout`, once per checkout and run. */
const built = new Map<string, Promise<void>>();
function bundleOf(checkout: string): Promise<void> {
  let done = built.get(checkout);
  if (!done) {
    done = run(process.execPath, [join(checkout, 'scripts/build-server.mjs')], { cwd: checkout, timeoutMs: 120_000 }).then(() => undefined);
    built.set(checkout, done);
  }
  return done;
}

/**
 * repod from `checkout` (this repository or a baseline) on `storage`, with `workers` processes:
 * what `npm start` runs (dist/server.mjs under plain node), not the sources under tsx.
 */
async function startRepod(checkout: string, storage: string, workers: number, profileDir: string | null = null): Promise<Running> {
  const port = await freePort();
  await bundleOf(checkout);
  // Cluster workers inherit the primary's execArgv, so each process writes its own profile (named
  // by Node with its pid: a --cpu-prof-name would be one name for all of them).
  const profile = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${join(profileDir, `serve-w${workers}`)}`] : [];
  const { child, logs } = spawnServer(process.execPath, [...(await startNodeOptions(checkout)), ...profile, 'dist/server.mjs'], {
    cwd: checkout,
    env: { ...process.env, REPOD_PORT: String(port), REPOD_HOST: '127.0.0.1', REPOD_ADMIN_TOKEN: ADMIN, REPOD_STORAGE: storage, REPOD_WORKERS: String(workers) },
  });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(`${url}/repos/gpg.key`, child, logs);
  return { url, stop: stopper(child) };
}

async function startNginx(nginx: string, root: string, dir: string): Promise<Running> {
  const port = await freePort();
  const temp = (name: string) => `${name}_temp_path ${join(dir, name)};`;
  await writeFile(
    join(dir, 'nginx.conf'),
    [
      'daemon off;',
      'worker_processes auto;',
      `pid ${join(dir, 'nginx.pid')};`,
      `error_log ${join(dir, 'error.log')} warn;`,
      'events { worker_connections 4096; }',
      'http {',
      '  access_log off;',
      '  sendfile on;',
      '  tcp_nopush on;',
      '  keepalive_requests 1000000;',
      `  ${['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map(temp).join(' ')}`,
      '  types { application/xml xml; application/gzip gz; application/x-rpm rpm; application/pgp-signature asc; }',
      `  server { listen 127.0.0.1:${port}; root ${root}; etag on; }`,
      '}',
      '',
    ].join('\n'),
  );
  const { child, logs } = spawnServer(nginx, ['-p', dir, '-c', join(dir, 'nginx.conf')], {});
  const url = `http://127.0.0.1:${port}`;
  await waitFor(`${url}${BASE}/repodata/repomd.xml`, child, logs);
  return { url, stop: stopper(child) };
}

async function wrk(binary: string, url: string, seconds: number, connections: number, headers: string[] = []): Promise<Measured> {
  const out = await run(binary, ['-t2', `-c${connections}`, `-d${seconds}s`, ...headers.flatMap((h) => ['-H', h]), url], { timeoutMs: (seconds + 30) * 1000 });
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
  const transfer = /Transfer\/sec:\s+([\d.]+)([KMG]?B)/.exec(out);
  const scale: Record<string, number> = { B: 1 / 1048576, KB: 1 / 1024, MB: 1, GB: 1024 };
  const errors = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0) + Number(/Socket errors:.*?timeout (\d+)/.exec(out)?.[1] ?? 0);
  return { requestsPerSecond: rps, mibPerSecond: transfer ? Number(transfer[1]) * scale[transfer[2]] : NaN, errors };
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

async function get(url: string): Promise<Uint8Array> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`GET ${url}: ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

/** Publishes the packages through a server of `checkout` on a fresh file store; returns the store. */
async function prepareStore(checkout: string, packages: string[], log: (m: string) => void): Promise<string> {
  const storage = `file:${await mkdtemp(join(tmpdir(), 'repod-serve-store-'))}`;
  const server = await startRepod(checkout, storage, 1);
  try {
    for (const p of packages) {
      const { status, body } = await uploadFile({ url: server.url, adminToken: ADMIN }, DIST, p);
      if (status !== 201 && status !== 200) throw new Error(`upload of ${basename(p)}: ${status} ${JSON.stringify(body)}`);
    }
    await get(`${server.url}${BASE}/repodata/repomd.xml`);
  } finally {
    await server.stop();
  }
  log(`serve: published ${packages.length} packages into ${storage}${checkout === REPO_ROOT ? '' : ` (with ${checkout})`}`);
  return storage;
}

/** The measured paths on a running repod, by label (checksum-named paths differ between stores). */
async function resolvePaths(url: string, packages: string[]): Promise<Array<[string, string]>> {
  const repomd = await get(`${url}${BASE}/repodata/repomd.xml`);
  const primaryHref = /href="(repodata\/[0-9a-f]{64}-primary\.xml\.gz)"/.exec(new TextDecoder().decode(repomd))?.[1];
  if (!primaryHref) throw new Error('repomd.xml lists no checksum-named primary.xml.gz');
  const small = basename(packages.find((p) => basename(p).startsWith('serve-small-'))!);
  const big = basename(packages.find((p) => basename(p).startsWith('serve-big-'))!);
  return [
    ['repomd.xml', `${BASE}/repodata/repomd.xml`],
    ['primary.xml.gz (checksum-named)', `${BASE}/${primaryHref}`],
    ['small package', `${BASE}/Packages/${small}`],
    [`${BIG_MIB} MiB package (streamed)`, `${BASE}/Packages/${big}`],
  ];
}

/** The measured files of a running repod, written under `root` at the same paths for nginx. */
async function targets(url: string, packages: string[], root: string): Promise<Target[]> {
  const out: Target[] = [];
  for (const [label, path] of await resolvePaths(url, packages)) {
    const bytes = await get(`${url}${path}`);
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), bytes);
    out.push({ label, path, bytes: bytes.length, sha256: sha256(bytes) });
  }
  return [...out, { ...out[0]!, label: REVALIDATED, revalidate: true }];
}

const REVALIDATED = 'repomd.xml revalidated (304)';

/** The If-None-Match header that revalidates `url` on its server (its own etag), checked to answer 304. */
async function revalidation(url: string): Promise<string[]> {
  const etag = (await fetch(url, { method: 'HEAD' })).headers.get('etag');
  if (!etag) throw new Error(`HEAD ${url}: no etag`);
  const header = `If-None-Match: ${etag}`;
  const status = (await fetch(url, { headers: { 'if-none-match': etag } })).status;
  if (status !== 304) throw new Error(`GET ${url} with ${header}: ${status}, not 304`);
  return [header];
}

const size = (n: number) => (n >= 1048576 ? `${(n / 1048576).toFixed(0)} MiB` : `${(n / 1024).toFixed(1)} KB`);
const ratio = (a: number, b: number) => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${(a / b).toFixed(2)}x` : '-');
const rate = (m: Measured | undefined, bytes: number) =>
  !m ? '-' : `${bytes >= 1048576 ? `${m.mibPerSecond.toFixed(0)} MiB/s ` : ''}${Math.round(m.requestsPerSecond).toLocaleString('en-US')}${m.errors ? ` (${m.errors} errors)` : ''}`;

export async function runServeBench(options: ServeBenchOptions): Promise<{ lines: string[]; json: unknown }> {
  const { log } = options;
  const { wrk: wrkBinary, nginx } = await tools(log);
  const packages = await packageSet(options.rpmsDir, log);
  const work = await mkdtemp(join(tmpdir(), 'repod-serve-bench-'));
  // nginx started as root serves as `nobody`, which must be able to read the files.
  await chmod(work, 0o755);
  const root = join(work, 'root');
  const storage = await prepareStore(REPO_ROOT, packages, log);
  const baselineStorage = options.baseline ? await prepareStore(options.baseline, packages, log) : null;

  // This checkout's repod first: its files are what nginx serves and what every column must match.
  const columns: Array<{ name: string; start: () => Promise<Running>; baseline?: boolean }> = [];
  const workersName = (w: number) => `${w} worker${w === 1 ? '' : 's'}`;
  for (const w of options.workers) columns.push({ name: `repod ${workersName(w)}`, start: () => startRepod(REPO_ROOT, storage, w, options.profileDir ?? null) });
  if (options.baseline) {
    for (const w of options.workers) columns.push({ name: `baseline ${workersName(w)}`, start: () => startRepod(options.baseline!, baselineStorage!, w), baseline: true });
  }
  columns.push({ name: 'nginx', start: () => startNginx(nginx, root, work) });

  // Every server runs for the whole measurement and the figures of one request are taken one
  // right after another, so load on the machine that changes over minutes (other work on it)
  // skews the ratios as little as it can. nginx starts last: it serves the files the first repod
  // column answered.
  let list: Target[] = [];
  const results = new Map<string, Map<string, Measured>>();
  const running: Array<{ name: string; server: Running; paths: Map<string, string> }> = [];
  try {
    for (const column of columns) {
      const server = await column.start();
      running.push({ name: column.name, server, paths: new Map() });
      if (list.length === 0) list = await targets(server.url, packages, root);
      // A baseline has its own store: the same packages, metadata with other checksums.
      const paths = new Map(column.baseline ? await resolvePaths(server.url, packages) : list.map((t) => [t.label, t.path]));
      paths.set(REVALIDATED, paths.get(list[0]!.label)!);
      running[running.length - 1]!.paths = paths;
      for (const t of list) {
        const bytes = await get(`${server.url}${paths.get(t.label)}`);
        if (!column.baseline && sha256(bytes) !== t.sha256) throw new Error(`${column.name} serves other bytes for ${t.path}`);
      }
      results.set(column.name, new Map());
    }
    // A server answers before it is done starting (a cluster's other worker still loads and
    // compiles for a few seconds): that work would weigh on the first figures taken (always
    // repomd.xml's), so it ends before any is.
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
    for (const t of list) {
      for (const { name, server, paths } of running) {
        const url = `${server.url}${paths.get(t.label)}`;
        const headers = t.revalidate ? await revalidation(url) : [];
        await wrk(wrkBinary, url, 1, options.connections, headers); // warm-up: every worker, every cache
        const m = await wrk(wrkBinary, url, options.seconds, options.connections, headers);
        log(`serve: ${name} ${t.label}: ${m.requestsPerSecond.toFixed(0)} req/s`);
        results.get(name)!.set(t.label, m);
      }
    }
  } finally {
    await Promise.all(running.map((r) => r.server.stop()));
  }
  if (!options.keep) {
    await rm(work, { recursive: true, force: true });
    for (const s of [storage, baselineStorage]) if (s) await rm(s.slice('file:'.length), { recursive: true, force: true });
  }

  const repodColumns = columns.map((c) => c.name).filter((n) => n !== 'nginx');
  const nginxRow = results.get('nginx')!;
  const lines = [
    '',
    `repod serving benchmark — ${new Date().toISOString()}`,
    `method: wrk -t2 -c${options.connections}, ${options.seconds} s per figure after a 1 s warm-up, client and servers on the same machine; ` +
      `repod on the file store; nginx (worker_processes auto, sendfile) serving the same bytes from disk; ratio = repod / nginx; big files: MiB/s and req/s`,
    '',
    table([
      ['requests/s', ...repodColumns, 'nginx', ...repodColumns.map((n) => `${n} / nginx`)],
      ...list.map((t) => [
        `${t.label} (${size(t.bytes)})`,
        ...repodColumns.map((n) => rate(results.get(n)?.get(t.label), t.bytes)),
        rate(nginxRow.get(t.label), t.bytes),
        ...repodColumns.map((n) => ratio(results.get(n)?.get(t.label)?.requestsPerSecond ?? NaN, nginxRow.get(t.label)?.requestsPerSecond ?? NaN)),
      ]),
    ]),
  ];
  const json = {
    date: new Date().toISOString(),
    settings: { seconds: options.seconds, connections: options.connections, workers: options.workers, baseline: options.baseline },
    targets: list,
    results: Object.fromEntries([...results].map(([name, row]) => [name, Object.fromEntries(row)])),
  };
  return { lines, json };
}
