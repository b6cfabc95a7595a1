/**
 * Distributions of synthetic RPMs, for the figures that need more packages than rpmbuild can make
 * in a bench run (100,000 real RPMs take most of an hour, about 25 ms each): a distribution is
 * filled the way a mirror sync fills one from an upstream index (src/mirror/mirror-sync.ts), a
 * package record per package, its index entry with the metadata segments rendered by rpmEntry, and
 * Repository.publish composing the chunks, and the chunks' dependency capabilities stored as the
 * sync stores them (DistributionProvides.prepare). There are no package bytes in the pool: rendering
 * metadata, the web UI and the dependency index read records and chunks only. Used by bench/ui.ts
 * and bench/scale.ts.
 */
import { createHash } from 'node:crypto';
import { layout } from '../../src/bucket/layout.ts';
import type { RpmPackageRecord } from '../../src/bucket/package-record.ts';
import type { RpmPackage } from '../../src/formats/rpm/model.ts';
import { putRecord } from '../../src/ingest/commit.ts';
import { RPM_STREAMS, rpmEntry, rpmFileName } from '../../src/ingest/rpm-entry.ts';
import { buildNodeCore } from '../../src/runtime/node-core.ts';
import { DistributionProvides } from '../../src/security/dependencies/distribution-provides.ts';
import { FileStore } from '../../src/storage/file.ts';
import { ADMIN_TOKEN } from './common.ts';

/** Package n of the synthetic set: a base name with -devel and -libs subpackages beside it, 10% noarch. */
export function syntheticPackage(n: number, release = '1.el9'): RpmPackage {
  const base = `p${String(Math.floor(n / 3)).padStart(6, '0')}`;
  const name = base + ['', '-devel', '-libs'][n % 3];
  const arch = n % 10 === 0 ? 'noarch' : 'x86_64';
  const version = `${1 + (n % 5)}.${n % 13}.${n % 7}`;
  const dep = (d: string) => ({ name: d });
  return {
    name,
    epoch: '0',
    version,
    release,
    arch,
    summary: `Synthetic package ${name} for the benchmarks`,
    description: `${name} is one of the generated packages of bench/lib/synthetic-rpms.ts.\nIt holds a few files and dependencies so its record and metadata look like a small real package.`,
    packager: 'repod bench <bench@example.invalid>',
    url: `https://example.invalid/${base}`,
    license: 'MIT',
    vendor: 'repod bench',
    group: 'Unspecified',
    buildHost: 'bench.example.invalid',
    sourceRpm: `${base}-${version}-${release}.src.rpm`,
    buildTime: 1_700_000_000 + n,
    headerStart: 4504,
    headerEnd: 9000 + (n % 4000),
    installedSize: 20_000 + n,
    archiveSize: 21_000 + n,
    provides: [{ name, flags: 'EQ', epoch: '0', version, release }, dep(`${name}(x86-64)`)],
    requires: [dep('libc.so.6()(64bit)'), dep('/bin/sh'), ...(n % 3 ? [{ name: base, flags: 'EQ' as const, epoch: '0', version, release }] : [])],
    conflicts: [],
    obsoletes: [],
    recommends: [],
    suggests: [],
    supplements: [],
    enhances: [],
    files: [
      { path: `/usr/share/doc/${name}`, type: 'dir' },
      { path: `/usr/share/doc/${name}/README`, type: 'file' },
      { path: `/usr/lib64/${name}/data.bin`, type: 'file' },
      ...(n % 3 === 0 ? [{ path: `/usr/bin/${name}`, type: 'file' as const }] : []),
    ],
    changelogs: [
      { author: 'repod bench <bench@example.invalid> - 1.0-1', date: 1_699_000_000, text: '- First build' },
      { author: 'repod bench <bench@example.invalid> - 1.0-2', date: 1_699_900_000, text: `- Rebuilt ${name}` },
    ],
    isSource: false,
  };
}

/** The made-up sha256 a synthetic package's record is stored under (no pool object has it). */
export function syntheticSha256(pkg: RpmPackage): string {
  return createHash('sha256').update(`ui-bench ${pkg.name}-${pkg.version}-${pkg.release}.${pkg.arch}`).digest('hex');
}

export type SyntheticEntry = ReturnType<typeof rpmEntry>;

/**
 * Opens a fresh file store as a server would (keys, admin user, default distributions). Records go
 * through a second store object without fsync (hundreds of thousands of small files: setup, not
 * what is measured); chunks and revisions through the core's Repository.
 */
export async function openSyntheticFiller(storeDir: string) {
  const { core } = await buildNodeCore({ REPOD_STORAGE: `file:${storeDir}`, REPOD_ADMIN_TOKEN: ADMIN_TOKEN }, () => undefined);
  const fast = await FileStore.open({ root: storeDir, fsync: false });
  const caps = { ...core.caps, store: fast };
  const dependencies = new DistributionProvides(core.caps, core.repository);
  return {
    /** Stores the package's record; its index entry. */
    async describe(pkg: RpmPackage): Promise<SyntheticEntry> {
      const sha256 = syntheticSha256(pkg);
      const record = await putRecord<RpmPackageRecord>(caps, layout.packageRecord(sha256), {
        format: 1,
        kind: 'rpm',
        facts: { sha256, size: pkg.archiveSize + pkg.headerEnd, fileTime: pkg.buildTime, fileName: rpmFileName(pkg) },
        package: pkg,
      });
      return rpmEntry(record.package, record.facts);
    },
    /** One revision of `dist`: `add` in, the index keys `remove` out; then, as a mirror sync does, its chunks' dependency capabilities. */
    async publish(dist: string, add: SyntheticEntry[], remove: string[], message: string) {
      const result = await core.repository.publish(dist, 'rpm', RPM_STREAMS, () => ({ add, remove }), { author: 'bench', message });
      if (!result.revision) throw new Error(`publish of ${message}: no revision`);
      await dependencies.prepare(result.revision);
      return result.revision;
    },
  };
}
