import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from './run.ts';

/**
 * A private apt set-up: its own configuration through APT_CONFIG (state, cache, sources, no host
 * keyring), a sources.list entry with signed-by, and a scratch dpkg root packages install into.
 */
export interface AptClient {
  dir: string;
  root: string;
  aptGet(args: string[]): Promise<string>;
  dpkgQuery(args: string[]): Promise<string>;
}

export async function aptClient(options: { url: string; codename: string; component?: string; keyArmored: string; arch?: string }): Promise<AptClient> {
  const dir = await mkdtemp(join(tmpdir(), 'repod-apt-'));
  const root = join(dir, 'root');
  for (const d of [
    'state/lists/partial',
    'cache/archives/partial',
    'etc/sources.list.d',
    'etc/trusted.gpg.d',
    'etc/preferences.d',
    'etc/apt.conf.d',
    'root/var/lib/dpkg/info',
    'root/var/lib/dpkg/updates',
    'root/var/lib/dpkg/triggers',
    'log',
  ]) {
    await mkdir(join(dir, d), { recursive: true });
  }
  await writeFile(join(root, 'var/lib/dpkg/status'), '');
  const key = join(dir, 'repod.asc');
  await writeFile(key, options.keyArmored);
  await writeFile(join(dir, 'sources.list'), `deb [signed-by=${key}] ${options.url} ${options.codename} ${options.component ?? 'main'}\n`);
  const config = join(dir, 'apt.conf');
  await writeFile(
    config,
    [
      `Dir "/";`,
      `Dir::State "${dir}/state/";`,
      `Dir::State::status "${root}/var/lib/dpkg/status";`,
      `Dir::Cache "${dir}/cache/";`,
      `Dir::Etc "${dir}/etc/";`,
      `Dir::Etc::SourceList "${dir}/sources.list";`,
      `Dir::Etc::SourceParts "${dir}/etc/sources.list.d/";`,
      `Dir::Etc::Trusted "${dir}/etc/trusted.gpg";`,
      `Dir::Etc::TrustedParts "${dir}/etc/trusted.gpg.d/";`,
      `Dir::Log "${dir}/log/";`,
      `APT::Architecture "${options.arch ?? 'amd64'}";`,
      `APT::Architectures { "${options.arch ?? 'amd64'}"; };`,
      `APT::Sandbox::User "root";`,
      `Acquire::Languages "none";`,
      `Debug::NoLocking "true";`,
      `DPkg::Options { "--root=${root}"; "--force-not-root"; "--log=${dir}/log/dpkg.log"; };`,
      `DPkg::Chroot-Directory "/";`,
      `APT::Get::Assume-Yes "true";`,
      '',
    ].join('\n'),
  );
  const env = { APT_CONFIG: config, DEBIAN_FRONTEND: 'noninteractive' };
  return {
    dir,
    root,
    // cwd: apt-get download writes into the working directory.
    aptGet: (args) => run('apt-get', args, { env, cwd: dir }),
    dpkgQuery: (args) => run('dpkg-query', [`--admindir=${root}/var/lib/dpkg`, ...args]),
  };
}
