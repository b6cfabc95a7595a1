/**
 * The real server (`src/runtime/node.ts`, as `npm start` runs it) in a child process, like
 * test/helpers/server.ts startServer(), with extra node options on the command line: `--cpu-prof`
 * is not allowed in NODE_OPTIONS, so profiling needs them there.
 */
import { spawn } from 'node:child_process';
import { REPO_ROOT } from '../../test/helpers/paths.ts';
import type { RunningServer } from '../../test/helpers/server.ts';
import { ADMIN_TOKEN } from './common.ts';

export async function startBenchServer(storage: string, nodeArgs: string[] = []): Promise<RunningServer> {
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', 'src/runtime/node.ts'], {
    cwd: REPO_ROOT,
    env: { ...process.env, REPOD_PORT: '0', REPOD_HOST: '127.0.0.1', REPOD_ADMIN_TOKEN: ADMIN_TOKEN, REPOD_STORAGE: storage },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${logs.join('')}`)), 30_000);
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
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}:\n${logs.join('')}`));
    });
  });
  child.removeAllListeners('exit');
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    adminToken: ADMIN_TOKEN,
    storage,
    process: child,
    logs,
    stop: (signal = 'SIGTERM') =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill(signal);
      }),
  };
}
