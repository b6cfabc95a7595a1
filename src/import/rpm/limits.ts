/**
 * Bounds on what an upstream's index may make repod read, hold or compute. An upstream is not
 * trusted: it may send an endless body, a decompression bomb, or one package with millions of
 * elements; each of these ends the sync with an error instead of exhausting the server.
 * The defaults leave room for the largest public repositories (openSUSE's update primary.xml is
 * about 900 MB uncompressed; Fedora's largest packages list a few thousand files in primary).
 */
export interface RpmIndexLimits {
  /** repomd.xml, read whole. Default 4 MiB (Fedora's is about 6 KB). */
  maxRepomdBytes: number;
  /** repomd.xml.asc. Default 64 KiB. */
  maxSignatureBytes: number;
  /** The compressed primary as downloaded. Default 1 GiB. */
  maxPrimaryBytes: number;
  /** The uncompressed primary.xml. Default 8 GiB. */
  maxPrimaryOpenBytes: number;
  /** Elements inside one `<package>`. Default 200,000. */
  maxElementsPerPackage: number;
  /** Characters of one package's text and attributes together. Default 16 Mi. */
  maxPackageChars: number;
  /** Characters of one text node or one tag (a description, a file name, an `<rpm:entry>`). Default 4 Mi. */
  maxTokenChars: number;
  /**
   * Uncompressed bytes one piece of compressed input may expand to before the packages parsed
   * from it are handed on. Bounds memory against decompression bombs. Default 64 MiB.
   */
  maxExpansionBytes: number;
}

export const DEFAULT_RPM_INDEX_LIMITS: RpmIndexLimits = {
  maxRepomdBytes: 4 * 1024 * 1024,
  maxSignatureBytes: 64 * 1024,
  maxPrimaryBytes: 1024 * 1024 * 1024,
  maxPrimaryOpenBytes: 8 * 1024 * 1024 * 1024,
  maxElementsPerPackage: 200_000,
  maxPackageChars: 16 * 1024 * 1024,
  maxTokenChars: 4 * 1024 * 1024,
  maxExpansionBytes: 64 * 1024 * 1024,
};

export function rpmIndexLimits(overrides: Partial<RpmIndexLimits> = {}): RpmIndexLimits {
  return { ...DEFAULT_RPM_INDEX_LIMITS, ...overrides };
}
