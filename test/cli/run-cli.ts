import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { REPO_ROOT } from '../helpers/paths.ts';

export const BIN = join(REPO_ROOT, 'bin/repod.mjs');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Highest VmHWM (peak resident set) read from /proc while the child ran, in MiB. */
  peakRssMb: number;
  json(): any;
}

/**
 * Runs the real `repod` bin as a child process (`node bin/repod.mjs ...`) with only the REPOD_*
 * variables given here, so a developer's environment cannot leak in.
 */
export function repod(args: string[], options: { env?: Record<string, string>; input?: string; timeoutMs?: number; sampleRss?: boolean } = {}): Promise<CliResult> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('REPOD_')) env[k] = v;
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...env, ...options.env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let peak = 0;
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  child.stdin.end(options.input ?? '');
  let sampler: NodeJS.Timeout | undefined;
  if (options.sampleRss) {
    sampler = setInterval(async () => {
      try {
        const status = await readFile(`/proc/${child.pid}/status`, 'utf8');
        const m = /VmHWM:\s+(\d+) kB/.exec(status);
        if (m) peak = Math.max(peak, Number(m[1]) / 1024);
      } catch {
        // exited
      }
    }, 25);
  }
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (sampler) clearInterval(sampler);
      resolve({
        code,
        stdout,
        stderr,
        peakRssMb: peak,
        json() {
          try {
            return JSON.parse(stdout);
          } catch {
            throw new Error(`stdout is not one JSON document (exit ${code}):\n${stdout}\n--- stderr:\n${stderr}`);
          }
        },
      });
    });
  });
}

/**
 * Does the running server have this API route yet? Asked without a token, so nothing runs: an
 * existing route answers 401 (or serves a public read); an unknown one 404 "no such path".
 */
export async function hasRoute(url: string, method: string, path: string): Promise<boolean> {
  const response = await fetch(`${url}${path}`, { method, headers: { 'content-type': 'application/json' }, body: method === 'GET' || method === 'HEAD' ? undefined : '{}' });
  const body = (await response.json().catch(() => null)) as { message?: string } | null;
  return !(response.status === 404 && /^no such path/.test(body?.message ?? ''));
}
