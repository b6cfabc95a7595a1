import type { RenderedFile } from '../bucket/render-manifest.ts';
import type { Revision } from '../bucket/revision.ts';
import type { Capabilities } from '../capabilities.ts';
import type { AptDistribution, Distribution, Distributions, RpmDistribution } from '../config/distributions.ts';
import { RepodError } from '../errors.ts';
import { rpmHref } from '../ingest/rpm-entry.ts';
import { SOURCE_ARCH, storedSourceFiles } from '../ingest/source-entry.ts';
import { aptManifest } from '../render/apt-files.ts';
import type { Renderer } from '../render/render-cache.ts';
import { type ExtraRecordsFactory, rpmManifest, rpmViewArches } from '../render/rpm-files.ts';
import { chunkDecisions, hasDebugRepo, type RpmRepoKind, rpmViewSelection } from '../render/rpm-view-selection.ts';
import type { Repository } from '../revisions/repository.ts';
import type { Keyring } from '../signing/keyring.ts';

/**
 * What one revision of a distribution is as a static tree, every path relative to the revision's
 * folder (`<dist>/<number>/`). It is made from the same renders the server answers with
 * (rpmManifest, aptManifest: cached in the store, so the bytes are the server's own), never
 * rendered again here.
 *
 *   RPM: <arch>/repodata/{<sha256>-primary.xml.gz, ..., repomd.xml, repomd.xml.asc, repomd.xml.key}
 *        <arch>/Packages/<file>.rpm          (the plain variant, for every arch, noarch and src)
 *        <arch>/debug/{repodata,Packages}/   (the debuginfo repository of a binary arch)
 *   APT: dists/<codename>/{InRelease, Release, Release.gpg, <component>/binary-<arch>/Packages*,
 *        <component>/Contents-<arch>.gz, .../by-hash/SHA256/<sha256>}
 *        pool/<component>/<prefix>/<source>/<file>.deb
 *   Both: gpg.key, the public key clients import (the one /repos/gpg.key serves).
 */
export interface ExportCore {
  caps: Capabilities;
  distributions: Distributions;
  keyring: Keyring;
  renderer: Renderer;
  repository: Repository;
  /** The sqlite databases of RPM views, where the runtime builds them. */
  extraRecords?: ExtraRecordsFactory;
}

/** A rendered metadata file: streamed from the store's chunks, checked against its sha256 while written. */
export interface PlannedFile {
  path: string;
  file: RenderedFile;
}

/** A package of the revision, from the pool by its sha256. */
export interface PlannedPackage {
  path: string;
  sha256: string;
  label: string;
}

/** A small text file of the render. Entry points are written last, in the order listed. */
export interface PlannedDocument {
  path: string;
  text: string;
  entryPoint: boolean;
}

export interface ExportPlan {
  kind: Revision['kind'];
  files: PlannedFile[];
  /** APT by-hash names: `path` holds the same bytes as the planned file `of`. */
  byHash: Array<{ path: string; of: string }>;
  packages: PlannedPackage[];
  documents: PlannedDocument[];
}

export async function exportPlan(core: ExportCore, dist: Distribution, revision: Revision): Promise<ExportPlan> {
  const signer = await core.keyring.signer(dist);
  const plan = dist.kind === 'rpm' ? await rpmPlan(core, dist, revision) : await aptPlan(core, dist, revision);
  plan.documents.unshift({ path: 'gpg.key', text: signer.publicKeyArmored, entryPoint: false });
  return plan;
}

/** Every entry of a revision, chunk by chunk (one chunk in memory at a time). */
async function* entries(core: ExportCore, revision: Revision) {
  for (const ref of revision.chunks) yield* (await core.repository.chunkIndex(ref.id)).entries;
}

// dnf fetches repomd.xml then its signature: the signature goes first, so a client reading the
// folder while it is written never finds a repomd.xml without the .asc that signs it.
const RPM_ENTRY_POINTS = ['repodata/repomd.xml.asc', 'repodata/repomd.xml'];

async function rpmPlan(core: ExportCore, dist: RpmDistribution, revision: Revision): Promise<ExportPlan> {
  const plan: ExportPlan = { kind: 'rpm', files: [], byHash: [], packages: [], documents: [] };
  const entryPoints: PlannedDocument[] = [];
  for (const arch of rpmViewArches(dist)) {
    // Each arch repository, and its debuginfo repository (<arch>/debug/) where it has one.
    const repos: RpmRepoKind[] = hasDebugRepo(dist, arch) ? ['main', 'debug'] : ['main'];
    for (const repo of repos) {
      const dir = repo === 'main' ? arch : `${arch}/debug`;
      const manifest = await rpmManifest(core, dist, revision, arch, 'plain', repo);
      for (const file of manifest.files) plan.files.push({ path: `${dir}/${file.path}`, file });
      for (const [name, text] of Object.entries(manifest.documents)) {
        if (!RPM_ENTRY_POINTS.includes(name)) plan.documents.push({ path: `${dir}/${name}`, text, entryPoint: false });
      }
      for (const name of RPM_ENTRY_POINTS) {
        const text = manifest.documents[name];
        if (text !== undefined) entryPoints.push({ path: `${dir}/${name}`, text, entryPoint: true });
      }
      // The packages that repository's primary lists (debuginfo split, multilib compat packages).
      const selection = rpmViewSelection(dist, arch, repo);
      for (const ref of revision.chunks) {
        const index = await core.repository.chunkIndex(ref.id);
        const decided = await chunkDecisions(selection, index, () => core.repository.chunkBytes(ref.id), core.caps.gunzip);
        index.entries.forEach((e, i) => {
          if (decided ? decided[i] : selection.arches.has(e.arch)) plan.packages.push({ path: `${dir}/${rpmHref(e.file, 'plain')}`, sha256: e.id, label: e.label });
        });
      }
    }
  }
  plan.documents.push(...entryPoints);
  return plan;
}

// apt reads InRelease, or else Release with Release.gpg: written so that whichever one a client
// finds is complete (the detached signature before the file it signs, InRelease last).
const APT_ENTRY_POINTS = ['Release.gpg', 'Release', 'InRelease'];

async function aptPlan(core: ExportCore, dist: AptDistribution, revision: Revision): Promise<ExportPlan> {
  const plan: ExportPlan = { kind: 'apt', files: [], byHash: [], packages: [], documents: [] };
  const base = `dists/${dist.name}/`;
  const manifest = await aptManifest(core, dist, revision);
  for (const file of manifest.files) {
    const path = `${base}${file.path}`;
    plan.files.push({ path, file });
    const sha256 = file.checksums.sha256;
    if (sha256) plan.byHash.push({ path: `${path.slice(0, path.lastIndexOf('/') + 1)}by-hash/SHA256/${sha256}`, of: path });
  }
  for (const [name, text] of Object.entries(manifest.documents)) {
    if (!APT_ENTRY_POINTS.includes(name)) plan.documents.push({ path: `${base}${name}`, text, entryPoint: false });
  }
  for (const name of APT_ENTRY_POINTS) {
    const text = manifest.documents[name];
    if (text !== undefined) plan.documents.push({ path: `${base}${name}`, text, entryPoint: true });
  }
  for await (const e of entries(core, revision)) {
    plan.packages.push({ path: e.file.startsWith('pool/') ? e.file : `pool/${e.file}`, sha256: e.id, label: e.label });
    // A source package serves its tarballs and diffs beside its .dsc.
    if (e.arch !== SOURCE_ARCH || e.component === undefined) continue;
    const files = await storedSourceFiles(core.caps.store, e.id, e.component);
    if (!files) throw new RepodError('corrupt_object', `the fragment of the source package ${e.label} is missing`, { status: 500 });
    for (const f of files.slice(1)) plan.packages.push({ path: f.path, sha256: f.sha256, label: `${e.label} ${f.path.slice(f.path.lastIndexOf('/') + 1)}` });
  }
  return plan;
}
