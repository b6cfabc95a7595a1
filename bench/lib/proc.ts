/** Small process helpers: /proc status, running commands with wall time and peak RSS. */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';

/** Memory figures (KiB) of a process from /proc/<pid>/status; null when it is gone. */
export async function procStatus(pid: number): Promise<{ VmRSS: number; VmHWM: number } | null> {
  try {
    const text = await readFile(`/proc/${pid}/status`, 'utf8');
    const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN);
    return { VmRSS: field('VmRSS'), VmHWM: field('VmHWM') };
  } catch {
    return null;
  }
}

/** CPU time (user + system, ms) a process has used so far, from /proc/<pid>/stat; null where there is none. */
export async function cpuMs(pid: number | undefined): Promise<number | null> {
  if (pid === undefined) return null;
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null);
  if (!stat) return null;
  // After the command name (which may hold spaces): utime and stime are the 12th and 13th fields, in ticks of 10 ms.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

export interface RunResult {
  ms: number;
  stdout: string;
  stderr: string;
  /** Peak RSS of the command in KiB (from /usr/bin/time), when measured. */
  maxRssKiB: number | null;
}

/**
 * Runs a command to completion and times it (wall clock, spawn included). With `measureRss` it runs
 * under `/usr/bin/time -f` to get the peak RSS too (adds about a millisecond).
 */
export function runTimed(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; measureRss?: boolean } = {}): Promise<RunResult> {
  const marker = '@@bench-maxrss=';
  const [cmd, argv] = options.measureRss ? ['/usr/bin/time', ['-f', `${marker}%M`, command, ...args]] : [command, args];
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(cmd, argv, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = performance.now() - started;
      let maxRssKiB: number | null = null;
      if (options.measureRss) {
        const m = new RegExp(`${marker}(\\d+)`).exec(stderr);
        maxRssKiB = m ? Number(m[1]) : null;
        stderr = stderr.replace(new RegExp(`${marker}\\d+\\n?`), '');
      }
      if (code !== 0) reject(new Error(`${command} ${args.join(' ')} exited with ${code}:\n${stderr.slice(-3000)}${stdout.slice(-2000)}`));
      else resolve({ ms, stdout, stderr, maxRssKiB });
    });
  });
}
