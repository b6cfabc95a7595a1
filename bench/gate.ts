/**
 * The security gate's cost (bench/gate.ts; .bench/results-gate.json): per-file ingest as in
 * bench/ingest.ts (N RPMs, one per POST /api/v1/upload, --gate-clients concurrent clients, group
 * commit on, until the served primary.xml lists all N), three times on fresh servers:
 *
 *   1. the gate off (REPOD_SECURITY_GATE=0: format and signature checks only);
 *   2. the gate as shipped with nothing configured (no scanner, an empty feed; the dependency
 *      check runs);
 *   3. the gate with a real clamd (a small custom signature database, started here) and an OSV
 *      feed of --gate-advisories advisories (default 10,000; some name the uploaded packages at
 *      low severity, so those are matched and published with a warning).
 *
 * The server is the one `npm start` runs (bench/lib/bundle-server.ts; REPOD_BENCH_SERVER=tsx for the
 * tests' way). Each upload's answer carries the time every step took; the table gives their medians, and the
 * uploads/s of each run beside createrepo_c's full run over the same files, with the CPU per upload
 * of the server and of clamd (on 2 busy cores, what the two spend is what bounds uploads/s).
 */
import { link, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { clamdSkipReason, ndbSignature, startClamd } from '../test/helpers/clamd.ts';
import { benchServerRuntime, startBenchServer } from './lib/bundle-server.ts';
import { ADMIN_TOKEN } from './lib/common.ts';
import { cpuMs, runTimed } from './lib/proc.ts';
import { fmtMs, median, table } from './lib/stats.ts';
import { revUploadBodies, untilListed, uploadAll } from './lib/uploads.ts';

const DIST = 'rocky9';
const ECOSYSTEM = 'Rocky Linux:9';
const STEPS = ['format', 'provenance', 'antivirus', 'cve', 'gpg', 'dependencies'] as const;

export interface GateBenchConfig {
  workDir: string;
  rpmsDir: string;
  files: number;
  clients: number;
  advisories: number;
  keep: boolean;
  /** Directory for .cpuprofile files of the servers (--profile), or null. */
  profileDir?: string | null;
  log: (message: string) => void;
}

interface GateRun {
  label: string;
  ms: number;
  uploadsPerSecond: number;
  failures: number;
  /** Median milliseconds of each step over every answer that carried it. */
  stepMs: Partial<Record<(typeof STEPS)[number], number>>;
  /** Answers whose cve step matched an advisory. */
  findings: number;
  /**
   * CPU (user + system, from /proc) per upload of the server and of clamd over the run: what bounds
   * uploads/s on a machine whose cores are all busy (null where not measured).
   */
  serverCpuMs: number | null;
  clamdCpuMs: number | null;
}

/** `count` OSV advisories in the distribution's ecosystem: most name other packages, `hits` name uploaded ones at low severity. */
function advisoryFeed(count: number, hitNames: string[]): unknown[] {
  const out: unknown[] = [];
  for (let i = 0; i < count; i++) {
    const hit = i < hitNames.length;
    out.push({
      id: `RLSA-BENCH-${String(i).padStart(5, '0')}`,
      modified: '2026-01-01T00:00:00Z',
      summary: `bench advisory ${i}`,
      affected: [
        {
          package: { ecosystem: ECOSYSTEM, name: hit ? hitNames[i] : `bench-other-${i}` },
          ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: '999:1-1' }] }],
          database_specific: { severity: hit ? 'Low' : 'Important' },
        },
      ],
      references: [{ type: 'ADVISORY', url: `https://example.invalid/${i}` }],
    });
  }
  return out;
}

/** A run's store, removed only once every run is done (see the end of runGateBench). */
function gateStore(config: GateBenchConfig, label: string): string {
  return join(config.workDir, `gate-${label.replace(/\W+/g, '-')}`);
}

async function gateRun(
  config: GateBenchConfig,
  label: string,
  bodies: Array<{ body: Buffer; contentType: string }>,
  env: Record<string, string>,
  clamdPid: number | null,
): Promise<GateRun> {
  const store = gateStore(config, label);
  await rm(store, { recursive: true, force: true });
  const profile = config.profileDir ? ['--cpu-prof', '--cpu-prof-dir', config.profileDir, '--cpu-prof-name', `server-${basename(store)}.cpuprofile`] : [];
  const server = await startBenchServer({ REPOD_STORAGE: `file:${store}`, REPOD_ADMIN_TOKEN: ADMIN_TOKEN, REPOD_RATE_LIMITS: 'admin=off', ...env }, { nodeArgs: profile });
  const times: Record<string, number[]> = Object.fromEntries(STEPS.map((s) => [s, []]));
  let findings = 0;
  try {
    const cpuBefore = [await cpuMs(server.process.pid), clamdPid === null ? null : await cpuMs(clamdPid)];
    const started = performance.now();
    const failures = await uploadAll(server.url, bodies, config.clients, config.log, (answer) => {
      for (const step of (answer.validation as { steps: Array<{ name: string; ms: number; detail?: { status?: string } }> } | undefined)?.steps ?? []) {
        times[step.name]?.push(step.ms);
        if (step.name === 'cve' && step.detail?.status === 'findings') findings++;
      }
    });
    await untilListed(server.url, DIST, bodies.length - failures);
    const ms = performance.now() - started;
    const cpuAfter = [await cpuMs(server.process.pid), clamdPid === null ? null : await cpuMs(clamdPid)];
    const perUpload = (i: number) => (cpuBefore[i] === null || cpuAfter[i] === null ? null : (cpuAfter[i]! - cpuBefore[i]!) / bodies.length);
    const stepMs = Object.fromEntries(STEPS.filter((s) => times[s].length).map((s) => [s, median(times[s])]));
    return { label, ms, uploadsPerSecond: (bodies.length / ms) * 1000, failures, stepMs, findings, serverCpuMs: perUpload(0), clamdCpuMs: perUpload(1) };
  } finally {
    await server.stop();
  }
}

export async function runGateBench(config: GateBenchConfig): Promise<{ lines: string[]; json: unknown }> {
  const { log } = config;
  await mkdir(config.workDir, { recursive: true });
  const { paths, bodies } = await revUploadBodies(config.rpmsDir, config.files, DIST, log);
  // Package names of the first files: the feed's "hits" (benchrev-NNNNN-1.0-1.x86_64.rpm -> benchrev-NNNNN).
  const hitNames = paths.slice(0, Math.min(100, paths.length)).map((p) => basename(p).replace(/-[^-]+-[^-]+\.[^.]+\.rpm$/, ''));

  const feedDir = await mkdtemp(join(tmpdir(), 'repod-bench-osv-'));
  await writeFile(join(feedDir, 'bench.json'), JSON.stringify(advisoryFeed(config.advisories, hitNames)));
  const skip = clamdSkipReason();
  const clamd = skip ? null : await startClamd({ ndb: ndbSignature('Repod.Bench.Marker', 'repod-bench-marker-never-present') });
  if (skip) log(`gate: ${skip}; the third run has no antivirus step`);

  const runs: GateRun[] = [];
  try {
    const variants: Array<[string, Record<string, string>]> = [
      ['gate off (REPOD_SECURITY_GATE=0)', { REPOD_SECURITY_GATE: '0' }],
      ['gate on, nothing configured', {}],
      [`gate on, clamd + ${config.advisories.toLocaleString('en')} advisories`, { REPOD_ADVISORIES: feedDir, ...(clamd ? { REPOD_CLAMD: clamd.spec } : {}) }],
    ];
    for (const [label, env] of variants) {
      log(`gate: ${config.files} uploads by ${config.clients} clients, ${label}`);
      const run = await gateRun(config, label, bodies, env, env.REPOD_CLAMD && clamd ? clamd.pid : null);
      log(`  ${run.uploadsPerSecond.toFixed(1)} uploads/s (${fmtMs(run.ms)}, ${run.failures} failures, ${run.findings} with findings)`);
      runs.push(run);
    }
  } finally {
    await clamd?.stop();
    await rm(feedDir, { recursive: true, force: true });
  }

  const tree = join(config.workDir, 'gate-createrepo');
  await rm(tree, { recursive: true, force: true });
  await mkdir(tree, { recursive: true });
  await Promise.all(paths.map((p) => link(p, join(tree, basename(p)))));
  const createrepo = await runTimed('createrepo_c', ['--quiet', tree]);
  // Stores are removed only now: a removal of thousands of files right before a run slows the
  // file creates of that run (ext4 without a journal scans past recently freed inodes).
  if (!config.keep) for (const dir of [tree, ...runs.map((r) => gateStore(config, r.label))]) await rm(dir, { recursive: true, force: true });

  const step = (r: GateRun, s: (typeof STEPS)[number]) => (r.stepMs[s] === undefined ? '-' : `${r.stepMs[s]!.toFixed(1)} ms`);
  const cpu = (ms: number | null) => (ms === null ? '-' : `${ms.toFixed(1)} ms`);
  const [off] = runs;
  const lines = [
    '',
    `security gate — ${config.files} RPMs, one per POST /api/v1/upload, ${config.clients} concurrent clients, group commit on, until the served primary.xml lists all (server: ${benchServerRuntime() === 'tsx' ? 'src/runtime/node.ts under tsx' : 'dist/server.mjs, as npm start runs it'})`,
    table([
      ['', 'uploads/s', 'vs gate off', 'time', 'server CPU/upload', 'clamd CPU/upload', ...STEPS.map((s) => `${s} (median)`)],
      ...runs.map((r) => [
        r.label,
        r.uploadsPerSecond.toFixed(1),
        `${((r.uploadsPerSecond / off.uploadsPerSecond) * 100).toFixed(0)}%`,
        fmtMs(r.ms),
        cpu(r.serverCpuMs),
        cpu(r.clamdCpuMs),
        ...STEPS.map((s) => step(r, s)),
      ]),
      ['createrepo_c, one full run over the same files', ((config.files / createrepo.ms) * 1000).toFixed(1), '-', fmtMs(createrepo.ms), '-', '-', ...STEPS.map(() => '-')],
    ]),
    `target: the gate with clamd and ${config.advisories.toLocaleString('en')} advisories keeps at least 150 uploads/s (group commit).`,
  ];
  return { lines, json: { files: config.files, clients: config.clients, advisories: config.advisories, runs, createrepoMs: createrepo.ms } };
}
