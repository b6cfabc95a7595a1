import { spawnSync } from 'node:child_process';
import { hasCommand } from './run.ts';

/** Installs Debian's zchunk tools when missing and this is root on Debian (as scripts/test.sh does). */
export function ensureZchunkTools(): string | false {
  if (hasCommand('unzck') && hasCommand('zck_read_header')) return false;
  if (process.getuid?.() === 0 && hasCommand('apt-get')) {
    spawnSync('apt-get', ['install', '-y', '-qq', 'zchunk'], { stdio: 'ignore', timeout: 300_000, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    if (hasCommand('unzck') && hasCommand('zck_read_header')) return false;
  }
  return 'zchunk tools are not installed (apt-get install zchunk)';
}

/** The fields zck_read_header prints, and its chunk table (-c). */
export function parseZckHeader(text: string): { fields: Map<string, string>; chunks: Array<{ checksum: string; comp: number; size: number }> } {
  const fields = new Map<string, string>();
  const chunks: Array<{ checksum: string; comp: number; size: number }> = [];
  for (const line of text.split('\n')) {
    const field = /^([A-Z][A-Za-z -]+): (.*)$/.exec(line);
    if (field) fields.set(field[1], field[2]);
    const row = /^\s+\d+ ([0-9a-f]+)\s+\d+\s+(\d+)\s+(\d+)(\s+([+!]))?$/.exec(line);
    if (row && row[5] === '!') throw new Error(`zck_read_header found a bad chunk: ${line}`);
    if (row) chunks.push({ checksum: row[1], comp: Number(row[2]), size: Number(row[3]) });
  }
  return { fields, chunks };
}
