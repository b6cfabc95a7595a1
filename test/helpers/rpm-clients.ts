import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from './paths.ts';
import { run } from './run.ts';

/** A private dnf set-up (config, cache, install root) pointed at one repod arch repository. */
export interface DnfClient {
  dir: string;
  root: string;
  config: string;
  dnf(args: string[]): Promise<string>;
}

export async function dnfClient(baseUrl: string, options: { gpgkeys: string[]; gpgcheck?: boolean; repoGpgcheck?: boolean }): Promise<DnfClient> {
  const dir = await mkdtemp(join(tmpdir(), 'repod-dnf-'));
  const root = join(dir, 'root');
  await mkdir(join(dir, 'repos'), { recursive: true });
  await mkdir(root, { recursive: true });
  const config = join(dir, 'dnf.conf');
  await writeFile(
    config,
    [
      '[main]',
      `cachedir=${dir}/cache`,
      `reposdir=${dir}/repos`,
      `logdir=${dir}/log`,
      `persistdir=${dir}/persist`,
      'install_weak_deps=0',
      '',
      '[repod]',
      'name=repod',
      `baseurl=${baseUrl}`,
      `gpgcheck=${options.gpgcheck === false ? 0 : 1}`,
      `repo_gpgcheck=${options.repoGpgcheck === false ? 0 : 1}`,
      `gpgkey=${options.gpgkeys.join(' ')}`,
      'metadata_expire=0',
      '',
    ].join('\n'),
  );
  const pluginDir = await run('bash', [join(REPO_ROOT, 'scripts/dnf-plugins.sh')]).then((s) => s.trim().split('\n').pop()!);
  return {
    dir,
    root,
    config,
    dnf: (args) =>
      run('dnf', ['-y', '-c', config, `--installroot=${root}`, '--releasever=9', `--setopt=pluginpath=${pluginDir}/plugins`, ...args], {
        env: { PYTHONPATH: `${pluginDir}/root/usr/lib/python3/dist-packages` },
      }),
  };
}

/** A private zypper root with one repository added. */
export interface ZypperClient {
  root: string;
  zypper(args: string[]): Promise<string>;
}

export async function zypperClient(baseUrl: string, packagerKeys: string[]): Promise<ZypperClient> {
  const root = await mkdtemp(join(tmpdir(), 'repod-zypper-'));
  const zypper = (args: string[]) => run('zypper', ['--root', root, '--non-interactive', '--gpg-auto-import-keys', ...args]);
  // Package signatures are checked against the root's rpm database: trust the packager key there.
  for (const key of packagerKeys) await run('rpm', ['--root', root, '--import', key]);
  await zypper(['addrepo', '--refresh', baseUrl, 'repod']);
  return { root, zypper };
}
