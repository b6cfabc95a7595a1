/**
 * An upstream APT repository for import tests, built the way a Debian archive is: packages from
 * `dpkg-deb --build` under pool/, `apt-ftparchive packages` and `apt-ftparchive release` for the
 * indexes, `gpg --clearsign` for InRelease and `gpg --detach-sign` for Release.gpg, served by a
 * small node:http static server on 127.0.0.1 that logs every request (so tests can count
 * downloads) and lets a test replace the answer for one path (endless or broken bodies).
 *
 *   const upstream = await startUpstreamApt({ packages: [{ name: 'hello', version: '1.0' }] });
 *   // upstream.url, upstream.suite, upstream.publicKey; add() then publish() for a new version
 *   await upstream.close();
 */

import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, createReadStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join, normalize, sep } from 'node:path';
import { type DebSpec, dpkgDebBuild } from './debs.ts';
import { createPackagerKey, type PackagerKey, publicKey } from './gpg.ts';
import { run } from './run.ts';

export type IndexCompression = 'xz' | 'gz' | 'plain';

export interface UpstreamAptOptions {
  /** The directory under dists/ and the Release's Suite. Default "stable". */
  suite?: string;
  /** Default: the suite. */
  codename?: string;
  /** Default ["main"]. */
  components?: string[];
  /** Default ["amd64"]. */
  architectures?: string[];
  /** Which Packages files to write (and list in Release). Default all three. */
  compressions?: IndexCompression[];
  /** Which signatures to write. Default both. */
  inRelease?: boolean;
  releaseGpg?: boolean;
  /** Also publish indexes under by-hash/SHA256/ and say `Acquire-By-Hash: yes`. */
  byHash?: boolean;
  /** Reuse a key (making one takes a second or two). */
  key?: PackagerKey;
  /** Initial packages of the first component. */
  packages?: DebSpec[];
  /** Extra Release fields, e.g. [['Valid-Until', 'Sat, 01 Jan 2000 00:00:00 UTC']]. */
  releaseFields?: Array<[string, string]>;
}

/** Answers instead of the file for one path. */
export type RequestOverride = (req: IncomingMessage, res: ServerResponse) => void;

export interface StaticServer {
  url: string;
  /** Request paths in arrival order ("/dists/stable/InRelease"). */
  requests: string[];
  override(path: string, handler: RequestOverride | null): void;
  close(): Promise<void>;
}

export interface UpstreamApt extends StaticServer {
  dir: string;
  suite: string;
  key: PackagerKey;
  /** The armored public key that signs this upstream's Release. */
  publicKey: string;
  /** Builds packages into pool/<component>/ (published by the next publish()). */
  add(specs: DebSpec[], component?: string): string[];
  /** Writes the indexes, the Release and its signatures again from what pool/ holds. */
  publish(): Promise<void>;
  /** dists/<suite>/<path> on disk. */
  distPath(path: string): string;
}

/** Serves `dir` read-only on 127.0.0.1 with a request log. */
export async function serveDirectory(dir: string): Promise<StaticServer> {
  const requests: string[] = [];
  const overrides = new Map<string, RequestOverride>();
  const root = normalize(dir + sep);
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    requests.push(path);
    const override = overrides.get(path);
    if (override) return override(req, res);
    const file = normalize(join(root, path));
    if (!file.startsWith(root) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    res.writeHead(200, { 'content-length': String(statSync(file).size), 'content-type': 'application/octet-stream' });
    if (req.method === 'HEAD') return res.end();
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    override: (path, handler) => (handler ? overrides.set(path, handler) : overrides.delete(path)),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export async function startUpstreamApt(options: UpstreamAptOptions = {}): Promise<UpstreamApt> {
  const suite = options.suite ?? 'stable';
  const codename = options.codename ?? suite;
  const components = options.components ?? ['main'];
  const architectures = options.architectures ?? ['amd64'];
  const compressions = options.compressions ?? ['xz', 'gz', 'plain'];
  const ownKey = options.key === undefined;
  const key = options.key ?? (await createPackagerKey('repod test upstream archive'));
  const armoredKey = await publicKey(key);
  const dir = mkdtempSync(join(tmpdir(), 'repod-upstream-apt-'));
  const distDir = join(dir, 'dists', suite);
  const server = await serveDirectory(dir);

  const add = (specs: DebSpec[], component = components[0]!) => specs.map((spec) => dpkgDebBuild(spec, join(dir, 'pool', component), { compression: 'gzip' }));

  const publish = async () => {
    for (const name of ['Release', 'InRelease', 'Release.gpg']) rmSync(join(distDir, name), { force: true });
    for (const component of components) {
      mkdirSync(join(dir, 'pool', component), { recursive: true });
      for (const arch of architectures) {
        const binDir = join(distDir, component, `binary-${arch}`);
        rmSync(binDir, { recursive: true, force: true });
        mkdirSync(binDir, { recursive: true });
        const packages = await stdoutOf('apt-ftparchive', ['--arch', arch, 'packages', `pool/${component}`], dir);
        const plain = join(binDir, 'Packages');
        writeFileSync(plain, packages);
        if (compressions.includes('xz')) await run('xz', ['-k', '-f', '-6', plain], { timeoutMs: 60_000 });
        if (compressions.includes('gz')) await run('gzip', ['-k', '-f', '-n', '-9', plain], { timeoutMs: 60_000 });
        if (!compressions.includes('plain')) rmSync(plain);
        if (options.byHash) {
          const byHash = join(binDir, 'by-hash', 'SHA256');
          mkdirSync(byHash, { recursive: true });
          for (const name of ['Packages', 'Packages.xz', 'Packages.gz']) {
            if (existsSync(join(binDir, name)))
              copyFileSync(
                join(binDir, name),
                join(
                  byHash,
                  createHash('sha256')
                    .update(readFileSync(join(binDir, name)))
                    .digest('hex'),
                ),
              );
          }
        }
      }
    }
    const conf = (name: string, value: string) => ['-o', `APT::FTPArchive::Release::${name}=${value}`];
    const release = await stdoutOf(
      'apt-ftparchive',
      [
        ...conf('Origin', 'repod-test'),
        ...conf('Label', 'repod test upstream'),
        ...conf('Suite', suite),
        ...conf('Codename', codename),
        ...conf('Architectures', architectures.join(' ')),
        ...conf('Components', components.join(' ')),
        'release',
        `dists/${suite}`,
      ],
      dir,
    );
    // apt-ftparchive has no option for these two; they go before the checksum lists, as in Debian's.
    const extra: Array<[string, string]> = [...(options.byHash ? ([['Acquire-By-Hash', 'yes']] as Array<[string, string]>) : []), ...(options.releaseFields ?? [])];
    const text = release.replace(/^(MD5Sum:)/m, `${extra.map(([n, v]) => `${n}: ${v}\n`).join('')}$1`);
    writeFileSync(join(distDir, 'Release'), text);
    const gpg = ['--homedir', key.home, '--batch', '--yes', '--local-user', key.name];
    if (options.inRelease ?? true) await run('gpg', [...gpg, '--clearsign', '-o', join(distDir, 'InRelease'), join(distDir, 'Release')], { timeoutMs: 60_000 });
    if (options.releaseGpg ?? true) await run('gpg', [...gpg, '--armor', '--detach-sign', '-o', join(distDir, 'Release.gpg'), join(distDir, 'Release')], { timeoutMs: 60_000 });
  };

  try {
    if (options.packages?.length) add(options.packages);
    await publish();
  } catch (error) {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    ...server,
    dir,
    suite,
    key,
    publicKey: armoredKey,
    add,
    publish,
    distPath: (path) => join(distDir, path),
    close: async () => {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
      if (ownKey) await removeKey(key);
    },
  };
}

/** Stops the key's gpg-agent and removes its home. */
export async function removeKey(key: PackagerKey): Promise<void> {
  await run('gpgconf', ['--homedir', key.home, '--kill', 'all'], { timeoutMs: 10_000 }).catch(() => undefined);
  rmSync(key.home, { recursive: true, force: true });
}

/** A command's standard output alone (apt-ftparchive warns on stderr), with a timeout. */
function stdoutOf(cmd: string, args: string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { cwd, timeout: 60_000, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${cmd} ${args.join(' ')} failed: ${stderr}`));
      else resolve(stdout);
    });
  });
}
