import type { IndexEntry } from './chunk.ts';

/**
 * Compressed blocks of chunk gzip groups (gzip-blocks.ts), kept in process so a publish
 * compresses only the blocks its change touched: every other block of a rewritten chunk holds the
 * same bytes as in the parent, after the same entry, and takes its deflate segment from here.
 *
 * Bounded by bytes, least recently used first out. A hit must never give the segment of other
 * bytes (clients would read wrong metadata), so a kept segment records what its block is made of
 * (each entry's identity, everything its fragment names, the fragment's length) and the bytes
 * themselves: either the very fragment objects it was compressed from (fragments are never
 * modified once made, and a publish meets the same objects again through
 * ComposeIo.knownEntries), or else the CRC-32 and length of the block and of the fragment before
 * it (its dictionary). The bytes catch what identities cannot see, such as a fragment rendered
 * again with a different file time under the same package.
 */
export const GZIP_BLOCK_CACHE_DEFAULT_BYTES = 32 * 1024 * 1024;

/** What a kept segment costs beyond its bytes and strings (Map slot, object headers), roughly, and per fragment reference. */
const ENTRY_OVERHEAD = 160;
const REFERENCE_OVERHEAD = 48;

/** A block's CRC-32 and length (the pair gzip's trailer checks). */
export interface BlockSum {
  crc: number;
  length: number;
}

/** What a block is, as the cache compares it. */
export interface BlockFacts {
  /** The block's entries' identities (entryIdentity, joined). */
  identity: string;
  sum: BlockSum;
  /** Of the block's last fragment, which primes the next block. */
  lastSum: BlockSum;
  /** The fragment before the block in its group, which primes its compressor; null for a group's first block. */
  primer: BlockSum | null;
}

/** The fragments a block was compressed from, and the one before it. */
export interface BlockPieces {
  pieces: readonly Uint8Array[];
  primer: Uint8Array | null;
}

interface Kept extends BlockFacts {
  segment: Uint8Array;
  cost: number;
  pieces: WeakRef<Uint8Array>[];
  primerPiece: WeakRef<Uint8Array> | null;
}

export interface GzipBlockCacheStats {
  hits: number;
  misses: number;
  /** Segments kept now and what they cost (segments, identities, overhead). */
  entries: number;
  bytes: number;
}

export class GzipBlockCache {
  private readonly kept = new Map<string, Kept>();
  /** Identities of entries seen, per entry object: a publish meets the same objects again. */
  private readonly identities = new WeakMap<IndexEntry, string>();
  private used = 0;
  private hits = 0;
  private misses = 0;

  constructor(readonly maxBytes: number = GZIP_BLOCK_CACHE_DEFAULT_BYTES) {}

  /** An entry's identity in cache keys: everything a fragment of it is rendered from that the entry names. */
  entryIdentity(entry: IndexEntry): string {
    let identity = this.identities.get(entry);
    if (identity === undefined) {
      identity = JSON.stringify([entry.key, entry.id, entry.file, entry.arch, entry.component ?? null, entry.rawLengths]);
      this.identities.set(entry, identity);
    }
    return identity;
  }

  /**
   * The block kept in `slot` when it was compressed from these very fragment objects after that
   * primer object: the same bytes, so its segment and sums hold without reading them. A slot is a
   * short name for where a block sits (its stream, the entry before it, its first and last
   * entries), so the map hashes little.
   */
  sameObjects(slot: string, block: BlockPieces): { segment: Uint8Array; sum: BlockSum; lastSum: BlockSum } | undefined {
    const found = this.kept.get(slot);
    if (!found || found.pieces.length !== block.pieces.length) return undefined;
    if ((found.primerPiece?.deref() ?? null) !== block.primer) return undefined;
    for (let i = 0; i < block.pieces.length; i++) if (found.pieces[i].deref() !== block.pieces[i]) return undefined;
    this.touch(slot, found);
    return found;
  }

  /** The segment kept in `slot` when it encodes exactly the block `facts` describe: the same entries, bytes with the same sums. */
  get(slot: string, facts: BlockFacts): Uint8Array | undefined {
    const found = this.kept.get(slot);
    if (found && found.identity === facts.identity && sameSum(found.sum, facts.sum) && sameSum(found.lastSum, facts.lastSum) && sameSum(found.primer, facts.primer)) {
      this.touch(slot, found);
      return found.segment;
    }
    this.misses++;
    return undefined;
  }

  set(slot: string, facts: BlockFacts, block: BlockPieces, segment: Uint8Array): void {
    const old = this.kept.get(slot);
    if (old) this.drop(slot, old);
    const cost = slot.length + facts.identity.length + segment.length + ENTRY_OVERHEAD + (block.pieces.length + 1) * REFERENCE_OVERHEAD;
    if (cost > this.maxBytes) return;
    // A view into a larger buffer (Node pools small results) would keep all of that buffer alive.
    const own = segment.byteLength === segment.buffer.byteLength ? segment : new Uint8Array(segment);
    this.kept.set(slot, {
      ...facts,
      segment: own,
      cost,
      // Weak: the cache must not keep decoded chunks alive; a collected fragment just means reading the bytes.
      pieces: block.pieces.map((p) => new WeakRef(p)),
      primerPiece: block.primer ? new WeakRef(block.primer) : null,
    });
    this.used += cost;
    for (const [oldSlot, value] of this.kept) {
      if (this.used <= this.maxBytes) break;
      this.drop(oldSlot, value);
    }
  }

  stats(): GzipBlockCacheStats {
    return { hits: this.hits, misses: this.misses, entries: this.kept.size, bytes: this.used };
  }

  /** Most recently used last: a Map keeps insertion order. */
  private touch(slot: string, found: Kept): void {
    this.kept.delete(slot);
    this.kept.set(slot, found);
    this.hits++;
  }

  private drop(slot: string, value: Kept): void {
    this.kept.delete(slot);
    this.used -= value.cost;
  }
}

const sameSum = (a: BlockSum | null, b: BlockSum | null) => (a === null || b === null ? a === b : a.crc === b.crc && a.length === b.length);
