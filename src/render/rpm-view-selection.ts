import type { ChunkIndex, IndexEntry } from '../bucket/chunk.ts';
import { splitKey } from '../bucket/keys.ts';
import type { RpmDistribution } from '../config/distributions.ts';
import { multilibArches } from '../config/multilib.ts';
import { rpmArchesFor } from '../ingest/rpm-entry.ts';
import { isDebugPackageName, multilibChooses, multilibFactsFromXml, multilibNeedsFacts } from '../metadata/rpm/multilib.ts';

/** The two repositories of an arch: the main one and its `debug/` sibling (Fedora's layout). */
export type RpmRepoKind = 'main' | 'debug';

/**
 * Which entries an arch repository lists. `arches` decides by gzip group (a chunk keeps one member
 * per architecture); `entry` then decides each entry of those groups from its key, or answers
 * 'facts' when a multilib method must read the entry's own primary and filelists fragments.
 */
export interface RpmViewSelection {
  arches: Set<string>;
  entry(e: IndexEntry): boolean | 'facts';
  facts(primary: string, filelists: string): boolean;
}

const packageName = (e: IndexEntry) => splitKey(e.key)[0];

/** Whether an arch of a distribution has a debug repository (binary arches only). */
export function hasDebugRepo(dist: RpmDistribution, arch: string): boolean {
  return dist.debuginfo !== 'inline' && dist.architectures.includes(arch);
}

export function rpmViewSelection(dist: RpmDistribution, arch: string, repo: RpmRepoKind = 'main'): RpmViewSelection {
  const own = rpmArchesFor(arch);
  if (repo === 'debug') return { arches: own, entry: (e) => isDebugPackageName(packageName(e)), facts: () => false };
  // Source repositories are left as they were: debuginfo and multilib are binary concerns.
  if (arch === 'src') return { arches: own, entry: () => true, facts: () => false };
  const setting = dist.multilib;
  const compat = setting && setting.policy !== 'none' && multilibArches(setting).base === arch ? multilibArches(setting).compat : null;
  const arches = compat ? new Set([...own, compat]) : own;
  return {
    arches,
    entry: (e) => {
      const name = packageName(e);
      if (isDebugPackageName(name) && dist.debuginfo !== 'inline') return false;
      if (own.has(e.arch)) return true;
      if (!setting || e.arch !== compat) return false;
      return multilibNeedsFacts(setting, name) ? 'facts' : multilibChooses(setting, { name, provides: [], files: [] });
    },
    facts: (primary, filelists) => (setting ? multilibChooses(setting, multilibFactsFromXml(primary, filelists)) : false),
  };
}

/**
 * Each entry's decision in one chunk (index order), reading the chunk's fragments only when an
 * entry needs its facts. Null when every entry of the selected groups is taken, so the view can
 * take whole gzip members as before.
 */
export async function chunkDecisions(
  selection: RpmViewSelection,
  index: ChunkIndex,
  bytes: () => Promise<Uint8Array>,
  gunzip: (data: Uint8Array) => Uint8Array,
): Promise<boolean[] | null> {
  const first = index.entries.map((e) => (selection.arches.has(e.arch) ? selection.entry(e) : false));
  const groupTaken = index.entries.every((e, i) => !selection.arches.has(e.arch) || first[i] === true);
  if (groupTaken) return null;
  if (!first.includes('facts')) return first as boolean[];
  const items = index.withSegments(await bytes(), gunzip);
  const primary = index.streamIndex('primary');
  const filelists = index.streamIndex('filelists');
  const text = new TextDecoder();
  return first.map((d, i) => (d === 'facts' ? selection.facts(text.decode(items[i].segments[primary]), text.decode(items[i].segments[filelists])) : d));
}
