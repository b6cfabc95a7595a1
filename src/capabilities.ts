import type { BlobStore } from './storage/blob-store.ts';

/**
 * What the runtime-neutral core needs from its host. Each runtime (Node, Workers) builds one of
 * these in its composition root; nothing below http/ reaches for a runtime global itself.
 */
export type HashAlgorithm = 'sha256' | 'sha1' | 'md5' | 'sha512' | 'sha224' | 'sha384';

export interface Hasher {
  update(data: Uint8Array): void;
  /** Lower-case hex digest. */
  digest(): Promise<string>;
  /**
   * An independent hasher in the same state, where the runtime can snapshot one (Node can, Web
   * Crypto cannot): renders keep snapshots to resume hashing after the unchanged start of a file.
   */
  copy?(): Hasher;
}

export interface Capabilities {
  store: BlobStore;
  hash(algorithm: HashAlgorithm): Hasher;
  /** One complete gzip member of `data`. */
  gzip(data: Uint8Array): Uint8Array;
  gunzip(data: Uint8Array): Uint8Array;
  /**
   * Raw deflate of `data`, primed with `dictionary`, ended by a sync flush and no final block
   * (bucket/gzip-blocks.ts: a publish recompresses only the blocks it changes), where the runtime has it.
   */
  deflateSegment?(data: Uint8Array, dictionary?: Uint8Array): Uint8Array;
  /**
   * One complete zstd frame of `data`, where the runtime has an encoder: zchunk metadata
   * (primary_zck, ...) is offered only where it is present. Asynchronous so a runtime can load
   * its encoder when it is first needed.
   */
  zstd?(data: Uint8Array): Promise<Uint8Array>;
  now(): Date;
  /** A random identifier, URL-safe, at least 96 bits. */
  randomId(): string;
  log(message: string, fields?: Record<string, unknown>): void;
  /**
   * Whether a request may wait for work another request started (one read of an expired ref, one
   * render, one group publish). Node: yes. Workers: no; workerd cancels a request that waits on
   * another request's I/O as hung, and a request's I/O ends with it.
   */
  requestsShareWork: boolean;
}
