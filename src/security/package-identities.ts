import { layout } from '../bucket/layout.ts';
import type { PackageRecord } from '../bucket/package-record.ts';
import type { Capabilities } from '../capabilities.ts';
import { getJson } from '../storage/objects.ts';
import { LruCache } from '../util/lru-cache.ts';
import type { PackageIdentity } from './gate/gate-services.ts';
import { recordIdentity } from './gate/package-identity.ts';

/**
 * Package identities (name, source, version) by sha256, read from the package records once and
 * kept: a package's bytes never change, so neither does its identity. Reports and re-matching
 * after a feed change walk whole distributions; this keeps them from re-reading every record.
 */
export class PackageIdentities {
  private readonly cache: LruCache<string, PackageIdentity>;

  constructor(
    private readonly caps: Capabilities,
    options: { maxEntries?: number } = {},
  ) {
    this.cache = new LruCache(options.maxEntries ?? 200_000);
  }

  async get(sha256: string): Promise<PackageIdentity | null> {
    const cached = this.cache.get(sha256);
    if (cached) return cached;
    const record = (await getJson<PackageRecord>(this.caps.store, layout.packageRecord(sha256)))?.value;
    if (!record) return null;
    const identity = recordIdentity(record);
    this.cache.set(sha256, identity);
    return identity;
  }
}
