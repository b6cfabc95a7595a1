/**
 * A render is the cached, signed view of one revision for one kind of client (an RPM arch
 * repository, an APT distribution): the index file text (repomd.xml, Release), its signatures, and
 * for every metadata file a recipe of byte segments. Segments point into immutable chunks, so a
 * metadata file is never stored twice: serving one concatenates ranges of chunk objects.
 */
/**
 * Inline bytes, a byte range of a chunk (or of a part derived from it, e.g. its xz blocks), or a
 * whole stored object (sqlite databases).
 */
export type Segment = { data: string } | { chunk: string; part?: 'xz'; start: number; end: number } | { object: string };

export interface RenderedFile {
  /** Path relative to the view root, e.g. "repodata/<sha256>-primary.xml.gz". */
  path: string;
  type: string;
  size: number;
  openSize?: number;
  checksums: Partial<Record<'sha256' | 'sha1' | 'md5', string>>;
  segments: Segment[];
}

export interface RenderManifest {
  format: 1;
  distribution: string;
  revision: string;
  view: string;
  created: string;
  /** Small signed files served verbatim (repomd.xml, repomd.xml.asc, Release, InRelease ...). */
  documents: Record<string, string>;
  files: RenderedFile[];
}

/** Where a content-addressed metadata file was first rendered. */
export interface ByHashPointer {
  revision: string;
  view: string;
}
