/**
 * Helpers of the file driver's tests: second processes running file-child.ts, and the lock
 * files they contend for (no node:test here; the caller kills what is left with killChildren).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile, readlink, symlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CHILD = join(dirname(fileURLToPath(import.meta.url)), 'file-child.ts');

export interface Child {
  process: ChildProcess;
  /** Resolves with the first stdout line matching. */
  line(match: RegExp): Promise<string>;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
}

const running = new Set<ChildProcess>();

/** For an `after` hook: a failed test must not leave a child hanging. */
export function killChildren(): void {
  for (const proc of running) proc.kill('SIGKILL');
}

export function child(...args: string[]): Child {
  const proc = spawn(process.execPath, ['--import', 'tsx', CHILD, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(proc);
  proc.on('exit', () => running.delete(proc));
  let stdout = '';
  let stderr = '';
  const waiters: { match: RegExp; resolve: (line: string) => void }[] = [];
  proc.stdout!.on('data', (d) => {
    stdout += d;
    for (const w of [...waiters]) {
      const line = stdout.split('\n').find((l) => w.match.test(l));
      if (line !== undefined) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
  });
  proc.stderr!.on('data', (d) => (stderr += d));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) =>
    proc.on('exit', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return {
    process: proc,
    exit,
    line: (match) =>
      new Promise((resolve, reject) => {
        waiters.push({ match, resolve });
        exit.then(({ code, stderr: err }) => reject(new Error(`child exited (${code}) before printing ${match}: ${err}`)));
      }),
  };
}

export function lockPath(root: string, key: string): string {
  return join(root, '.repod', 'locks', `${createHash('sha256').update(key).digest('hex').slice(0, 40)}.lock`);
}

/** A lock token of process `pid` (started at `start`, clock ticks since boot) on this machine. */
export async function sameMachineToken(pid: number, start: string, t = Date.now()): Promise<string> {
  return JSON.stringify({
    v: 1,
    host: hostname(),
    boot: (await readFile('/proc/sys/kernel/random/boot_id', 'utf8').catch(() => '')).trim(),
    ns: await readlink('/proc/self/ns/pid').catch(() => ''),
    pid,
    start,
    t,
    r: crypto.randomUUID(),
  });
}

/** How a fabricated lock is written: a symlink to its token (older versions, and guards) or a file holding it, padded. */
export type LockForm = 'symlink' | 'file';
export const LOCK_FORMS: LockForm[] = ['symlink', 'file'];

export async function fabricateLock(form: LockForm, path: string, token: string): Promise<void> {
  if (form === 'symlink') await symlink(token, path);
  else await writeFile(path, token.padEnd(512, ' '), { flag: 'wx' });
}

/** The start time of a process (clock ticks since boot), null without /proc. */
export async function processStart(pid: number): Promise<string | null> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null);
  return stat ? stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] : null;
}
