/**
 * A real nginx (Debian's) running the configuration infra/ ships: infra/nginx/repod.conf as is,
 * with the three site files it includes made from the examples beside it, changed only where a
 * test must differ (node addresses, cache directory, listen address). Runs in the foreground
 * in a temp prefix on 127.0.0.1 and is stopped by the test.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nginxMainConf } from '../helpers/nginx-conf.ts';
import { REPO_ROOT } from '../helpers/paths.ts';
import { freePort } from '../helpers/ports.ts';

export const NGINX_CONF = join(REPO_ROOT, 'infra/nginx/repod.conf');
export const NGINX_SITE_EXAMPLES = join(REPO_ROOT, 'infra/nginx/repod');

export interface RunningNginx {
  url: string;
  dir: string;
  process: ChildProcess;
  /** The access log lines so far (method, uri, status, upstream address, cache status). */
  accessLog(): Promise<string[]>;
  stop(): Promise<void>;
}

/** false when nginx is installed; otherwise why tests that need it are skipped. */
export function nginxSkipReason(): string | false {
  const probe = spawnSync('nginx', ['-v'], { stdio: 'ignore' });
  return probe.error ? 'nginx is not installed (apt-get install nginx)' : false;
}

/** The shipped nodes.conf with its node addresses replaced by `nodes` (one line per node, parameters kept). */
export async function nodesConf(nodes: string[]): Promise<string> {
  const example = await readFile(join(NGINX_SITE_EXAMPLES, 'nodes.conf'), 'utf8');
  const line = /^server\s+\S+(.*)$/m.exec(example);
  if (!line) throw new Error('infra/nginx/repod/nodes.conf has no server line');
  const comments = example.split('\n').filter((l) => l.startsWith('#'));
  return [...comments, ...nodes.map((node) => `server ${node}${line[1]}`), ''].join('\n');
}

export async function startNginx(nodes: string[]): Promise<RunningNginx> {
  const dir = await mkdtemp(join(tmpdir(), 'repod-nginx-'));
  // nginx's workers run as another user when started by root: let them write their temp files.
  await chmod(dir, 0o755);
  const port = await freePort();
  await mkdir(join(dir, 'repod'));
  await mkdir(join(dir, 'temp'));
  await chmod(join(dir, 'temp'), 0o777);
  await writeFile(join(dir, 'repod/nodes.conf'), await nodesConf(nodes));
  const cache = (await readFile(join(NGINX_SITE_EXAMPLES, 'cache.conf'), 'utf8')).replace(/proxy_cache_path\s+\S+/, `proxy_cache_path ${join(dir, 'cache')}`);
  if (!cache.includes(join(dir, 'cache'))) throw new Error('infra/nginx/repod/cache.conf has no proxy_cache_path');
  await writeFile(join(dir, 'repod/cache.conf'), cache);
  await writeFile(join(dir, 'repod/listen.conf'), `listen 127.0.0.1:${port};\nserver_name _;\n`);
  await writeFile(
    join(dir, 'nginx.conf'),
    nginxMainConf(dir, {
      connections: 1024,
      logFormat: '$request_method $request_uri $status $upstream_addr $upstream_status $upstream_cache_status',
      http: [`include ${NGINX_CONF};`],
    }),
  );
  const check = spawnSync('nginx', ['-t', '-p', `${dir}/`, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')], { encoding: 'utf8' });
  if (check.status !== 0) throw new Error(`nginx -t failed:\n${check.stderr}`);
  const child = spawn('nginx', ['-p', `${dir}/`, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log'), '-g', 'daemon off;'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`nginx exited with ${child.exitCode}:\n${output}`);
    const ok = await fetch(`${url}/nginx-health`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) throw new Error(`nginx did not answer on ${url}:\n${output}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    dir,
    process: child,
    accessLog: async () => (await readFile(join(dir, 'access.log'), 'utf8').catch(() => '')).split('\n').filter(Boolean),
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGQUIT');
      }),
  };
}
