/**
 * Paths of an exported tree named by their content: the same path always holds the same bytes,
 * in every revision (repodata/<sha256>-*, APT by-hash, packages, whose file names carry their
 * name, version and architecture). A file there of the right size need not be written again, and
 * such files of the previous export can stay beside the new ones for clients mid-way through it.
 */
const CONTENT_ADDRESSED = [/(^|\/)repodata\/[0-9a-f]{64}-[^/]+$/, /\/by-hash\/SHA256\/[0-9a-f]{64}$/, /(^|\/)Packages\/[^/]+\.rpm$/, /(^|\/)pool\//];

export const contentAddressed = (path: string): boolean => CONTENT_ADDRESSED.some((r) => r.test(path));

/**
 * The order in which a tree's files are made visible so a client reading it meanwhile finds every
 * file an entry point names: content-addressed files, the other files, the detached signatures,
 * the signed entry points (repomd.xml, Release), and InRelease last.
 */
export function publishRank(path: string): number {
  const name = path.slice(path.lastIndexOf('/') + 1);
  if (contentAddressed(path)) return 0;
  if (name === 'repomd.xml.asc' || name === 'Release.gpg') return 2;
  if (name === 'repomd.xml' || name === 'Release') return 3;
  if (name === 'InRelease') return 4;
  return 1;
}
