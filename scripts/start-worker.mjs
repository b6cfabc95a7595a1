#!/usr/bin/env node
// `npm run start:worker`: the Worker (src/runtime/worker.ts) under workerd via `wrangler dev`,
// with R2 emulated on disk, configured by the same REPOD_* settings as `npm start`:
//   REPOD_PORT (8080), REPOD_HOST (0.0.0.0), REPOD_STORAGE=file:DIR (the local R2 persistence
//   directory, default file:./data-worker), REPOD_ADMIN_TOKEN, REPOD_SIGNING_KEY (a path: its
//   content becomes a secret), REPOD_DISTRIBUTIONS (a path: its JSON becomes a var), and every
//   other REPOD_* setting as is.
// Values reach wrangler through a private env file, never the command line (ps shows that).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const env = process.env;

function fail(message) {
  process.stderr.write(`repod start:worker: ${message}\n`);
  process.exit(2);
}

const storage = env.REPOD_STORAGE ?? 'file:./data-worker';
if (!storage.startsWith('file:')) fail(`REPOD_STORAGE must be file:DIR for the local Worker (its R2 bucket on disk), not ${storage}`);
const persistTo = resolve(storage.slice('file:'.length));

const vars = {};
for (const [name, value] of Object.entries(env)) {
  if (name.startsWith('REPOD_') && !['REPOD_PORT', 'REPOD_HOST', 'REPOD_STORAGE', 'REPOD_WORKERS'].includes(name) && value !== undefined) vars[name] = value;
}
const readNamed = (name) => {
  try {
    return readFileSync(env[name], 'utf8');
  } catch (error) {
    fail(`cannot read ${name} (${env[name]}): ${error.message}`);
  }
};
if (env.REPOD_SIGNING_KEY) vars.REPOD_SIGNING_KEY = readNamed('REPOD_SIGNING_KEY');
if (env.REPOD_DISTRIBUTIONS) {
  try {
    vars.REPOD_DISTRIBUTIONS = JSON.stringify(JSON.parse(readNamed('REPOD_DISTRIBUTIONS')));
  } catch (error) {
    fail(`REPOD_DISTRIBUTIONS (${env.REPOD_DISTRIBUTIONS}) is not JSON: ${error.message}`);
  }
}

/** One .env line: single quotes keep a one-line value literal; double quotes carry newlines as \n. */
function envLine(name, value) {
  if (!value.includes('\n') && !value.includes("'")) return `${name}='${value}'`;
  if (!value.includes('"')) return `${name}="${value.replaceAll('\r', '').replaceAll('\n', '\\n')}"`;
  fail(`${name} holds both quotes and newlines, which an env file cannot carry`);
}

const secrets = mkdtempSync(join(tmpdir(), 'repod-worker-'));
const envFile = join(secrets, 'vars.env');
writeFileSync(
  envFile,
  `${Object.entries(vars)
    .map(([n, v]) => envLine(n, v))
    .join('\n')}\n`,
  { mode: 0o600 },
);

const args = [
  join(root, 'node_modules', 'wrangler', 'bin', 'wrangler.js'),
  'dev',
  '--config',
  join(root, 'wrangler.toml'),
  '--local',
  '--ip',
  env.REPOD_HOST ?? '0.0.0.0',
  '--port',
  env.REPOD_PORT ?? '8080',
  '--persist-to',
  persistTo,
  '--env-file',
  envFile,
  '--show-interactive-dev-session=false',
  // Several local Workers (tests run them side by side) must not fight over the devtools port.
  '--inspector-port',
  env.REPOD_INSPECTOR_PORT ?? '0',
];
const child = spawn(process.execPath, args, {
  cwd: root,
  stdio: 'inherit',
  env: { ...env, WRANGLER_SEND_METRICS: 'false', WRANGLER_LOG_PATH: join(secrets, 'logs') },
});
const cleanup = () => rmSync(secrets, { recursive: true, force: true });
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => child.kill(signal));
}
child.on('exit', (code, signal) => {
  cleanup();
  process.exit(code ?? (signal ? 1 : 0));
});
