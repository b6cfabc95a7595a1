import { readFile, stat } from 'node:fs/promises';
import { layout } from '../../bucket/layout.ts';
import { readStoredDistributions } from '../../core/distribution-store.ts';
import { RepodError } from '../../errors.ts';
import { type ExportReport, exportDistribution } from '../../export/export-distribution.ts';
import type { ExportCore } from '../../export/export-plan.ts';
import { DEFAULT_STORAGE, openStore, parseStoreSpec } from '../../storage/open-store.ts';
import { type Command, positionalCount, str, UsageError } from '../command.ts';
import { LocalError } from '../http-client.ts';
import { formatBytes, plural } from '../output.ts';
import { locationEnv, S3_LOCATION_OPTIONS } from './scan.ts';

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
  const parsed = parseStoreSpec(spec, env);
  if (parsed.driver === 'file') {
    const s = await stat(parsed.root).catch(() => null);
    if (!s?.isDirectory()) throw new LocalError(`no store at ${spec}: ${parsed.root} is not a directory`);
  }
  const store = await openStore(spec, env);
  // Distributions live in the store (created through the API too), seeded from REPOD_DISTRIBUTIONS.
  const distributions = await readStoredDistributions({ store }, distributionsJson);
  if (!distributions.get(dist)) {
    throw new LocalError(
      `no distribution ${JSON.stringify(dist)} (configured: ${distributions
        .all()
        .map((d) => d.name)
        .join(', ')}; more come from REPOD_DISTRIBUTIONS or the API)`,
    );
  }
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
  const copies = r.latest.files ? ` (${r.latest.files.copied} copied, ${r.latest.files.unchanged} unchanged, ${r.latest.files.deleted} old removed)` : '';
  out.line(r.latest.switched ? `  latest: ${r.latest.from ?? '(none)'} -> ${r.latest.to}${copies}` : `  latest: stays at ${r.latest.from}`);
}

export const exportCommand: Command = {
  name: 'export',
  summary: 'write a distribution as a static, signed tree any web server serves',
  usage: ['repod export <dist> [--revision <n> | --tag <name>] --to <dir | s3://bucket/prefix> [--storage <spec>] [--s3-public-read] [--s3-endpoint <url> ...]'],
  description:
    'Reads the distribution from the store directly (no server needed) and writes <dir>/<dist>/<revision number>/ with the metadata the server serves for that revision ' +
    '(RPM: <arch>/repodata and <arch>/Packages; APT: dists/ with by-hash and pool/), signed with the same key, then moves <dir>/<dist>/latest to it in one step. ' +
    'Entry points (repomd.xml, InRelease, Release) are written last and checked against what they name. Packages the previous export holds are linked, not copied. ' +
    'In a bucket (s3://bucket/prefix, the --s3-* flags or the standard AWS variables) packages are copied server-side, and latest/ is a tree of server-side copies ' +
    'moved file by file (entry points last) with <dist>/.repod/latest.json naming its revision. ' +
    'Point dnf at .../<dist>/latest/<arch>/ and apt at "deb [signed-by=...] .../<dist>/latest <codename> main"; the public key is .../gpg.key.',
  options: {
    to: { type: 'string', arg: 'dir|s3://bucket/prefix', help: 'directory (created if missing) or bucket prefix to write the tree into' },
    revision: { type: 'string', short: 'r', arg: 'n', help: 'revision number or id (default: the current revision)' },
    tag: { type: 'string', arg: 'name', help: 'the revision a tag points at' },
    storage: { type: 'string', arg: 'spec', help: `the store (file:DIR, s3://bucket/prefix; env REPOD_STORAGE; default ${DEFAULT_STORAGE})` },
    's3-public-read': { type: 'boolean', help: 'S3 target: make everything written publicly readable' },
    ...S3_LOCATION_OPTIONS,
  },
  examples: [
    'repod export rocky9 --to /srv/www/repos --storage file:/var/lib/repod',
    'repod export bookworm --tag release-1 --to /srv/www/repos',
    'repod export rocky9 --to s3://cdn-origin/repos --s3-endpoint https://s3.example.net --s3-public-read',
  ],
  api: [],

  async run(ctx) {
    positionalCount(ctx, 'export', 1, 1, 'distribution');
    const [dist] = ctx.positionals;
    const to = str(ctx.values, 'to');
    if (!to) throw new UsageError('--to is required', 'export');
    const revision = str(ctx.values, 'revision');
    const tag = str(ctx.values, 'tag');
    if (revision !== undefined && tag !== undefined) throw new UsageError('give --revision or --tag, not both', 'export');
    let report: ExportReport;
    try {
      const core = await openStoreCore(ctx.io.env, str(ctx.values, 'storage'), dist);
      // The flags name the target's S3 server; the store's own comes from REPOD_STORAGE's environment.
      const { openExportTarget } = await import('../../runtime/node-export-target.ts');
      const target = await openExportTarget(to, locationEnv(ctx.values, ctx.io.env), { publicRead: ctx.values['s3-public-read'] === true });
      report = await exportDistribution(core, target, { dist, revision, tag });
    } catch (error) {
      if (error instanceof RepodError) throw new LocalError(`${error.message} (${error.code})`, { cause: error });
      throw error;
    }
    if (ctx.out.json) return ctx.out.document(report);
    printExport(ctx.out, report);
  },
};
