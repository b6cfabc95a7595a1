/**
 * Importing an upstream index at Debian's scale (bench/import.ts; .bench/results-import.json):
 * repod's index sync and catalog search beside apt-get's own update and apt-cache's search, on the
 * same Packages file in the same run.
 *
 * The file is apt's own copy of Debian bookworm main amd64 (--bookworm, default
 * /var/lib/apt/lists/..._bookworm_main_binary-amd64_Packages.lz4: 63,440 stanzas, about 50 MB),
 * decompressed with `lz4` and compressed again as Debian publishes it (Packages.xz with
 * `xz -T0 -1`, Packages.gz with `gzip -n`), cached under .bench/import/. A small static server on
 * 127.0.0.1 serves two APT trees of it with an unsigned Release: one that lists Packages.xz and
 * Packages.gz (what Debian publishes; both tools fetch the xz), one that lists Packages.gz only.
 *
 * For each tree:
 *   - repod: a fresh server run as `npm start` runs it (dist/server.mjs, built by
 *     scripts/build-server.mjs, under plain node; REPOD_BENCH_SERVER=tsx runs src/runtime/node.ts
 *     under tsx instead), its time to listen and idle RSS, on a file store with
 *     REPOD_OUTBOUND_ALLOWED_HOSTS=127.0.0.1; a source, and
 *     `POST /api/v1/import/sources/<id>/sync` with its event stream read to the end: wall time,
 *     entries, the server's peak RSS (VmHWM of the server process, whole life, and the highest
 *     VmRSS sampled during the sync), then a re-sync of the unchanged index; after the xz tree,
 *     `GET /api/v1/import/catalog?q=` over HTTP for `lib` (prefix), `ssl` (substring) and `bash`
 *     (exact): median of --import-search-runs each after one warm-up request; then, with the
 *     catalog in memory, the source is pointed at the gz tree and synced again: an index that
 *     changed, read while the old catalog is held (the memory target's real case in a server).
 *   - apt-get: a private APT_CONFIG (its own state and cache, no host configuration) with
 *     `deb [trusted=yes] http://127.0.0.1:PORT/<tree>/ bookworm main`; `apt-get update` from empty
 *     lists and cache each time (download, decompress, parse into pkgcache.bin), median of
 *     --import-apt-runs; then `apt-cache search --names-only` for the same queries (`^lib`, `ssl`,
 *     `^bash$`), median of --import-search-runs (a process per search, as its users run it).
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { access, link, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { availableParallelism, cpus, loadavg, platform, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { type StaticServer, serveDirectory } from '../test/helpers/upstream-apt.ts';
import { countStanzas } from './lib/apt-common.ts';
import { which } from './lib/apt-tools.ts';
import { benchServerRuntime, type ServerRuntime, startBenchServer } from './lib/bundle-server.ts';
import { ADMIN_TOKEN, machineInfo } from './lib/common.ts';
import { httpRequest, keepAliveAgent } from './lib/http.ts';
import { procStatus, runTimed } from './lib/proc.ts';
import { rssSampler } from './lib/rev-common.ts';
import { fmtMiB, fmtMs, fmtRatio, median, table } from './lib/stats.ts';

export interface ImportBenchConfig {
  workDir: string;
  /** Where the decompressed and recompressed trees are cached between runs. */
  cacheDir: string;
  /** apt's list of bookworm main (.lz4, .gz or plain). */
  bookworm: string;
  /** Requests (and apt-cache processes) per search query. */
  searchRuns: number;
  /** Timed apt-get update runs per tree. */
  aptRuns: number;
  keep: boolean;
  log: (message: string) => void;
}

const SUITE = 'bookworm';
const INDEX_DIR = 'main/binary-amd64';
/** repod's query (its catalog ranks exact, prefix, then substring) and apt-cache's regex for the same question. */
const QUERIES: Array<{ q: string; kind: string; aptRegex: string }> = [
  { q: 'lib', kind: 'prefix', aptRegex: '^lib' },
  { q: 'ssl', kind: 'substring', aptRegex: 'ssl' },
  { q: 'bash', kind: 'exact', aptRegex: '^bash$' },
];

interface Tree {
  /** Path prefix on the static server and directory under the cache: `xz` or `gz`. */
  name: string;
  /** What the Release lists. */
  files: string[];
}

const TREES: Tree[] = [
  { name: 'xz', files: ['Packages.xz', 'Packages.gz'] },
  { name: 'gz', files: ['Packages.gz'] },
];

interface IndexFiles {
  dir: string;
  stanzas: number;
  bytes: Record<string, number>;
  preparedNow: boolean;
  prepareMs: number;
}

interface RepodSync {
  tree: string;
  ms: number;
  /** Time to the first progress line with a count above 0. */
  firstProgressMs: number | null;
  entries: number;
  events: number;
  finalMessage: string;
  fetched: string[];
  /** How the server ran: `node dist/server.mjs` (what `npm start` runs) or `node --import tsx`. */
  server: ServerRuntime;
  /** From spawning the server to its "listening" line. */
  readyMs: number;
  /** RSS once listening, before any request. */
  idleRssKiB: number | null;
  startHwmKiB: number | null;
  peakRssKiB: number | null;
  sampledMaxRssKiB: number;
  resyncMs: number;
  resyncEntries: number;
  resyncMessage: string;
  /** After the searches: RSS with the catalog in memory, then a sync of an index that did change. */
  changed?: ChangedResync;
}

/**
 * The case the memory target is about in a running server: its catalog is in memory (searches
 * loaded it) when a sync reads an index that changed. The source is pointed at the other tree,
 * whose Release lists another file (Packages.gz instead of .xz), so nothing is carried over.
 */
interface ChangedResync {
  tree: string;
  rssBeforeKiB: number | null;
  sampledMaxRssKiB: number;
  ms: number;
  entries: number;
  /** RSS a second after the sync, with the new catalog loaded in its place. */
  rssAfterKiB: number | null;
}

interface SearchFigure {
  q: string;
  kind: string;
  firstMs: number;
  medianMs: number;
  maxMs: number;
  answers: number;
  top: string | null;
}

interface AptRun {
  tree: string;
  runsMs: number[];
  medianMs: number;
  maxRssKiB: number | null;
  packages: number;
  fetched: string[];
}

interface AptSearchFigure {
  regex: string;
  medianMs: number;
  answers: number;
}

/** Runs `sh -c script` with positional arguments, failing on a non-zero exit. */
function sh(script: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', script, 'sh', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${script} exited with ${code}: ${stderr.slice(-2000)}`))));
  });
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * Packages, Packages.gz and (with xz) Packages.xz from the list, and the two trees with their
 * Release files, all under cacheDir; rebuilt only when the list changed (size and mtime stamp).
 */
async function prepareIndex(config: ImportBenchConfig, withXz: boolean): Promise<IndexFiles> {
  const dir = config.cacheDir;
  const source = await stat(config.bookworm);
  const stamp = JSON.stringify({ file: config.bookworm, size: source.size, mtime: source.mtimeMs, withXz, version: 2 });
  const stampFile = join(dir, 'stamp.json');
  const started = performance.now();
  const cached = existsSync(stampFile) && (await readFile(stampFile, 'utf8')) === stamp;
  if (!cached) {
    config.log(`import: preparing Packages, .gz${withXz ? ', .xz' : ''} from ${config.bookworm}`);
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    const plain = join(dir, 'Packages');
    if (config.bookworm.endsWith('.lz4')) await sh('lz4 -dc "$1" > "$2"', [config.bookworm, plain]);
    else if (config.bookworm.endsWith('.gz')) await sh('gzip -dc "$1" > "$2"', [config.bookworm, plain]);
    else await sh('cp "$1" "$2"', [config.bookworm, plain]);
    await Promise.all([
      sh('gzip -nc "$1" > "$2"', [plain, join(dir, 'Packages.gz')]),
      withXz ? sh('xz -T0 -1 -c "$1" > "$2"', [plain, join(dir, 'Packages.xz')]) : Promise.resolve(),
    ]);
    const date = new Date(source.mtimeMs).toUTCString();
    for (const tree of TREES) {
      const files = tree.files.filter((f) => withXz || !f.endsWith('.xz'));
      const bin = join(dir, tree.name, 'dists', SUITE, INDEX_DIR);
      await mkdir(bin, { recursive: true });
      const lines: string[] = [];
      // The plain Packages is listed but not served, as Debian does: apt looks for the plain
      // name first and skips a target whose Release lacks it.
      for (const f of ['Packages', ...files]) {
        if (f !== 'Packages') await link(join(dir, f), join(bin, f));
        lines.push(` ${await sha256File(join(dir, f))} ${(await stat(join(dir, f))).size} ${INDEX_DIR}/${f}`);
      }
      // Unsigned: the source has no key, and apt-get takes it with [trusted=yes].
      await writeFile(
        join(dir, tree.name, 'dists', SUITE, 'Release'),
        `Origin: Debian\nLabel: Debian\nSuite: stable\nCodename: ${SUITE}\nDate: ${date}\nArchitectures: amd64\nComponents: main\nDescription: bench copy of Debian bookworm main\nSHA256:\n${lines.join('\n')}\n`,
      );
    }
    await writeFile(stampFile, stamp);
  }
  const bytes: Record<string, number> = {};
  for (const f of ['Packages', 'Packages.gz', 'Packages.xz']) if (existsSync(join(dir, f))) bytes[f] = (await stat(join(dir, f))).size;
  const stanzas = countStanzas(await readFile(join(dir, 'Packages'), 'utf8'));
  return { dir, stanzas, bytes, preparedNow: !cached, prepareMs: performance.now() - started };
}

/** POST .../sync and its event stream read to the end: the events and the time to the first counted progress line. */
async function runSync(url: string, id: number): Promise<{ ms: number; firstProgressMs: number | null; events: Array<{ status: string; count: number; message: string }> }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    let firstProgressMs: number | null = null;
    let text = '';
    const req = request(`${url}/api/v1/import/sources/${id}/sync`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } }, (res) => {
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
        if (firstProgressMs === null && /"count":[1-9]/.test(chunk)) firstProgressMs = performance.now() - started;
      });
      res.on('end', () => {
        const ms = performance.now() - started;
        if (res.statusCode !== 200) return reject(new Error(`sync answered ${res.statusCode}: ${text.slice(0, 500)}`));
        const events = text
          .split('\n')
          .filter((l) => l.startsWith('data: '))
          .map((l) => JSON.parse(l.slice('data: '.length)) as { status: string; count: number; message: string });
        resolve({ ms, firstProgressMs, events });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** A fresh repod server syncing one tree (and re-syncing it); with `search`, the catalog searches too. */
async function benchRepod(
  config: ImportBenchConfig,
  upstream: StaticServer,
  tree: string,
  searchRuns: number,
  changeTo?: string,
): Promise<{ sync: RepodSync; searches: SearchFigure[] }> {
  const storage = join(config.workDir, `import-${tree}`);
  await rm(storage, { recursive: true, force: true });
  const spawned = performance.now();
  const server = await startBenchServer({ REPOD_STORAGE: `file:${storage}`, REPOD_ADMIN_TOKEN: ADMIN_TOKEN, REPOD_OUTBOUND_ALLOWED_HOSTS: '127.0.0.1' });
  const readyMs = performance.now() - spawned;
  const pid = server.process.pid!;
  const idleRssKiB = (await procStatus(pid))?.VmRSS ?? null;
  const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
  try {
    const sourceBody = (at: string) => Buffer.from(JSON.stringify({ name: `bookworm-${tree}`, url: `${upstream.url}/${at}/`, kind: 'apt', suite: SUITE }));
    const body = sourceBody(tree);
    const created = await httpRequest(`${server.url}/api/v1/import/sources`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json', 'content-length': String(body.length) },
      body,
      keep: true,
    });
    if (created.status !== 201) throw new Error(`creating the source answered ${created.status}: ${created.body.toString()}`);
    const id = (JSON.parse(created.body.toString()) as { id: number }).id;

    const startHwmKiB = (await procStatus(pid))?.VmHWM ?? null;
    const before = upstream.requests.length;
    const sampler = rssSampler(pid, 50);
    const first = await runSync(server.url, id);
    const sampledMaxRssKiB = await sampler.stop();
    const peakRssKiB = (await procStatus(pid))?.VmHWM ?? null;
    const fetched = upstream.requests.slice(before);
    const done = first.events.at(-1);
    if (done?.status !== 'done') throw new Error(`the sync of the ${tree} tree ended with ${JSON.stringify(done)}`);

    const again = await runSync(server.url, id);
    const redone = again.events.at(-1);
    if (redone?.status !== 'done') throw new Error(`the re-sync of the ${tree} tree ended with ${JSON.stringify(redone)}`);

    const sync: RepodSync = {
      tree,
      ms: first.ms,
      firstProgressMs: first.firstProgressMs,
      entries: done.count,
      events: first.events.length,
      finalMessage: done.message,
      fetched,
      server: benchServerRuntime(),
      readyMs,
      idleRssKiB,
      startHwmKiB,
      peakRssKiB,
      sampledMaxRssKiB,
      resyncMs: again.ms,
      resyncEntries: redone.count,
      resyncMessage: redone.message,
    };

    const searches: SearchFigure[] = [];
    if (searchRuns > 0) {
      const agent = keepAliveAgent(1);
      for (const { q, kind } of QUERIES) {
        const url = `${server.url}/api/v1/import/catalog?q=${encodeURIComponent(q)}&source_id=${id}`;
        const once = async () => {
          const t0 = performance.now();
          const r = await httpRequest(url, { headers: auth, agent, keep: true });
          const ms = performance.now() - t0;
          if (r.status !== 200) throw new Error(`catalog search ${q} answered ${r.status}: ${r.body.toString().slice(0, 300)}`);
          return { ms, answer: JSON.parse(r.body.toString()) as { count: number; packages: Array<{ name: string }> } };
        };
        const warm = await once();
        const times: number[] = [];
        for (let i = 0; i < searchRuns; i++) times.push((await once()).ms);
        searches.push({ q, kind, firstMs: warm.ms, medianMs: median(times), maxMs: Math.max(...times), answers: warm.answer.count, top: warm.answer.packages[0]?.name ?? null });
      }
      agent.destroy();
    }
    if (changeTo !== undefined) {
      const patch = sourceBody(changeTo);
      const patched = await httpRequest(`${server.url}/api/v1/import/sources/${id}`, {
        method: 'PATCH',
        headers: { ...auth, 'content-type': 'application/json', 'content-length': String(patch.length) },
        body: patch,
        keep: true,
      });
      if (patched.status !== 200) throw new Error(`pointing the source at the ${changeTo} tree answered ${patched.status}: ${patched.body.toString()}`);
      const rssBeforeKiB = (await procStatus(pid))?.VmRSS ?? null;
      const changedSampler = rssSampler(pid, 50);
      const changed = await runSync(server.url, id);
      const sampledMaxRssKiB = await changedSampler.stop();
      const end = changed.events.at(-1);
      if (end?.status !== 'done') throw new Error(`the sync of the changed index ended with ${JSON.stringify(end)}`);
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const rssAfterKiB = (await procStatus(pid))?.VmRSS ?? null;
      sync.changed = { tree: changeTo, rssBeforeKiB, sampledMaxRssKiB, ms: changed.ms, entries: end.count, rssAfterKiB };
    }
    return { sync, searches };
  } finally {
    await server.stop();
    if (!config.keep) await rm(storage, { recursive: true, force: true });
  }
}

/** A private apt configuration (nothing read from the host's /etc/apt) pointing at one tree. */
async function privateApt(url: string): Promise<{ dir: string; env: NodeJS.ProcessEnv }> {
  const dir = await mkdtemp(join(process.env.TMPDIR ?? '/tmp', 'repod-bench-apt-'));
  for (const d of ['state/lists/partial', 'cache/archives/partial', 'etc/apt.conf.d', 'etc/preferences.d', 'etc/sources.list.d', 'etc/trusted.gpg.d', 'log'])
    await mkdir(join(dir, d), { recursive: true });
  await writeFile(join(dir, 'status'), '');
  await writeFile(join(dir, 'sources.list'), `deb [trusted=yes] ${url} ${SUITE} main\n`);
  const config = join(dir, 'apt.conf');
  await writeFile(
    config,
    [
      `Dir "/";`,
      `Dir::State "${dir}/state/";`,
      `Dir::State::status "${dir}/status";`,
      `Dir::Cache "${dir}/cache/";`,
      `Dir::Etc "${dir}/etc/";`,
      `Dir::Etc::SourceList "${dir}/sources.list";`,
      `Dir::Etc::SourceParts "${dir}/etc/sources.list.d/";`,
      `Dir::Log "${dir}/log/";`,
      `APT::Architecture "amd64";`,
      `APT::Architectures { "amd64"; };`,
      `APT::Sandbox::User "root";`,
      `Acquire::Languages "none";`,
      `Debug::NoLocking "true";`,
      '',
    ].join('\n'),
  );
  return { dir, env: { ...process.env, APT_CONFIG: config, DEBIAN_FRONTEND: 'noninteractive', LC_ALL: 'C' } };
}

/** apt-get update of one tree from empty lists each time; with `searchRuns`, apt-cache searches after. */
async function benchApt(config: ImportBenchConfig, upstream: StaticServer, tree: string, searchRuns: number): Promise<{ update: AptRun; searches: AptSearchFigure[] }> {
  const apt = await privateApt(`${upstream.url}/${tree}/`);
  try {
    const runsMs: number[] = [];
    let maxRssKiB: number | null = null;
    let fetched: string[] = [];
    for (let i = 0; i < config.aptRuns; i++) {
      await rm(join(apt.dir, 'state/lists'), { recursive: true, force: true });
      await mkdir(join(apt.dir, 'state/lists/partial'), { recursive: true });
      await rm(join(apt.dir, 'cache'), { recursive: true, force: true });
      await mkdir(join(apt.dir, 'cache/archives/partial'), { recursive: true });
      const before = upstream.requests.length;
      const r = await runTimed('apt-get', ['update'], { env: apt.env, measureRss: true });
      fetched = upstream.requests.slice(before);
      if (!fetched.some((p) => p.includes('/Packages'))) throw new Error(`apt-get update fetched no Packages: ${fetched.join(' ')}\n${r.stdout}${r.stderr}`);
      runsMs.push(r.ms);
      if (r.maxRssKiB !== null) maxRssKiB = Math.max(maxRssKiB ?? 0, r.maxRssKiB);
    }
    const pkgnames = await runTimed('apt-cache', ['pkgnames'], { env: apt.env });
    const packages = pkgnames.stdout.split('\n').filter(Boolean).length;
    const searches: AptSearchFigure[] = [];
    for (const { aptRegex } of searchRuns > 0 ? QUERIES : []) {
      const times: number[] = [];
      let answers = 0;
      for (let i = 0; i < searchRuns; i++) {
        const r = await runTimed('apt-cache', ['search', '--names-only', aptRegex], { env: apt.env });
        times.push(r.ms);
        answers = r.stdout.split('\n').filter(Boolean).length;
      }
      searches.push({ regex: aptRegex, medianMs: median(times), answers });
    }
    return { update: { tree, runsMs, medianMs: median(runsMs), maxRssKiB, packages, fetched }, searches };
  } finally {
    await rm(apt.dir, { recursive: true, force: true });
  }
}

/** Why the section cannot run here, or null. */
async function skipReason(config: ImportBenchConfig): Promise<string | null> {
  const readable = await access(config.bookworm).then(
    () => true,
    () => false,
  );
  if (!readable) return `${config.bookworm} not found (apt-get update fills /var/lib/apt/lists)`;
  if (config.bookworm.endsWith('.lz4') && !(await which('lz4'))) return "lz4 is not installed (Debian package lz4) to decompress apt's list";
  if (!(await which('gzip'))) return 'gzip is not installed';
  return null;
}

export async function runImportBench(config: ImportBenchConfig): Promise<{ lines: string[]; json: Record<string, unknown> }> {
  const { log } = config;
  const skipped = await skipReason(config);
  if (skipped) {
    log(`import: skipped: ${skipped}`);
    return { lines: ['', `import sync at Debian scale: skipped — ${skipped}`], json: { date: new Date().toISOString(), skipped } };
  }
  const haveXz = (await which('xz')) !== null;
  const haveApt = (await which('apt-get')) !== null && (await which('apt-cache')) !== null;
  if (!haveXz) log('import: xz is not installed; only the Packages.gz tree is measured');
  if (!haveApt) log('import: apt-get is not installed; repod alone is measured');
  await mkdir(config.workDir, { recursive: true });
  const index = await prepareIndex(config, haveXz);
  const trees = TREES.filter((t) => haveXz || t.name !== 'xz');
  const load = { start: loadavg()[0], end: NaN };
  const aptVersion = haveApt ? ((await runTimed('apt-get', ['--version'])).stdout.split('\n')[0] ?? '') : 'missing';

  const upstream = await serveDirectory(index.dir);
  const repod: RepodSync[] = [];
  const apt: AptRun[] = [];
  let repodSearches: SearchFigure[] = [];
  let aptSearches: AptSearchFigure[] = [];
  try {
    for (const [i, tree] of trees.entries()) {
      const searchHere = i === 0;
      log(`import: repod sync of the ${tree.name} tree (${tree.files.join(', ')})`);
      const other = trees.find((t) => t.name !== tree.name)?.name;
      const r = await benchRepod(config, upstream, tree.name, searchHere ? config.searchRuns : 0, searchHere ? other : undefined);
      log(`  server (${r.sync.server}) ready in ${fmtMs(r.sync.readyMs)}, idle RSS ${fmtMiB(r.sync.idleRssKiB)}`);
      log(`  ${r.sync.entries} entries in ${fmtMs(r.sync.ms)}, server peak RSS ${fmtMiB(r.sync.peakRssKiB)}; re-sync ${fmtMs(r.sync.resyncMs)}`);
      if (r.sync.changed) {
        const c = r.sync.changed;
        log(`  with the catalog in memory (RSS ${fmtMiB(c.rssBeforeKiB)}), a sync of the ${c.tree} tree's index: ${fmtMs(c.ms)}, highest RSS ${fmtMiB(c.sampledMaxRssKiB)}`);
      }
      repod.push(r.sync);
      if (searchHere) repodSearches = r.searches;
      if (haveApt) {
        log(`import: apt-get update of the ${tree.name} tree, ${config.aptRuns} runs`);
        const a = await benchApt(config, upstream, tree.name, searchHere ? config.searchRuns : 0);
        log(`  median ${fmtMs(a.update.medianMs)} (${a.update.runsMs.map((ms) => fmtMs(ms)).join(', ')}), ${a.update.packages} package names`);
        apt.push(a.update);
        if (searchHere) aptSearches = a.searches;
      }
    }
  } finally {
    await upstream.close();
  }
  load.end = loadavg()[0];

  const mb = (bytes: number | undefined) => (bytes === undefined ? '-' : `${(bytes / 1e6).toFixed(1)} MB`);
  const fetchedFile = (paths: string[]) => paths.find((p) => p.includes('/Packages'))?.replace(/^.*\//, '') ?? '-';
  const rows: string[][] = [['', 'repod sync', 'apt-get update', 'ratio']];
  for (const r of repod) {
    const a = apt.find((x) => x.tree === r.tree);
    const tree = trees.find((t) => t.name === r.tree)!;
    rows.push(
      [
        `Release lists ${tree.files.join(' + ')}: wall time (${a ? `apt median of ${a.runsMs.length}` : 'no apt'})`,
        fmtMs(r.ms),
        fmtMs(a?.medianMs),
        a ? fmtRatio(a.medianMs, r.ms) : '-',
      ],
      ['   index fetched', fetchedFile(r.fetched), a ? fetchedFile(a.fetched) : '-', ''],
      ['   entries / package names', r.entries.toLocaleString('en-US'), a ? a.packages.toLocaleString('en-US') : '-', ''],
      ['   peak RSS (repod: server VmHWM; apt: largest process)', fmtMiB(r.peakRssKiB), fmtMiB(a?.maxRssKiB), ''],
      [
        `   repod: server started (${r.server === 'bundle' ? 'node dist/server.mjs' : 'node --import tsx'}): ready in / idle RSS`,
        `${fmtMs(r.readyMs)} / ${fmtMiB(r.idleRssKiB)}`,
        '',
        '',
      ],
      ['   repod: server peak RSS before the sync (after start and the source)', fmtMiB(r.startHwmKiB), '', ''],
      ['   repod: highest server RSS sampled during the sync (every 50 ms)', fmtMiB(r.sampledMaxRssKiB), '', ''],
      ['   repod: first progress line', fmtMs(r.firstProgressMs), '', ''],
      [`   re-sync, index unchanged ("${r.resyncMessage}")`, fmtMs(r.resyncMs), '', ''],
    );
    if (r.changed) {
      const c = r.changed;
      rows.push(
        ['   repod: server RSS after the searches (catalog in memory)', fmtMiB(c.rssBeforeKiB), '', ''],
        [`   repod: then a sync of a changed index (the ${c.tree} tree's Packages), wall time`, fmtMs(c.ms), '', ''],
        ['   repod: highest server RSS sampled during that sync (every 50 ms)', fmtMiB(c.sampledMaxRssKiB), '', ''],
        ['   repod: server RSS a second after it (new catalog loaded)', fmtMiB(c.rssAfterKiB), '', ''],
      );
    }
  }
  const searchRows: string[][] = [['query', `repod HTTP (median of ${config.searchRuns})`, 'repod max', 'repod first', 'answers', 'apt-cache search --names-only', 'answers']];
  for (const s of repodSearches) {
    const a = aptSearches.find((x) => x.regex === QUERIES.find((q) => q.q === s.q)!.aptRegex);
    searchRows.push([
      `${s.q} (${s.kind}; top: ${s.top ?? '-'})`,
      fmtMs(s.medianMs),
      fmtMs(s.maxMs),
      fmtMs(s.firstMs),
      String(s.answers),
      a ? `${fmtMs(a.medianMs)} ('${a.regex}')` : '-',
      a ? a.answers.toLocaleString('en-US') : '-',
    ]);
  }

  const lines = [
    '',
    `import: index sync of Debian bookworm main amd64 — ${new Date().toISOString()}`,
    `machine: ${availableParallelism()} cores, ${cpus()[0]?.model ?? 'unknown'}, ${Math.round(totalmem() / 1048576)} MiB RAM, ${platform()} ${release()}; node ${process.version}; ${aptVersion}`,
    `load average (1 min) at start ${load.start.toFixed(2)}, at end ${load.end.toFixed(2)}`,
    `data: ${config.bookworm}: ${index.stanzas.toLocaleString('en-US')} stanzas, Packages ${mb(index.bytes.Packages)}, .gz ${mb(index.bytes['Packages.gz'])}, .xz ${mb(index.bytes['Packages.xz'])}, ` +
      `served from 127.0.0.1 with an unsigned Release. repod: a fresh server per tree (${repod[0]?.server === 'tsx' ? 'node --import tsx src/runtime/node.ts' : 'node dist/server.mjs, as npm start runs it'}; file store, fsync on), wall time of POST .../sync until its event stream ends (status done); ` +
      `apt-get update: private APT_CONFIG, empty lists and cache each run (download, decompress, parse, pkgcache.bin), process start included. ratio = apt-get time / repod time.`,
    table(rows),
    '',
    `catalog search after the sync (GET /api/v1/import/catalog?q=&source_id=, keep-alive, default limit 50) beside apt-cache search over the same index (a process each, all matches printed):`,
    table(searchRows),
    `targets: the sync streams with the server's RSS under 250 MB and ends within a few seconds; a catalog search answers in under 50 ms.`,
  ];
  const json = {
    date: new Date().toISOString(),
    machine: {
      ...machineInfo(),
      apt: aptVersion,
      loadAverage: load,
    },
    settings: { bookworm: config.bookworm, searchRuns: config.searchRuns, aptRuns: config.aptRuns, queries: QUERIES },
    index: { stanzas: index.stanzas, bytes: index.bytes, preparedNow: index.preparedNow, prepareMs: index.prepareMs },
    repod: { syncs: repod, searches: repodSearches },
    apt: { updates: apt, searches: aptSearches },
  };
  return { lines, json };
}
