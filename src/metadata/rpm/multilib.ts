/**
 * The package-level rules behind multilib composes and the debuginfo split, after pungi's
 * multilib methods and Koji's debuginfo test. Pure: each decision reads only what one package's
 * own metadata says (its name, provides and file list), so a render decides per entry from the
 * fragments the entry already carries, never by reading other packages.
 */

/** Debuginfo and debugsource packages belong to the arch's `debug` repository, not the main one. */
export function isDebugPackageName(name: string): boolean {
  return name.endsWith('-debuginfo') || name.endsWith('-debugsource') || name.includes('-debuginfo-');
}

/** A distribution's choice (config/multilib.ts MultilibSetting has this shape). */
export interface MultilibChoice {
  policy: 'none' | 'runtime' | 'devel' | 'all';
  blacklist?: readonly string[];
  whitelist?: readonly string[];
}

/** What the multilib methods look at. `files` are the package's paths (directories left out). */
export interface MultilibFacts {
  name: string;
  provides: string[];
  files: string[];
}

/** Directories whose `*.so.*` files are shared libraries a 32-bit program loads. */
const LIBRARY_DIRS = new Set(['/lib', '/lib64', '/usr/lib', '/usr/lib64']);

/**
 * Directories of runtime-loaded modules (pungi keeps a list like this: gconv, PAM, SASL, GTK and
 * Pango modules, DRI drivers). A package shipping into one is runtime even without a `.so.N` name.
 */
const MODULE_DIRS = [
  /^\/usr\/lib(64)?\/gconv$/,
  /^\/(usr\/)?lib(64)?\/security$/,
  /^\/usr\/lib(64)?\/sasl2$/,
  /^\/usr\/lib(64)?\/gtk-[0-9.]+\/[^/]+\/[^/]+$/,
  /^\/usr\/lib(64)?\/pango\/[^/]+\/modules$/,
  /^\/usr\/lib(64)?\/dri$/,
];

/** Names that never become multilib: kernels and their modules are per machine, not per ABI. */
const NEVER = (name: string) => name === 'kernel' || name.startsWith('kernel-');

const split = (path: string) => {
  const at = path.lastIndexOf('/');
  return { dir: path.slice(0, at) || '/', base: path.slice(at + 1) };
};

/** pungi's `runtime` method: the package ships shared libraries or runtime-loaded modules. */
export function isRuntimePackage(facts: MultilibFacts): boolean {
  if (NEVER(facts.name) || isDebugPackageName(facts.name)) return false;
  for (const path of facts.files) {
    const { dir, base } = split(path);
    if (LIBRARY_DIRS.has(dir) && /\.so\.[^/]*$/.test(base)) return true;
    if (MODULE_DIRS.some((re) => re.test(dir)) && base.endsWith('.so')) return true;
  }
  return false;
}

/**
 * pungi's `devel` method: runtime packages plus development packages, which are named or provide
 * `*-devel` / `*-static`, or ship the unversioned `lib*.so` link or a pkg-config file a 32-bit
 * build links against.
 */
export function isDevelPackage(facts: MultilibFacts): boolean {
  if (NEVER(facts.name) || isDebugPackageName(facts.name)) return false;
  if (isRuntimePackage(facts)) return true;
  const develName = (n: string) => n.endsWith('-devel') || n.endsWith('-static');
  if (develName(facts.name) || facts.provides.some(develName)) return true;
  for (const path of facts.files) {
    const { dir, base } = split(path);
    if (LIBRARY_DIRS.has(dir) && /^lib.*\.so$/.test(base)) return true;
    if (/^\/usr\/(lib|lib64|share)\/pkgconfig$/.test(dir) && base.endsWith('.pc')) return true;
  }
  return false;
}

/** Whether the compatibility-arch package these facts describe is added to the base arch repository. */
export function multilibChooses(setting: MultilibChoice, facts: MultilibFacts): boolean {
  if (setting.policy === 'none') return false;
  if (setting.blacklist?.includes(facts.name)) return false;
  if (setting.whitelist?.includes(facts.name)) return true;
  switch (setting.policy) {
    case 'all':
      return !isDebugPackageName(facts.name);
    case 'devel':
      return isDevelPackage(facts);
    case 'runtime':
      return isRuntimePackage(facts);
  }
}

/** Whether a policy can only be decided from a package's provides and files, not its name alone. */
export function multilibNeedsFacts(setting: MultilibChoice, name: string): boolean {
  if (setting.policy === 'none' || setting.policy === 'all') return false;
  return !setting.blacklist?.includes(name) && !setting.whitelist?.includes(name);
}

const xmlText = (s: string) => s.replace(/&(lt|gt|quot|apos|amp);/g, (_m, e: string) => ({ lt: '<', gt: '>', quot: '"', apos: "'", amp: '&' })[e]!);

/**
 * The facts from one package's own primary and filelists `<package>` elements, as repod renders
 * them (metadata/rpm/primary.ts, filelists.ts): the name, the names in `<rpm:provides>`, and every
 * `<file>` that is not a directory.
 */
export function multilibFactsFromXml(primary: string, filelists: string): MultilibFacts {
  const name = xmlText(/<name>([^<]*)<\/name>/.exec(primary)?.[1] ?? '');
  const provides: string[] = [];
  const block = /<rpm:provides>([\s\S]*?)<\/rpm:provides>/.exec(primary)?.[1] ?? '';
  for (const m of block.matchAll(/<rpm:entry name="([^"]*)"/g)) provides.push(xmlText(m[1]));
  const files: string[] = [];
  for (const m of filelists.matchAll(/<file(?: type="([a-z]+)")?>([^<]*)<\/file>/g)) if (m[1] !== 'dir') files.push(xmlText(m[2]));
  return { name, provides, files };
}
