/**
 * Node's export targets: a local directory (node:fs), and S3 through the store driver. The
 * directory target lives here, not in export/, because it needs node:fs; the core gets the
 * factory through CoreConfig (automatic re-export) and the CLI calls it directly.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { access, constants, copyFile, link, mkdir, readlink, rename, stat, symlink, unlink, writeFile } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { RepodError } from '../errors.ts';
import type { ExportTarget, ExportTargetFactory, ExportTargetOptions, LatestSwitch } from '../export/export-target.ts';
import { StoreTarget } from '../export/store-target.ts';
import { openStore } from '../storage/open-store.ts';

const isMissing = (error: unknown) => (error as NodeJS.ErrnoException)?.code === 'ENOENT';

/**
 * An export target on a local directory. Files are written to a temporary name beside their
 * final one and renamed (readers never see part of a file); `latest` is a relative symlink
 * switched by renaming a new symlink over it (rename(2) replaces it in one step), so nginx
 * serving the directory follows either the old or the new tree, never a mix. Packages shared
 * with an earlier export are hard links (falling back to a copy where links cannot be made).
 */
export class DirectoryTarget implements ExportTarget {
  readonly name: string;
  private readonly root: string;

  constructor(dir: string) {
    this.root = resolve(dir);
    this.name = this.root;
  }

  private pathOf(path: string): string {
    const full = resolve(this.root, path);
    if (path.startsWith('/') || path.split('/').includes('..') || !full.startsWith(this.root + sep))
      throw new RepodError('invalid_path', `refusing to write outside ${this.root}: ${path}`);
    return full;
  }

  private temp(full: string): string {
    return join(dirname(full), `.${full.slice(dirname(full).length + 1)}.tmp-${randomBytes(6).toString('hex')}`);
  }

  async checkWritable(): Promise<void> {
    const probe = join(this.root, `.repod-write-probe-${randomBytes(6).toString('hex')}`);
    try {
      await mkdir(this.root, { recursive: true });
      await access(this.root, constants.W_OK);
      await writeFile(probe, '');
      await unlink(probe);
    } catch (cause) {
      throw new RepodError('target_not_writable', `cannot write to the export directory ${this.root}: ${(cause as Error).message}`, { status: 400, cause });
    }
  }

  async size(path: string): Promise<number | null> {
    try {
      const s = await stat(this.pathOf(path));
      return s.isFile() ? s.size : null;
    } catch (error) {
      if (isMissing(error) || (error as NodeJS.ErrnoException).code === 'ENOTDIR') return null;
      throw error;
    }
  }

  async read(path: string): Promise<ReadableStream<Uint8Array> | null> {
    const full = this.pathOf(path);
    if ((await this.size(path)) === null) return null;
    return Readable.toWeb(createReadStream(full)) as ReadableStream<Uint8Array>;
  }

  async write(path: string, body: Uint8Array | ReadableStream<Uint8Array>): Promise<void> {
    const full = this.pathOf(path);
    await mkdir(dirname(full), { recursive: true });
    const temp = this.temp(full);
    try {
      const source = body instanceof Uint8Array ? Readable.from([body]) : Readable.fromWeb(body as import('node:stream/web').ReadableStream<Uint8Array>);
      await pipeline(source, createWriteStream(temp, { mode: 0o644 }) as Writable);
      await rename(temp, full);
    } catch (error) {
      await unlink(temp).catch(() => undefined);
      throw error;
    }
  }

  async link(from: string, to: string): Promise<void> {
    const source = this.pathOf(from);
    const full = this.pathOf(to);
    await mkdir(dirname(full), { recursive: true });
    const temp = this.temp(full);
    try {
      try {
        await link(source, temp);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EMLINK') throw error;
        await copyFile(source, temp);
      }
      await rename(temp, full);
    } catch (error) {
      await unlink(temp).catch(() => undefined);
      throw error;
    }
  }

  async latest(dist: string): Promise<string | null> {
    try {
      const to = await readlink(this.pathOf(`${dist}/latest`));
      return to.replace(/\/+$/, '').split('/').pop() ?? null;
    } catch (error) {
      if (isMissing(error)) return null;
      if ((error as NodeJS.ErrnoException).code === 'EINVAL') {
        throw new RepodError('target_conflict', `${this.pathOf(`${dist}/latest`)} exists and is not a symlink: move it away first`, { status: 409 });
      }
      throw error;
    }
  }

  async switchLatest(dist: string, revisionDir: string): Promise<LatestSwitch | undefined> {
    const full = this.pathOf(`${dist}/latest`);
    const temp = this.temp(full);
    await symlink(revisionDir, temp);
    try {
      await rename(temp, full);
    } catch (error) {
      await unlink(temp).catch(() => undefined);
      throw error;
    }
    return undefined;
  }
}

/**
 * The target `to` names: `s3://bucket/prefix` (the store driver with `env`'s S3 settings, the
 * options' endpoint and region over them), else a directory (created when missing).
 */
export async function openExportTarget(to: string, env: Record<string, string | undefined>, options: ExportTargetOptions = {}): Promise<ExportTarget> {
  if (/^s3:\/\//.test(to)) {
    const name = to.replace(/\/+$/, '');
    const s3Env = { ...env };
    if (options.s3Endpoint) s3Env.REPOD_S3_ENDPOINT = options.s3Endpoint;
    if (options.s3Region) s3Env.AWS_REGION = options.s3Region;
    return new StoreTarget(name, await openStore(name, s3Env), options.publicRead ? { acl: 'public-read' } : {});
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(to)) throw new RepodError('invalid_target', `${to}: an export target is a directory or s3://bucket/prefix`);
  return new DirectoryTarget(to.startsWith('file:') ? to.slice('file:'.length) : to);
}

/** The factory the core opens automatic export targets with, over this process's environment. */
export function nodeExportTargets(env: Record<string, string | undefined>): ExportTargetFactory {
  return (to, options) => openExportTarget(to, env, options);
}
