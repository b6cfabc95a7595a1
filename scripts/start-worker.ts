#!/usr/bin/env node
// `npm run start:worker`: the Worker (src/runtime/worker.ts) under workerd, with R2 emulated on
// disk, configured by the same REPOD_* settings as `npm start`:
//   REPOD_PORT (8080), REPOD_HOST (0.0.0.0), REPOD_STORAGE=file:DIR (where the emulated R2 bucket
//   persists, default file:./data-worker), REPOD_ADMIN_TOKEN, REPOD_SIGNING_KEY (a path: its
//   content becomes the secret), REPOD_DISTRIBUTIONS (a path: its JSON becomes the var), and
//   every other REPOD_* setting as is.
// wrangler bundles the Worker as a deploy would and Miniflare runs it (scripts/worker-runner.ts);
// values reach it in memory, never on a command line.
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runWorker } from './worker-runner.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const env = process.env;

function fail(message: string): never {
  process.stderr.write(`repod start:worker: ${message}\n`);
  process.exit(2);
}

const storage = env.REPOD_STORAGE ?? 'file:./data-worker';
if (!storage.startsWith('file:')) fail(`REPOD_STORAGE must be file:DIR for the local Worker (its R2 bucket on disk), not ${storage}`);

const vars: Record<string, string> = {};
for (const [name, value] of Object.entries(env)) {
  if (name.startsWith('REPOD_') && !['REPOD_PORT', 'REPOD_HOST', 'REPOD_STORAGE', 'REPOD_WORKERS'].includes(name) && value !== undefined) vars[name] = value;
}
const readNamed = (name: string): string => {
  try {
    return readFileSync(env[name]!, 'utf8');
  } catch (error) {
    fail(`cannot read ${name} (${env[name]}): ${(error as Error).message}`);
  }
};
if (env.REPOD_SIGNING_KEY) vars.REPOD_SIGNING_KEY = readNamed('REPOD_SIGNING_KEY');
if (env.REPOD_DISTRIBUTIONS) vars.REPOD_DISTRIBUTIONS = readNamed('REPOD_DISTRIBUTIONS');

const host = env.REPOD_HOST ?? '0.0.0.0';
const worker = await runWorker({
  config: join(root, 'wrangler.toml'),
  vars,
  persist: resolve(storage.slice('file:'.length)),
  host,
  port: Number(env.REPOD_PORT ?? 8080),
}).catch((error: Error) => fail(error.message));
process.stdout.write(`repod worker: Ready on http://${host === '0.0.0.0' ? 'localhost' : host}:${worker.url.port}\n`);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, async () => {
    await worker.stop().catch(() => undefined);
    process.exit(0);
  });
}
