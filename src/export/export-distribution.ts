import { layout } from '../bucket/layout.ts';
import type { Revision } from '../bucket/revision.ts';
import type { Distribution } from '../config/distributions.ts';
import { NotFoundError, RepodError } from '../errors.ts';
import { mapLimit } from '../revisions/gc-mark.ts';
import { resolveRevision, resolveTag } from '../revisions/resolve-revision.ts';
import { readAllBytes } from '../storage/objects.ts';
import { utf8 } from '../util/bytes.ts';
import { contentAddressed } from './content-addressed.ts';
import { type ExportCore, exportPlan } from './export-plan.ts';
import type { ExportTarget, LatestSwitch } from './export-target.ts';
import { digestStream, verifiedStream } from './verified-stream.ts';
import { verifyExport } from './verify-export.ts';

/**
 * `repod export`: one revision of a distribution as a static tree any web server or CDN serves
 * as it is (Koji's repos-dist layout):
 *
 *   <dist>/<number>/...     the revision (see export-plan.ts for the shape of each kind)
 *   <dist>/latest           stands for the newest exported revision; moved last (a symlink in a
 *                           directory, a tree of copies in a bucket: store-target.ts)
 *   <dist>/.repod/<n>.json  what the export of revision n wrote (paths, sizes, sha256)
 *
 * Order: metadata files and packages, then the small documents, then the entry points
 * (repomd.xml, InRelease...), then a check of everything the entry points name read back from
 * the target, then the record, then `latest`. A run stopped anywhere (kill -9) leaves `latest`
 * on the previous complete tree, and the next run picks up what is already there: a file of the
 * right size (and sha256, where its name does not already say it) is not written again.
 *
 * Packages already exported in the revision `latest` stood for are linked, not copied (a hard
 * link in a directory): a new export of a big distribution after a small publish sends only what
 * changed. And so a client that read an entry point through `latest` just before it moved still
 * finds the files it names, the new tree also holds the previous tree's content-addressed files
 * (repodata/<sha256>-*, by-hash/, packages) that it does not list itself: the same promise the
 * server keeps with its by-hash pointers (DESIGN.md invariant 3), for one export back.
 * One window remains that a static tree cannot close: dnf reads repomd.xml and then, in a second
 * request, repomd.xml.asc; if `latest` moves between the two, the signature is the new tree's and
 * dnf refuses it until its next refresh (the server avoids this by remembering which repomd.xml it
 * gave each client). apt reads one clear-signed InRelease and is not exposed.
 */
export interface ExportOptions {
  dist: string;
  /** A revision number or id; the current revision when neither this nor `tag` is given. */
  revision?: string;
  tag?: string;
  /** Files written at a time (default 4). */
  concurrency?: number;
}

export interface ExportReport {
  distribution: string;
  kind: Revision['kind'];
  revision: { id: string; number: number };
  target: string;
  /** The revision's folder in the target, e.g. "rocky9/42/". */
  root: string;
  files: { written: number; unchanged: number };
  packages: { copied: number; linked: number; unchanged: number; bytesCopied: number };
  /** Files of the previous export kept in the new tree for clients in the middle of reading it. */
  keptFromPrevious: number;
  /** Files checked after the entry points were written. */
  verified: number;
  latest: { from: string | null; to: string | null; switched: boolean; files?: LatestSwitch };
}

/** What one export wrote: the files of the revision itself, not those kept from the previous one. */
export interface ExportRecord {
  format: 1;
  distribution: string;
  kind: Revision['kind'];
  revision: string;
  number: number;
  exported: string;
  files: Array<{ path: string; size: number; sha256: string }>;
}

export const exportRecordPath = (dist: string, revisionDir: string) => `${dist}/.repod/${revisionDir}.json`;

async function pickRevision(core: ExportCore, dist: Distribution, options: ExportOptions): Promise<Revision> {
  if (options.revision !== undefined && options.tag !== undefined) throw new RepodError('invalid_request', 'give a revision or a tag, not both');
  if (options.tag !== undefined) return resolveTag(core, dist.name, options.tag);
  if (options.revision !== undefined) return resolveRevision(core, dist.name, options.revision);
  const revision = await core.repository.current(dist.name);
  if (!revision) throw new NotFoundError(`distribution ${dist.name} has no published revision yet: nothing to export`, 'unknown_revision');
  return revision;
}

async function readRecord(target: ExportTarget, dist: string, revisionDir: string): Promise<ExportRecord | null> {
  const body = await target.read(exportRecordPath(dist, revisionDir));
  if (!body) return null;
  try {
    const record = JSON.parse(new TextDecoder().decode(await readAllBytes(body))) as ExportRecord;
    return record.format === 1 && Array.isArray(record.files) ? record : null;
  } catch {
    return null; // a record this version cannot read: export as if there were none
  }
}

export async function exportDistribution(core: ExportCore, target: ExportTarget, options: ExportOptions): Promise<ExportReport> {
  const { caps } = core;
  const dist = core.distributions.get(options.dist);
  if (!dist) {
    const known = core.distributions
      .all()
      .map((d) => d.name)
      .join(', ');
    throw new NotFoundError(`no distribution ${JSON.stringify(options.dist)} (configured: ${known})`, 'unknown_distribution');
  }
  const revision = await pickRevision(core, dist, options);
  await target.checkWritable();
  const plan = await exportPlan(core, dist, revision);
  const concurrency = options.concurrency ?? 4;
  const dir = String(revision.number);
  const root = `${dist.name}/${dir}/`;
  const latestDir = await target.latest(dist.name);
  const latestNumber = latestDir !== null && /^\d+$/.test(latestDir) ? Number(latestDir) : -1;
  const willSwitch = latestDir !== dir && revision.number >= latestNumber;
  const previous = latestDir !== null && latestDir !== dir ? await readRecord(target, dist.name, latestDir) : null;
  const previousRoot = `${dist.name}/${latestDir}/`;
  const previousBySha = new Map((previous?.files ?? []).filter((f) => contentAddressed(f.path)).map((f) => [f.sha256, f]));

  const report: ExportReport = {
    distribution: dist.name,
    kind: revision.kind,
    revision: { id: revision.id, number: revision.number },
    target: target.name,
    root,
    files: { written: 0, unchanged: 0 },
    packages: { copied: 0, linked: 0, unchanged: 0, bytesCopied: 0 },
    keptFromPrevious: 0,
    verified: 0,
    latest: { from: latestDir, to: willSwitch ? dir : latestDir, switched: false },
  };
  const own = new Map<string, { path: string; size: number; sha256: string }>();

  // Rendered metadata: streamed from the store's chunks, checked against the render's sha256.
  await mapLimit(plan.files, concurrency, async ({ path, file }) => {
    const sha256 = file.checksums.sha256!;
    own.set(path, { path, size: file.size, sha256 });
    const at = root + path;
    if ((await target.size(at)) === file.size && (contentAddressed(path) || (await digestStream(caps, (await target.read(at))!)).sha256 === sha256)) {
      report.files.unchanged++;
      return;
    }
    await target.write(at, verifiedStream(caps, core.renderer.stream(file), { sha256, size: file.size, what: `${dist.name} revision ${revision.number}: ${path}` }));
    report.files.written++;
  });
  for (const link of plan.byHash) {
    const of = own.get(link.of)!;
    own.set(link.path, { ...of, path: link.path });
    if ((await target.size(root + link.path)) === of.size) continue;
    await target.link(root + link.of, root + link.path);
  }

  // Packages: one copy per sha256 at most, from the previous export when it has it, else from the pool.
  const bySha = new Map<string, string[]>();
  for (const p of plan.packages) {
    if (own.has(p.path)) continue;
    own.set(p.path, { path: p.path, size: -1, sha256: p.sha256 });
    const paths = bySha.get(p.sha256);
    if (paths) paths.push(p.path);
    else bySha.set(p.sha256, [p.path]);
  }
  let storeSizes: Map<string, number> | null = null;
  const storeSize = async (sha256: string): Promise<number> => {
    storeSizes ??= new Map();
    let size = storeSizes.get(sha256);
    if (size === undefined) {
      const info = await caps.store.head(layout.pool(sha256));
      if (!info) throw new RepodError('missing_object', `package ${sha256} of ${dist.name} revision ${revision.number} is missing from the store`, { status: 500 });
      size = info.size;
      storeSizes.set(sha256, size);
    }
    return size;
  };
  await mapLimit(bySha.entries(), concurrency, async ([sha256, paths]) => {
    const [first, ...others] = paths;
    const before = previousBySha.get(sha256);
    const existing = await target.size(root + first);
    let size: number;
    if (existing !== null && existing === (before?.size ?? (await storeSize(sha256)))) {
      size = existing;
      report.packages.unchanged++;
    } else if (before && (await target.size(previousRoot + before.path)) === before.size) {
      await target.link(previousRoot + before.path, root + first);
      size = before.size;
      report.packages.linked++;
    } else {
      const object = await caps.store.get(layout.pool(sha256));
      if (!object) throw new RepodError('missing_object', `package ${first} (${sha256}) is missing from the store`, { status: 500 });
      await target.write(root + first, verifiedStream(caps, object.body, { sha256, size: object.size, what: `${dist.name} revision ${revision.number}: ${first}` }));
      size = object.size;
      report.packages.copied++;
      report.packages.bytesCopied += size;
    }
    own.set(first, { path: first, size, sha256 });
    for (const path of others) {
      own.set(path, { path, size, sha256 });
      if ((await target.size(root + path)) === size) report.packages.unchanged++;
      else {
        await target.link(root + first, root + path);
        report.packages.linked++;
      }
    }
  });

  if (willSwitch && previous) {
    const keep = previous.files.filter((f) => contentAddressed(f.path) && !own.has(f.path));
    await mapLimit(keep, concurrency, async (f) => {
      if ((await target.size(root + f.path)) === f.size) return;
      if ((await target.size(previousRoot + f.path)) !== f.size) return; // gone from the old tree: nothing to keep
      await target.link(previousRoot + f.path, root + f.path);
      report.keptFromPrevious++;
    });
  }

  // The small documents, then the entry points, in the plan's order.
  for (const doc of plan.documents) {
    const bytes = utf8(doc.text);
    const hasher = caps.hash('sha256');
    hasher.update(bytes);
    own.set(doc.path, { path: doc.path, size: bytes.length, sha256: await hasher.digest() });
    await target.write(root + doc.path, bytes);
    report.files.written++;
  }

  report.verified = await verifyExport(
    caps,
    target,
    root,
    plan.documents.filter((d) => d.entryPoint).map((d) => d.path),
    plan.packages.map((p) => ({ path: p.path, size: own.get(p.path)!.size })),
  );

  const record: ExportRecord = {
    format: 1,
    distribution: dist.name,
    kind: revision.kind,
    revision: revision.id,
    number: revision.number,
    exported: caps.now().toISOString(),
    files: [...own.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)),
  };
  await target.write(exportRecordPath(dist.name, dir), utf8(`${JSON.stringify(record, null, 1)}\n`));
  // Another export (another server's automatic one) may have moved latest to a newer revision
  // meanwhile: latest never goes back. (Not a lock: two switches at the same moment still race.)
  const latestNow = willSwitch ? await target.latest(dist.name) : null;
  if (willSwitch && latestNow !== null && latestNow !== latestDir && /^\d+$/.test(latestNow) && Number(latestNow) > revision.number) {
    report.latest.to = latestNow;
  } else if (willSwitch) {
    const files = await target.switchLatest(dist.name, dir);
    report.latest.switched = true;
    if (files) report.latest.files = files;
  }
  return report;
}
