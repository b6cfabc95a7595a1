import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from './paths.ts';
import { freePort } from './ports.ts';

export interface RunningServer {
  url: string;
  port: number;
  adminToken: string;
  storage: string;
  process: ChildProcess;
  logs: string[];
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** `npm start` (Node) or `npm run start:worker` (the Worker under workerd, on R2 emulated on disk). */
export type Runtime = 'node' | 'worker';

/**
 * Starts the real server (`src/runtime/node.ts`, as `npm start` does, or the Worker as `npm run
 * start:worker` does) in a child process on a free port and waits until it answers. Storage
 * defaults to a fresh file store (the Worker: a fresh R2 persistence directory) in a temp dir.
 * `nodeArgs` go before the script (--cpu-prof, which NODE_OPTIONS refuses).
 */
export async function startServer(env: Record<string, string> = {}, runtime: Runtime = 'node', nodeArgs: string[] = []): Promise<RunningServer> {
  if (runtime === 'worker') return startWorker(env);
  const storage = env.REPOD_STORAGE ?? `file:${await mkdtemp(join(tmpdir(), 'repod-data-'))}`;
  const adminToken = env.REPOD_ADMIN_TOKEN ?? 'test-admin-token-0123456789';
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', 'src/runtime/node.ts'], {
    cwd: REPO_ROOT,
    env: { ...process.env, REPOD_PORT: '0', REPOD_HOST: '127.0.0.1', REPOD_ADMIN_TOKEN: adminToken, ...env, REPOD_STORAGE: storage },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${logs.join('')}`)), 30_000);
    const onData = (data: Buffer) => {
      const text = data.toString();
      logs.push(text);
      const m = /"repod listening","url":"http:\/\/[^:]+:(\d+)"/.exec(logs.join(''));
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}:\n${logs.join('')}`));
    });
  });
  child.removeAllListeners('exit');
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    adminToken,
    storage,
    process: child,
    logs,
    stop: stopper(child, (signal) => child.kill(signal)),
  };
}

/** `npm run start:worker` (scripts/start-worker.ts) in its own process group, so stopping it stops workerd too. */
async function startWorker(env: Record<string, string>): Promise<RunningServer> {
  const storage = env.REPOD_STORAGE ?? `file:${await mkdtemp(join(tmpdir(), 'repod-r2-'))}`;
  const adminToken = env.REPOD_ADMIN_TOKEN ?? 'test-admin-token-0123456789';
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/start-worker.ts'], {
    cwd: REPO_ROOT,
    env: { ...process.env, REPOD_HOST: '127.0.0.1', REPOD_ADMIN_TOKEN: adminToken, ...env, REPOD_PORT: String(port), REPOD_STORAGE: storage },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const logs: string[] = [];
  child.stdout!.on('data', (data: Buffer) => logs.push(data.toString()));
  child.stderr!.on('data', (data: Buffer) => logs.push(data.toString()));
  let exited: number | null | undefined;
  child.on('exit', (code) => (exited = code));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  // The core starts on the first request; health answers once it has.
  for (;;) {
    if (exited !== undefined) throw new Error(`worker exited with ${exited}:\n${logs.join('')}`);
    if (Date.now() > deadline) {
      process.kill(-child.pid!, 'SIGKILL');
      throw new Error(`worker did not start:\n${logs.join('')}`);
    }
    if (/Ready on http/.test(logs.join(''))) {
      const health = await fetch(`${url}/api/v1/health`).catch(() => null);
      if (health?.ok) break;
      // The Worker answers why its core could not start: no point waiting for it.
      if (health?.status === 503) {
        const body = await health.text();
        process.kill(-child.pid!, 'SIGKILL');
        throw new Error(`worker did not start: ${body}`);
      }
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url,
    port,
    adminToken,
    storage,
    process: child,
    logs,
    // Its own process group: stopping it stops workerd too.
    stop: stopper(child, (signal) => process.kill(-child.pid!, signal)),
  };
}

/** Stops a server child with `kill` and resolves once it has exited (at once if it already has). */
function stopper(child: ChildProcess, kill: (signal: NodeJS.Signals) => void): RunningServer['stop'] {
  return (signal = 'SIGTERM') =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      try {
        kill(signal);
      } catch {
        resolve();
      }
    });
}

/**
 * Sends a file as an upload in parts: announces it (POST /api/v1/uploads) and PUTs each part
 * from the file. Completing is left to the caller, who may time it or look at its answer.
 */
export async function sendInParts(
  server: { url: string; adminToken: string },
  distribution: string,
  path: string,
  partSize: number,
): Promise<{ session: { id: string; part_urls: string; parts: Array<{ number: number; size: number; url: string }> }; sha256: string; complete(): Promise<Response> }> {
  const { open, stat } = await import('node:fs/promises');
  const { basename } = await import('node:path');
  const { createHash } = await import('node:crypto');
  const auth = { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json' };
  const size = (await stat(path)).size;
  const created = await fetch(`${server.url}/api/v1/uploads`, {
    method: 'POST',
    headers: auth,
    body: JSON.stringify({ filename: basename(path), size, distribution, part_size: partSize }),
  });
  if (created.status !== 201) throw new Error(`POST /api/v1/uploads answered ${created.status}: ${await created.text()}`);
  const session = (await created.json()) as { id: string; part_urls: string; parts: Array<{ number: number; size: number; url: string }> };
  const hash = createHash('sha256');
  const file = await open(path);
  try {
    let offset = 0;
    for (const part of session.parts) {
      const chunk = new Uint8Array(part.size);
      await file.read(chunk, 0, part.size, offset);
      offset += part.size;
      hash.update(chunk);
      const put = await fetch(part.url, { method: 'PUT', body: chunk });
      if (put.status !== 200) throw new Error(`PUT of part ${part.number} answered ${put.status}: ${await put.text()}`);
    }
  } finally {
    await file.close();
  }
  return {
    session,
    sha256: hash.digest('hex'),
    complete: () => fetch(`${server.url}/api/v1/uploads/${session.id}/complete`, { method: 'POST', headers: auth }),
  };
}

/** Uploads a file the way Repod's CI scripts do (multipart file + distribution, bearer token). */
export async function uploadFile(
  server: { url: string; adminToken: string },
  distribution: string,
  path: string,
  extra: Record<string, string> = {},
): Promise<{ status: number; body: any }> {
  const { readFile } = await import('node:fs/promises');
  const { basename } = await import('node:path');
  const form = new FormData();
  form.append('file', new Blob([await readFile(path)]), basename(path));
  form.append('distribution', distribution);
  for (const [k, v] of Object.entries(extra)) form.append(k, v);
  const response = await fetch(`${server.url}/api/v1/upload`, { method: 'POST', body: form, headers: { authorization: `Bearer ${server.adminToken}` } });
  return { status: response.status, body: await response.json() };
}
