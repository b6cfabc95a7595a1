/**
 * A real nginx (Debian's) serving one directory as it is, the way an operator serves an exported
 * tree: no proxy, no rewrite, symlinks followed (nginx's default). Foreground, on 127.0.0.1, in a
 * temp prefix; the test stops it.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nginxMainConf } from './nginx-conf.ts';
import { freePort } from './ports.ts';

export interface StaticNginx {
  url: string;
  process: ChildProcess;
  /** Access log lines so far: `METHOD URI STATUS BYTES`. */
  accessLog(): Promise<string[]>;
  stop(): Promise<void>;
}

/** false when nginx is installed; otherwise why the tests that need it are skipped. */
export function staticNginxSkipReason(): string | false {
  return spawnSync('nginx', ['-v'], { stdio: 'ignore' }).error ? 'nginx is not installed (apt-get install nginx)' : false;
}

export async function startStaticNginx(root: string): Promise<StaticNginx> {
  const dir = await mkdtemp(join(tmpdir(), 'repod-static-nginx-'));
  await chmod(dir, 0o755);
  await mkdir(join(dir, 'temp'));
  await chmod(join(dir, 'temp'), 0o777);
  const port = await freePort();
  await writeFile(
    join(dir, 'nginx.conf'),
    nginxMainConf(dir, {
      connections: 256,
      logFormat: '$request_method $request_uri $status $body_bytes_sent',
      http: [
        'types { application/xml xml; application/gzip gz; application/x-rpm rpm; application/vnd.debian.binary-package deb; }',
        'default_type application/octet-stream;',
        `server { listen 127.0.0.1:${port}; root ${root}; }`,
      ],
    }),
  );
  const args = ['-p', `${dir}/`, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')];
  const check = spawnSync('nginx', ['-t', ...args], { encoding: 'utf8' });
  if (check.status !== 0) throw new Error(`nginx -t failed:\n${check.stderr}`);
  const child = spawn('nginx', [...args, '-g', 'daemon off;'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`nginx exited with ${child.exitCode}:\n${output}`);
    // Any answer (a 404 for the root of an empty tree) means it listens.
    if (
      await fetch(`${url}/`).then(
        () => true,
        () => false,
      )
    )
      break;
    if (Date.now() > deadline) throw new Error(`nginx did not answer on ${url}:\n${output}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
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
