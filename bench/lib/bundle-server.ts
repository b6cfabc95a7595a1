/**
 * The server as `npm start` runs it, for the benchmarks: dist/server.mjs (rebuilt first when stale,
 * as npm's prestart does) under plain node. Benchmarks measure this by default, since it is what
 * users run; REPOD_BENCH_SERVER=tsx measures src/runtime/node.ts under tsx's loader instead (how
 * the tests start it), to compare.
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { REPO_ROOT } from '../../test/helpers/paths.ts';
import type { RunningServer } from '../../test/helpers/server.ts';
import { runTimed } from './proc.ts';

export type ServerRuntime = 'bundle' | 'tsx';

/** The runtime REPOD_BENCH_SERVER asks for (the bundle unless it says tsx). */
export function benchServerRuntime(): ServerRuntime {
  return process.env.REPOD_BENCH_SERVER === 'tsx' ? 'tsx' : 'bundle';
}

let built: Promise<unknown> | null = null;

/** Builds dist/server.mjs once per benchmark run (the build itself skips an up-to-date bundle). */
export function ensureBundle(): Promise<unknown> {
  built ??= runTimed(process.execPath, [join(REPO_ROOT, 'scripts/build-server.mjs')], { cwd: REPO_ROOT });
  return built;
}

export interface BenchServerOptions {
  /** Which server to run (default: benchServerRuntime()). */
  runtime?: ServerRuntime;
  /** Node options before the script, e.g. --cpu-prof and its directory. */
  nodeArgs?: string[];
  /** Another bundle to run instead of dist/server.mjs (an older checkout's, to compare in one run). */
  script?: string;
}

/** The node options of `npm start` in `checkout` (its package.json's start script, e.g. --max-semi-space-size=4), so the bench runs the server as users do. */
export async function startNodeOptions(checkout = REPO_ROOT): Promise<string[]> {
  const pkg = JSON.parse(await readFile(join(checkout, 'package.json'), 'utf8')) as { scripts?: { start?: string } };
  const words = (pkg.scripts?.start ?? '').split(/\s+/);
  return words.slice(1, words.indexOf('dist/server.mjs')).filter((w) => w.startsWith('--'));
}

/** Starts a repod server on 127.0.0.1 with `env` on top of this process's environment. */
export async function startBenchServer(env: Record<string, string>, options: BenchServerOptions = {}): Promise<RunningServer> {
  const nodeArgs = [...(await startNodeOptions()), ...(options.nodeArgs ?? [])];
  // Node options go on the command line, not NODE_OPTIONS: --cpu-prof is not allowed there.
  let args: string[];
  if ((options.runtime ?? benchServerRuntime()) === 'tsx') args = [...nodeArgs, '--import', 'tsx', 'src/runtime/node.ts'];
  else {
    if (!options.script) await ensureBundle();
    args = [...nodeArgs, options.script ?? join(REPO_ROOT, 'dist/server.mjs')];
  }
  const child = spawn(process.execPath, args, {
    cwd: REPO_ROOT,
    env: { ...process.env, REPOD_PORT: '0', REPOD_HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the server did not start:\n${logs.join('')}`)), 30_000);
    const onData = (data: Buffer) => {
      logs.push(data.toString());
      const m = /"repod listening","url":"http:\/\/[^:]+:(\d+)"/.exec(logs.join(''));
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the server exited with ${code}:\n${logs.join('')}`));
    });
  });
  child.removeAllListeners('exit');
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    adminToken: env.REPOD_ADMIN_TOKEN ?? '',
    storage: env.REPOD_STORAGE ?? '',
    process: child,
    logs,
    stop: (signal = 'SIGTERM') =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill(signal);
      }),
  };
}
