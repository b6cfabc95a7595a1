import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { access, constants, copyFile, link, mkdir, readFile, readlink, rename, stat, symlink, unlink, writeFile } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { layout } from '../../bucket/layout.ts';
import { Distributions } from '../../config/distributions.ts';
import { RepodError } from '../../errors.ts';
import { type ExportReport, exportDistribution } from '../../export/export-distribution.ts';
import type { ExportCore } from '../../export/export-plan.ts';
import type { ExportTarget } from '../../export/export-target.ts';
import { DEFAULT_STORAGE, openStore, parseStoreSpec } from '../../storage/open-store.ts';
import { type Command, positionalCount, str, UsageError } from '../command.ts';
import { LocalError } from '../http-client.ts';
import { formatBytes, plural } from '../output.ts';

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

  async switchLatest(dist: string, revisionDir: string): Promise<void> {
    const full = this.pathOf(`${dist}/latest`);
    const temp = this.temp(full);
    await symlink(revisionDir, temp);
    try {
      await rename(temp, full);
    } catch (error) {
      await unlink(temp).catch(() => undefined);
      throw error;
    }
  }
}

/**
 * The services `repod export` (and `mkrepo` with the store's keyring) need, over the store the
 * server would use (--storage, else REPOD_STORAGE, else the server's default) and with the
 * server's settings (REPOD_DISTRIBUTIONS, REPOD_SIGNING_KEY, REPOD_KEY_PASSPHRASE...): the same
 * renders, signed with the same key, so the exported bytes are the ones the server serves.
 *
 * It refuses before opening anything for writing when the store holds no published revision of
 * `dist`: building the core on a mistyped location would otherwise seed a fresh store there.
 */
export async function openStoreCore(env: Record<string, string | undefined>, storage: string | undefined, dist: string): Promise<ExportCore> {
  const spec = storage ?? env.REPOD_STORAGE ?? DEFAULT_STORAGE;
  let distributionsJson: string | undefined;
  if (env.REPOD_DISTRIBUTIONS) {
    try {
      distributionsJson = await readFile(env.REPOD_DISTRIBUTIONS, 'utf8');
    } catch (cause) {
      throw new LocalError(`cannot read REPOD_DISTRIBUTIONS (${env.REPOD_DISTRIBUTIONS}): ${(cause as Error).message}`, { cause });
    }
  }
  const distributions = Distributions.fromJson(distributionsJson);
  if (!distributions.get(dist)) {
    throw new LocalError(
      `no distribution ${JSON.stringify(dist)} (configured: ${distributions
        .all()
        .map((d) => d.name)
        .join(', ')}; more come from REPOD_DISTRIBUTIONS)`,
    );
  }
  const parsed = parseStoreSpec(spec, env);
  if (parsed.driver === 'file') {
    const s = await stat(parsed.root).catch(() => null);
    if (!s?.isDirectory()) throw new LocalError(`no store at ${spec}: ${parsed.root} is not a directory`);
  }
  const store = await openStore(spec, env);
  if (!(await store.head(layout.ref(dist)))) throw new LocalError(`distribution ${dist} has no published revision in the store ${spec}: nothing to export`);
  const { REPOD_ADVISORIES: _advisories, ...rest } = env;
  // Loaded here, not at the top: every other command of the CLI talks HTTP and need not load the core.
  const { buildNodeCore } = await import('../../runtime/node-core.ts');
  const { core } = await buildNodeCore({ ...rest, REPOD_STORAGE: spec }, () => undefined);
  return core;
}

export function printExport(out: { line(text?: string): void }, r: ExportReport): void {
  const p = r.packages;
  out.line(`exported ${r.distribution} revision ${r.revision.number} (${r.revision.id}) to ${r.target}/${r.root}`);
  out.line(
    `  metadata: ${plural(r.files.written, 'file')} written, ${r.files.unchanged} unchanged; packages: ${p.copied} copied (${formatBytes(p.bytesCopied)}), ${p.linked} linked, ${p.unchanged} unchanged`,
  );
  if (r.keptFromPrevious) out.line(`  kept ${plural(r.keptFromPrevious, 'file')} of the previous export for clients reading it`);
  out.line(`  verified: ${plural(r.verified, 'file')} named by the entry points`);
  out.line(r.latest.switched ? `  latest: ${r.latest.from ?? '(none)'} -> ${r.latest.to}` : `  latest: stays at ${r.latest.from}`);
}

export const exportCommand: Command = {
  name: 'export',
  summary: 'write a distribution as a static, signed tree any web server serves',
  usage: ['repod export <dist> [--revision <n> | --tag <name>] --to <dir> [--storage <spec>]'],
  description:
    'Reads the distribution from the store directly (no server needed) and writes <dir>/<dist>/<revision number>/ with the metadata the server serves for that revision ' +
    '(RPM: <arch>/repodata and <arch>/Packages; APT: dists/ with by-hash and pool/), signed with the same key, then moves <dir>/<dist>/latest to it in one step. ' +
    'Entry points (repomd.xml, InRelease, Release) are written last and checked against what they name. Packages the previous export holds are linked, not copied. ' +
    'Point dnf at .../<dist>/latest/<arch>/ and apt at "deb [signed-by=...] .../<dist>/latest <codename> main"; the public key is .../gpg.key.',
  options: {
    to: { type: 'string', arg: 'dir', help: 'directory to write the tree into (created if missing)' },
    revision: { type: 'string', short: 'r', arg: 'n', help: 'revision number or id (default: the current revision)' },
    tag: { type: 'string', arg: 'name', help: 'the revision a tag points at' },
    storage: { type: 'string', arg: 'spec', help: `the store (file:DIR, s3://bucket/prefix; env REPOD_STORAGE; default ${DEFAULT_STORAGE})` },
  },
  examples: ['repod export rocky9 --to /srv/www/repos --storage file:/var/lib/repod', 'repod export bookworm --tag release-1 --to /srv/www/repos'],
  api: [],

  async run(ctx) {
    positionalCount(ctx, 'export', 1, 1, 'distribution');
    const [dist] = ctx.positionals;
    const to = str(ctx.values, 'to');
    if (!to) throw new UsageError('--to is required', 'export');
    if (/^s3:\/\//.test(to)) throw new LocalError('exporting to S3 is not supported yet: export to a directory (and sync it) instead');
    const revision = str(ctx.values, 'revision');
    const tag = str(ctx.values, 'tag');
    if (revision !== undefined && tag !== undefined) throw new UsageError('give --revision or --tag, not both', 'export');
    let report: ExportReport;
    try {
      const core = await openStoreCore(ctx.io.env, str(ctx.values, 'storage'), dist);
      report = await exportDistribution(core, new DirectoryTarget(to), { dist, revision, tag });
    } catch (error) {
      if (error instanceof RepodError) throw new LocalError(`${error.message} (${error.code})`, { cause: error });
      throw error;
    }
    if (ctx.out.json) return ctx.out.document(report);
    printExport(ctx.out, report);
  },
};
