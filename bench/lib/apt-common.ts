/**
 * What the APT benchmark's parent and child processes share: the distribution, the child's result,
 * and reading what an apt client reads (the file list of Release/InRelease, stanza counts).
 */

/** A default APT distribution of repod (component main, architectures amd64 and arm64). */
export const APT_DIST = 'bookworm';
export const APT_COMPONENT = 'main';

/** What bench/lib/apt-build.ts prints: filling a fresh store with one revision. */
export interface AptFillResult {
  mode: 'debs' | 'debian';
  packages: number;
  /** debs: stage all (parse, store); debian: decompress and parse the stanzas into entries. */
  prepareMs: number;
  /** debs: one publishBatch; debian: one Repository.publish. */
  publishMs: number;
  /** First InRelease (renders the revision). */
  inReleaseMs: number;
  packagesGzMs: number;
  packagesGzBytes: number;
  amd64Stanzas: number;
  totalMs: number;
  /** debian: stanzas skipped as duplicates of an earlier (component, name, arch, version). */
  duplicates: number;
  peakRssKiB: number | null;
}

export interface ReleaseEntry {
  path: string;
  size: number;
  sha256: string;
}

/** The SHA256 section of a Release or InRelease text (LF or CRLF lines), by path. */
export function releaseFiles(release: string): Map<string, ReleaseEntry> {
  const text = release.replaceAll('\r\n', '\n');
  const out = new Map<string, ReleaseEntry>();
  const section = /^SHA256:\n((?:[ \t].*\n?)*)/m.exec(text);
  for (const line of section?.[1].split('\n') ?? []) {
    const m = /^\s+([0-9a-f]{64})\s+(\d+)\s+(\S+)$/.exec(line);
    if (m) out.set(m[3], { path: m[3], size: Number(m[2]), sha256: m[1] });
  }
  return out;
}

/** The path an apt client fetches for a Release entry: by-hash when the Release says so. */
export function fetchPath(releaseText: string, entry: ReleaseEntry): string {
  if (!/^Acquire-By-Hash:[ \t]*yes\r?$/im.test(releaseText)) return entry.path;
  return `${entry.path.slice(0, entry.path.lastIndexOf('/') + 1)}by-hash/SHA256/${entry.sha256}`;
}

/** Stanzas of a Packages text. */
export function countStanzas(packages: string): number {
  let n = packages.startsWith('Package: ') ? 1 : 0;
  for (let at = packages.indexOf('\nPackage: '); at >= 0; at = packages.indexOf('\nPackage: ', at + 1)) n++;
  return n;
}
