/**
 * A real upstream RPM repository for import tests: packages built with rpmbuild, metadata from
 * createrepo_c, repodata/repomd.xml signed with its own gpg key (repomd.xml.asc, detached and
 * armored, as Fedora, EPEL and vendor repositories publish it), served as static files over
 * node:http on 127.0.0.1 with a request log. Debian's createrepo_c (0.17) cannot write zstd, so
 * `compress: 'zstd'` recompresses its output with the zstd tool and rewrites repomd.xml to match,
 * as createrepo_c 1.x writes it for Fedora.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join, normalize, sep } from 'node:path';
import { createPackagerKey, type PackagerKey } from './gpg.ts';
import { buildRpms, type RpmSpec } from './rpmbuild.ts';
import { run } from './run.ts';

export type UpstreamCompression = 'gz' | 'xz' | 'zstd';

export interface UpstreamRpmOptions {
  /** Packages to build into the repository. */
  specs?: RpmSpec[];
  /** Already built .rpm files to include. */
  rpms?: string[];
  /** Compression of primary/filelists/other (default gz, createrepo_c's default). */
  compress?: UpstreamCompression;
  /** Sign repomd.xml (default true). */
  sign?: boolean;
  /** The key to sign with (default: a new one); pass another repository's to share a key. */
  key?: PackagerKey;
  /** URL path of the repository root, the directory holding repodata/ (default '/'). */
  path?: string;
}

/** Answers a request instead of the static files; return false to let the files answer. */
export type UpstreamOverride = (req: IncomingMessage, res: ServerResponse) => boolean | undefined;

export interface UpstreamRpmRepo {
  /** The directory served (the repository root is `root`). */
  dir: string;
  /** Directory holding repodata/ and the packages. */
  root: string;
  /** Base URL of the repository, with a trailing slash: http://127.0.0.1:PORT/PATH/ */
  url: string;
  key: PackagerKey;
  /** The armored public key that verifies repomd.xml.asc. */
  publicKey: string;
  /** Request paths, in order (method and path: "GET /repodata/repomd.xml"). */
  requests: string[];
  /** Paths of the .rpm files in the repository. */
  rpms(): Promise<string[]>;
  /** Builds more packages (or takes built ones) and runs `createrepo_c --update`, then signs again. */
  add(more: { specs?: RpmSpec[]; rpms?: string[] }): Promise<string[]>;
  /** The file repomd.xml lists for `type`, as a path on disk. */
  metadataPath(type: string): Promise<string>;
  /** Re-signs repomd.xml (after a test edited it). */
  sign(): Promise<void>;
  /** Routes requests to `handler` first (null removes it). */
  override(handler: UpstreamOverride | null): void;
  close(): Promise<void>;
}

export async function createUpstreamRpmRepo(options: UpstreamRpmOptions = {}): Promise<UpstreamRpmRepo> {
  const dir = await mkdtemp(join(tmpdir(), 'repod-upstream-rpm-'));
  const trimmed = (options.path ?? '').replace(/^\/+|\/+$/g, '');
  const urlPath = trimmed === '' ? '/' : `/${trimmed}/`;
  const root = join(dir, ...urlPath.split('/').filter(Boolean));
  await mkdir(root, { recursive: true });
  const compress = options.compress ?? 'gz';
  const sign = options.sign ?? true;
  const key = options.key ?? (await createPackagerKey('repod upstream rpm ' + basename(dir)));
  const publicKey = await readFile(key.publicKeyPath, 'utf8');
  const requests: string[] = [];
  let override: UpstreamOverride | null = null;

  const include = async (more: { specs?: RpmSpec[]; rpms?: string[] }): Promise<string[]> => {
    // Built outside the served tree: createrepo_c indexes every .rpm below the root.
    const buildDir = await mkdtemp(join(tmpdir(), 'repod-upstream-build-'));
    try {
      const built = more.specs && more.specs.length > 0 ? await buildRpms(more.specs, buildDir) : [];
      const placed: string[] = [];
      for (const file of [...built, ...(more.rpms ?? [])]) {
        const target = join(root, basename(file));
        await copyFile(file, target);
        placed.push(target);
      }
      return placed;
    } finally {
      await rm(buildDir, { recursive: true, force: true });
    }
  };

  const createrepo = async (update: boolean): Promise<void> => {
    // zstd is made from gz below; createrepo_c --update reads the old metadata, which must be what it wrote.
    const args = ['--quiet', '--no-database', '--general-compress-type', compress === 'zstd' ? 'gz' : compress];
    if (update) args.push('--update');
    await run('createrepo_c', [...args, root], { timeoutMs: 120_000 });
    if (compress === 'zstd') await recompressZstd(root);
    if (sign) await signRepomd();
  };

  const signRepomd = async (): Promise<void> => {
    const repomd = join(root, 'repodata', 'repomd.xml');
    await run('gpg', ['--homedir', key.home, '--batch', '--yes', '--local-user', key.name, '--armor', '--detach-sign', '--output', repomd + '.asc', repomd], {
      timeoutMs: 60_000,
    });
  };

  await include(options);
  await createrepo(false);

  const server: Server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    if (override?.(req, res)) return;
    void serveFile(dir, req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    dir,
    root,
    url: `http://127.0.0.1:${port}${urlPath}`,
    key,
    publicKey,
    requests,
    rpms: async () =>
      (await readdir(root))
        .filter((f) => f.endsWith('.rpm'))
        .sort()
        .map((f) => join(root, f)),
    add: async (more) => {
      // createrepo_c --update reuses entries by file name and mtime: a package added in the same
      // second as the last run is still read, since its name is new.
      const placed = await include(more);
      if (compress === 'zstd') await restoreGzipForUpdate(root);
      await createrepo(true);
      return placed;
    },
    metadataPath: async (type) => join(root, await hrefOf(root, type)),
    sign: signRepomd,
    override: (handler) => {
      override = handler;
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
      if (!options.key) await rm(key.home, { recursive: true, force: true });
    },
  };
}

async function serveFile(dir: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname));
  const file = join(dir, path);
  if (!file.startsWith(dir + sep)) {
    res.writeHead(403).end();
    return;
  }
  try {
    const info = await stat(file);
    if (!info.isFile()) throw new Error('not a file');
    res.writeHead(200, { 'content-length': info.size, 'content-type': 'application/octet-stream' });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    createReadStream(file).pipe(res);
  } catch {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
  }
}

/** The href of a data type in repodata/repomd.xml. */
export async function hrefOf(root: string, type: string): Promise<string> {
  const repomd = await readFile(join(root, 'repodata', 'repomd.xml'), 'utf8');
  const block = dataBlock(repomd, type);
  const href = /<location href="([^"]+)"/.exec(block ?? '')?.[1];
  if (!href) throw new Error(`repomd.xml lists no ${type}`);
  return href;
}

function dataBlock(repomd: string, type: string): string | undefined {
  return new RegExp(`<data type="${type}">[\\s\\S]*?</data>`).exec(repomd)?.[0];
}

async function sha256File(path: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(path))
    .digest('hex');
}

/** Replaces primary/filelists/other .xml.gz with .xml.zst and their repomd entries (checksum, size, href). */
async function recompressZstd(root: string): Promise<void> {
  const repomdPath = join(root, 'repodata', 'repomd.xml');
  let repomd = await readFile(repomdPath, 'utf8');
  for (const type of ['primary', 'filelists', 'other']) {
    const block = dataBlock(repomd, type);
    if (!block) continue;
    const href = /<location href="([^"]+)"/.exec(block)![1];
    if (!href.endsWith('.gz')) continue;
    const gz = join(root, href);
    const plain = gz.slice(0, -3);
    await run('gzip', ['-d', '-f', gz]);
    await run('zstd', ['-q', '-f', '--rm', plain, '-o', plain + '.zst']);
    const checksum = await sha256File(plain + '.zst');
    const size = (await stat(plain + '.zst')).size;
    const name = `${checksum}-${type}.xml.zst`;
    await rename(plain + '.zst', join(root, 'repodata', name));
    const updated = block
      .replace(/<checksum type="sha256">[0-9a-f]+<\/checksum>/, `<checksum type="sha256">${checksum}</checksum>`)
      .replace(/<location href="[^"]+"/, `<location href="repodata/${name}"`)
      .replace(/<size>\d+<\/size>/, `<size>${size}</size>`);
    repomd = repomd.replace(block, updated);
  }
  await writeFile(repomdPath, repomd);
}

/** createrepo_c 0.17 --update cannot read .zst: give it back gzip files and their repomd entries. */
async function restoreGzipForUpdate(root: string): Promise<void> {
  const repomdPath = join(root, 'repodata', 'repomd.xml');
  let repomd = await readFile(repomdPath, 'utf8');
  for (const type of ['primary', 'filelists', 'other']) {
    const block = dataBlock(repomd, type);
    const href = block && /<location href="([^"]+)"/.exec(block)?.[1];
    if (!block || !href?.endsWith('.zst')) continue;
    const zst = join(root, href);
    const gz = join(root, 'repodata', `${type}.xml.gz`);
    await run('sh', ['-c', `zstd -q -d -c "$0" | gzip -n > "$1"`, zst, gz]);
    await rm(zst);
    const checksum = await sha256File(gz);
    const name = `${checksum}-${type}.xml.gz`;
    await rename(gz, join(root, 'repodata', name));
    const updated = block
      .replace(/<checksum type="sha256">[0-9a-f]+<\/checksum>/, `<checksum type="sha256">${checksum}</checksum>`)
      .replace(/<location href="[^"]+"/, `<location href="repodata/${name}"`)
      .replace(/<size>\d+<\/size>/, `<size>${(await stat(join(root, 'repodata', name))).size}</size>`);
    repomd = repomd.replace(block, updated);
  }
  await writeFile(repomdPath, repomd);
}
