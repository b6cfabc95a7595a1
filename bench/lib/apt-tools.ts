/**
 * The outside tools the APT benchmark compares with (reprepro, aptly) or needs (lz4 to read apt's
 * compressed lists, gpg for the throwaway signing key), and the serve benchmark's client (wrk).
 * Missing ones are installed with apt-get when running as root; otherwise the caller gets their
 * names and prints a skip line.
 */
import { spawn } from 'node:child_process';
import { access, constants, mkdir, rm } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { runTimed } from './proc.ts';

/** Command name -> Debian package that ships it. */
export const APT_BENCH_TOOLS: Record<string, string> = {
  reprepro: 'reprepro',
  aptly: 'aptly',
  lz4: 'lz4',
  gpg: 'gpg',
  wrk: 'wrk',
};

export async function which(command: string): Promise<string | null> {
  for (const dir of (process.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin').split(delimiter)) {
    const path = join(dir, command);
    try {
      await access(path, constants.X_OK);
      return path;
    } catch {
      // not here
    }
  }
  return null;
}

function run(command: string, args: string[], log: (message: string) => void): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    let tail = '';
    const keep = (d: Buffer) => (tail = (tail + d.toString()).slice(-4000));
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', (error) => {
      log(`  ${command}: ${error.message}`);
      resolve(127);
    });
    child.on('close', (code) => {
      if (code !== 0) log(`  ${command} ${args.join(' ')} failed (${code}):\n${tail}`);
      resolve(code ?? 1);
    });
  });
}

/**
 * Makes sure the commands exist: as root, `apt-get install -y` the packages of the missing ones
 * (one `apt-get update` first if the install fails); returns the commands still missing.
 */
export async function ensureTools(commands: string[], log: (message: string) => void): Promise<string[]> {
  const missing = async () => (await Promise.all(commands.map(async (c) => ((await which(c)) ? null : c)))).filter((c): c is string => c !== null);
  let absent = await missing();
  if (absent.length === 0) return [];
  const packages = [...new Set(absent.map((c) => APT_BENCH_TOOLS[c] ?? c))];
  if (process.getuid?.() !== 0) {
    log(`missing ${absent.join(', ')} (Debian packages: ${packages.join(' ')}); not root, so not installing them`);
    return absent;
  }
  log(`missing ${absent.join(', ')}: running apt-get install -y ${packages.join(' ')}`);
  if ((await run('apt-get', ['install', '-y', '--no-install-recommends', ...packages], log)) !== 0) {
    log('  apt-get install failed; running apt-get update and trying once more');
    await run('apt-get', ['update'], log);
    await run('apt-get', ['install', '-y', '--no-install-recommends', ...packages], log);
  }
  absent = await missing();
  if (absent.length > 0) log(`still missing after apt-get: ${absent.join(', ')}`);
  return absent;
}

export interface ThrowawayKey {
  /** GNUPGHOME holding the key (no passphrase). */
  home: string;
  fingerprint: string;
  /** The environment for reprepro and aptly: GNUPGHOME set. */
  env: NodeJS.ProcessEnv;
}

/** A fresh gpg home with one ed25519 signing key (the kind repod generates) and no passphrase. */
export async function throwawayKey(home: string): Promise<ThrowawayKey> {
  await rm(home, { recursive: true, force: true });
  await mkdir(home, { recursive: true, mode: 0o700 });
  const env = { ...process.env, GNUPGHOME: home };
  await runTimed('gpg', ['--batch', '--passphrase', '', '--quick-gen-key', 'repod bench <bench@repod.invalid>', 'ed25519', 'sign', 'never'], { env });
  const listing = await runTimed('gpg', ['--batch', '--with-colons', '--list-secret-keys'], { env });
  const fingerprint = /^fpr:+([0-9A-F]{40}):/m.exec(listing.stdout)?.[1];
  if (!fingerprint) throw new Error(`no fingerprint in gpg --list-secret-keys:\n${listing.stdout}`);
  return { home, fingerprint, env };
}

/** Stops the gpg-agent that signing started for this home (and only that one). */
export async function stopAgent(key: ThrowawayKey): Promise<void> {
  await runTimed('gpgconf', ['--kill', 'gpg-agent'], { env: key.env }).catch(() => undefined);
}
