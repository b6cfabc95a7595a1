import { execFile } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface PackagerKey {
  home: string;
  name: string;
  publicKeyPath: string;
}

/** A throw-away gpg home with an RSA key, as a build system's packager key. */
export async function createPackagerKey(name = 'repod test packager'): Promise<PackagerKey> {
  const home = await mkdtemp(join(tmpdir(), 'repod-gpg-'));
  const batch = join(home, 'batch');
  await writeFile(batch, `%no-protection\nKey-Type: RSA\nKey-Length: 2048\nName-Real: ${name}\nName-Email: packager@example.com\nExpire-Date: 0\n%commit\n`);
  await run('gpg', ['--homedir', home, '--batch', '--gen-key', batch]);
  const publicKeyPath = join(home, 'packager.asc');
  const { stdout } = await run('gpg', ['--homedir', home, '--armor', '--export', name]);
  await writeFile(publicKeyPath, stdout);
  return { home, name, publicKeyPath };
}

/** Signs RPMs in place with rpmsign (Debian's rpm points %__gpg at a missing gpg2). */
export async function signRpms(key: PackagerKey, files: string[]): Promise<void> {
  await run('rpmsign', ['--define', `_gpg_name ${key.name}`, '--define', '__gpg /usr/bin/gpg', '--define', `_gpg_path ${key.home}`, '--addsign', ...files]);
}

export async function publicKey(key: PackagerKey): Promise<string> {
  return readFile(key.publicKeyPath, 'utf8');
}
