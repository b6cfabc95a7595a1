/**
 * The web UI's page times at 1,000 / 10,000 / 100,000 packages (issue 17: "Pages render in under
 * 200 ms at 100,000 packages (paged)").
 *
 * Filling: the pages only read what a revision and a package record hold, so each distribution is
 * filled with synthetic packages (bench/lib/synthetic-rpms.ts), in batches of 10,000 (one revision
 * each) and a last revision that updates, adds and removes a few packages across the range (what
 * the compare shows).
 *
 * Measuring: the real server (src/runtime/node.ts) on the filled file store; a browser-like client
 * signs in through /ui/sign-in (sign-in cookie, CSRF field, session cookie) and times each page to
 * its last byte over a keep-alive connection. The server is started anew for each page: its first
 * request is the cold figure (nothing cached in the process; the OS page cache is warm), then
 * `runs` more give the warm median and p95.
 */
import { mkdir, rm } from 'node:fs/promises';
import type { Agent } from 'node:http';
import { join } from 'node:path';
import type { RpmPackage } from '../src/formats/rpm/model.ts';
import { rpmKey } from '../src/ingest/rpm-entry.ts';
import type { RunningServer } from '../test/helpers/server.ts';
import { startBenchServer } from './lib/apt-server.ts';
import { machineInfo } from './lib/common.ts';
import { httpRequest, keepAliveAgent } from './lib/http.ts';
import { fmtMs, median, table } from './lib/stats.ts';
import { openSyntheticFiller, type SyntheticEntry, syntheticPackage, syntheticSha256 } from './lib/synthetic-rpms.ts';

const DIST = 'rocky9';
const TARGET_MS = 200;
const BATCH = 10_000;
const ADMIN_PASSWORD = 'ui bench admin password 0123456789';
/** Packages the last revision updates, adds and removes (spread over the whole range). */
const CHANGED = 20;

export interface UiBenchConfig {
  workDir: string;
  sizes: number[];
  runs: number;
  profileDir: string | null;
  keep: boolean;
  log: (message: string) => void;
}

interface PageTiming {
  page: string;
  path: string;
  bytes: number;
  coldMs: number;
  medianMs: number;
  p95Ms: number;
  runsMs: number[];
}

interface SizeResult {
  packages: number;
  revisions: number;
  fillMs: number;
  pages: PageTiming[];
}

const pct = (values: number[], p: number) => {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)];
};

/**
 * Fills a fresh file store with `count` synthetic packages in DIST (bench/lib/synthetic-rpms.ts),
 * BATCH per revision, then the revision of CHANGED updates, adds and removes. Returns what the
 * pages are asked for.
 */
async function fill(storeDir: string, count: number, log: (m: string) => void) {
  const filler = await openSyntheticFiller(storeDir);
  const describe = (pkg: RpmPackage) => filler.describe(pkg);
  const publish = (add: SyntheticEntry[], remove: string[], message: string) => filler.publish(DIST, add, remove, message);
  let revisions = 0;
  for (let start = 0; start < count; start += BATCH) {
    const end = Math.min(count, start + BATCH);
    const add = [];
    for (let n = start; n < end; n++) add.push(await describe(syntheticPackage(n)));
    await publish(add, [], `${end - start} synthetic packages`);
    revisions++;
    log(`  ${end.toLocaleString('en-US')}/${count.toLocaleString('en-US')} packages published`);
  }
  // The last revision: CHANGED updated (a new release), CHANGED new names, CHANGED removed, spread over the range.
  const step = Math.floor(count / CHANGED);
  const add = [];
  const remove: string[] = [];
  for (let i = 0; i < CHANGED; i++) {
    const updated = syntheticPackage(i * step + 1, '2.el9');
    add.push(await describe(updated));
    remove.push(rpmKey(syntheticPackage(i * step + 1)));
    add.push(await describe({ ...syntheticPackage(i * step + 2), name: `${syntheticPackage(i * step + 2).name}-extra` }));
    remove.push(rpmKey(syntheticPackage(i * step + 4)));
  }
  const last = await publish(add, remove, `${CHANGED} updated, ${CHANGED} added, ${CHANGED} removed`);
  revisions++;
  if (last.packageCount !== count) throw new Error(`the last revision holds ${last.packageCount} packages, expected ${count}`);
  // The package page's package: one in the middle of the range, present in the last revision.
  const middle = syntheticPackage(Math.floor(count / 2) - (Math.floor(count / 2) % 3) + 2);
  return { revisions, lastNumber: last.number, middle: { name: middle.name, sha256: syntheticSha256(middle) } };
}

/** A browser's cookies for one site, over one keep-alive connection. */
class Browser {
  private readonly cookies = new Map<string, string>();
  constructor(
    private readonly url: string,
    private readonly agent: Agent,
  ) {}

  async request(path: string, options: { method?: string; form?: Record<string, string> } = {}) {
    const headers: Record<string, string> = { accept: 'text/html' };
    if (this.cookies.size) headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    let body: Buffer | undefined;
    if (options.form) {
      body = Buffer.from(new URLSearchParams(options.form).toString());
      headers['content-type'] = 'application/x-www-form-urlencoded';
      headers['content-length'] = String(body.length);
    }
    const t0 = performance.now();
    const r = await httpRequest(`${this.url}${path}`, { method: options.method ?? 'GET', headers, body, agent: this.agent, keep: true });
    const ms = performance.now() - t0;
    const setCookie = r.headers['set-cookie'];
    for (const line of Array.isArray(setCookie) ? setCookie : setCookie ? [setCookie] : []) {
      const [pair] = line.split(';');
      const eq = pair.indexOf('=');
      const k = pair.slice(0, eq).trim();
      if (/max-age=0/i.test(line)) this.cookies.delete(k);
      else this.cookies.set(k, pair.slice(eq + 1).trim());
    }
    return { status: r.status, text: r.body.toString(), bytes: r.bytes, ms };
  }

  async signIn(): Promise<void> {
    const form = await this.request('/ui/sign-in');
    const csrf = /name="csrf" value="([^"]+)"/.exec(form.text)?.[1];
    if (!csrf) throw new Error(`the sign-in page has no CSRF field (${form.status})`);
    const r = await this.request('/ui/sign-in', { method: 'POST', form: { csrf, username: 'admin', password: ADMIN_PASSWORD, next: '/' } });
    if (r.status !== 303 || !this.cookies.has('repod_session')) throw new Error(`sign-in answered ${r.status}: ${r.text.slice(0, 300)}`);
  }
}

async function startServer(storeDir: string, profileDir: string | null, name: string): Promise<RunningServer> {
  // startBenchServer passes the bench's environment on: the admin password lets the browser sign in.
  const saved = process.env.REPOD_ADMIN_PASSWORD;
  process.env.REPOD_ADMIN_PASSWORD = ADMIN_PASSWORD;
  try {
    // A directory per server and Node's own file names: with tsx the module loader runs in a second
    // thread that writes its own profile, and one --cpu-prof-name would let it overwrite the server's
    // (the server's main thread is the file with thread id 0).
    return await startBenchServer(`file:${storeDir}`, profileDir ? ['--cpu-prof', '--cpu-prof-dir', join(profileDir, name)] : []);
  } finally {
    if (saved === undefined) delete process.env.REPOD_ADMIN_PASSWORD;
    else process.env.REPOD_ADMIN_PASSWORD = saved;
  }
}

/** The pages of one distribution size: their paths, and a check that each answer is the page asked for. */
function pagesOf(count: number, filled: Awaited<ReturnType<typeof fill>>) {
  const d = `/ui/distributions/${DIST}`;
  const q = (query: string) => `${d}?${new URLSearchParams({ q: query })}`;
  const wanted = syntheticPackage(Math.floor((count * 2) / 3)).name;
  return [
    { page: 'overview /', path: '/', expect: DIST },
    { page: 'distribution, first page', path: d, expect: 'Next page' },
    // The cursor the first page's "Next page" link carries is filled in after the first page is read.
    { page: 'distribution, next page', path: '', expect: 'First page' },
    { page: `name: search (name:${wanted})`, path: q(`name:${wanted}`), expect: `>${wanted}<` },
    { page: 'text search (devel, many hits)', path: q('devel'), expect: '-devel<' },
    { page: 'text search (no hit: chunk budget)', path: q('zzz-no-such'), expect: 'zzz-no-such' },
    { page: 'package page', path: `${d}/packages/${filled.middle.sha256}`, expect: filled.middle.name },
    { page: `compare ${filled.lastNumber - 1}..${filled.lastNumber}`, path: `${d}/compare?a=${filled.lastNumber - 1}&b=${filled.lastNumber}`, expect: '-extra' },
  ];
}

async function measureSize(count: number, config: UiBenchConfig): Promise<SizeResult> {
  const { log } = config;
  const storeDir = join(config.workDir, `ui-${count}`);
  await rm(storeDir, { recursive: true, force: true });
  await mkdir(storeDir, { recursive: true });
  log(`ui: filling ${count.toLocaleString('en-US')} packages into ${storeDir}`);
  const t0 = performance.now();
  const filled = await fill(storeDir, count, log);
  const fillMs = performance.now() - t0;
  log(`ui: filled in ${(fillMs / 1000).toFixed(1)} s (${filled.revisions} revisions)`);

  const pages = pagesOf(count, filled);
  const out: PageTiming[] = [];
  let nextPath = '';
  for (const [i, p] of pages.entries()) {
    const server = await startServer(storeDir, config.profileDir, `ui-${count}-${i}`);
    const agent = keepAliveAgent(1);
    try {
      const browser = new Browser(server.url, agent);
      await browser.signIn();
      const path = p.path || nextPath;
      if (!path) throw new Error('no next-page link on the first page');
      const check = (r: { status: number; text: string }) => {
        if (r.status !== 200 || !r.text.includes(p.expect)) throw new Error(`${p.page} (${path}): ${r.status}, expected ${JSON.stringify(p.expect)}:\n${r.text.slice(0, 500)}`);
      };
      const cold = await browser.request(path);
      check(cold);
      if (p.page.startsWith('distribution, first')) {
        const href = /href="([^"]*after=[^"]*)"/.exec(cold.text)?.[1];
        nextPath = href ? href.replaceAll('&amp;', '&') : '';
      }
      const runsMs: number[] = [];
      for (let r = 0; r < config.runs; r++) {
        const warm = await browser.request(path);
        check(warm);
        runsMs.push(warm.ms);
      }
      out.push({ page: p.page, path, bytes: cold.bytes, coldMs: cold.ms, medianMs: median(runsMs), p95Ms: pct(runsMs, 0.95), runsMs });
      log(`ui: ${count} ${p.page}: cold ${fmtMs(cold.ms)}, warm median ${fmtMs(median(runsMs))}, p95 ${fmtMs(pct(runsMs, 0.95))}`);
    } finally {
      agent.destroy();
      await server.stop();
    }
  }
  if (!config.keep) await rm(storeDir, { recursive: true, force: true });
  return { packages: count, revisions: filled.revisions, fillMs, pages: out };
}

export async function runUiBench(config: UiBenchConfig): Promise<{ lines: string[]; json: unknown }> {
  const started = Date.now();
  const results: SizeResult[] = [];
  for (const size of config.sizes) results.push(await measureSize(size, config));

  const lines: string[] = [];
  lines.push('', `repod web UI page times — ${new Date().toISOString()}`);
  const m = machineInfo();
  lines.push(`machine: ${m.cores} cores, ${m.cpuModel}, ${m.memoryMiB} MiB RAM; node ${m.node}`);
  lines.push(
    `method: ${DIST} filled with synthetic RPM records (mirror-sync style: record + rpmEntry + Repository.publish, ${BATCH.toLocaleString('en-US')} per revision, ` +
      `then one revision of ${CHANGED} updates/adds/removes); the real server on the file store; signed in as admin through /ui/sign-in; ` +
      `time to the last byte over keep-alive from a client on the same box. Cold: the first request of a freshly started server ` +
      `(after sign-in; OS page cache warm). Warm: median and p95 of ${config.runs} more. Target: ${TARGET_MS} ms.`,
  );
  const mark = (ms: number) => `${fmtMs(ms)}${ms > TARGET_MS ? ' !' : ''}`;
  for (const r of results) {
    lines.push('', `== ${r.packages.toLocaleString('en-US')} packages (${r.revisions} revisions; filled in ${fmtMs(r.fillMs)}) ==`);
    lines.push(
      table([
        ['page', 'cold', 'warm median', 'warm p95', 'target', 'KiB'],
        ...r.pages.map((p) => [p.page, mark(p.coldMs), mark(p.medianMs), mark(p.p95Ms), `${TARGET_MS} ms`, (p.bytes / 1024).toFixed(0)]),
      ]),
    );
  }
  if (results.length > 1) {
    lines.push('', '== warm median (cold) by size; "!" marks a figure over the target ==');
    lines.push(
      table([
        ['page', ...results.map((r) => `${r.packages.toLocaleString('en-US')}`), 'target'],
        ...results[0].pages.map((p, i) => [
          p.page.replace(/ \(name:.*\)$/, '').replace(/^compare .*/, 'compare of two revisions'),
          ...results.map((r) => `${mark(r.pages[i].medianMs)} (${mark(r.pages[i].coldMs)})`),
          `${TARGET_MS} ms`,
        ]),
      ]),
    );
  }
  const missed = results.flatMap((r) => r.pages.filter((p) => p.medianMs > TARGET_MS || p.coldMs > TARGET_MS).map((p) => `${r.packages}: ${p.page}`));
  lines.push('', missed.length ? `over ${TARGET_MS} ms: ${missed.join('; ')}` : `every page under ${TARGET_MS} ms, cold and warm`);
  lines.push(`total ui bench time ${((Date.now() - started) / 1000).toFixed(0)} s; figures in .bench/results-ui.json`);
  return {
    lines,
    json: { date: new Date().toISOString(), machine: m, settings: { sizes: config.sizes, runs: config.runs, targetMs: TARGET_MS, batch: BATCH, changed: CHANGED }, results },
  };
}
