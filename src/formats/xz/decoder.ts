/**
 * Streaming .xz decoder (LZMA2 filter only), pure TypeScript.
 *
 * Why not a library: the maintained xz decoders on npm are either native addons or wasm builds that
 * compile their module from bytes at run time (`WebAssembly.instantiate(buffer)`), which Cloudflare
 * Workers forbid; the pure-JS ones only read .lzma (LZMA1) or load whole files into memory.
 *
 * Format: https://tukaani.org/xz/xz-file-format.txt (stream header, blocks, index, footer, padding;
 * concatenated streams). LZMA2 chunks are decoded one at a time: a chunk's compressed size is at most
 * 64 KiB and is known from its header, so a chunk is buffered whole and the range decoder never has
 * to resume in the middle of a symbol. Memory: the dictionary (grown on demand up to the size the
 * stream declares, refused above `maxDictSize`) plus one chunk of input and of output.
 *
 * Integrity: header CRC32s, block sizes, CRC32/CRC64/SHA-256 block checks, the index against the
 * decoded blocks, and the footer are all verified (as liblzma does, so `xz -t` and dpkg-deb refuse
 * what this refuses). The reserved check IDs are refused, where liblzma skips them unverified.
 *
 * Errors are thrown as `XzError`; callers turn them into their own error types.
 */

import { sha256 } from '@noble/hashes/sha2.js';
import { bytesEqual } from '../../util/bytes.ts';
import { ByteQueue } from '../archive/byte-queue.ts';
import { crc32 } from '../checksums/crc32.ts';
import { Crc64 } from '../checksums/crc64.ts';

export class XzError extends Error {
  constructor(message: string) {
    super(`xz: ${message}`);
    this.name = 'XzError';
  }
}

export interface XzDecoderOptions {
  /** Largest LZMA2 dictionary accepted (bytes). Default 128 MiB (xz -9 uses 64 MiB). */
  maxDictSize?: number;
  /**
   * Refuse anything but stream padding after the first stream, instead of decoding concatenated
   * streams (default false).
   */
  singleStream?: boolean;
}

const HEADER_MAGIC = new Uint8Array([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]);
const FOOTER_MAGIC0 = 0x59; // 'Y'
const FOOTER_MAGIC1 = 0x5a; // 'Z'

/** Check type → size of the check field; only these are accepted. */
const CHECK_SIZES: Record<number, number> = { 0x00: 0, 0x01: 4, 0x04: 8, 0x0a: 32 };

const enum Seq {
  StreamHeader,
  BlockStart,
  BlockHeader,
  Lzma2Control,
  Lzma2Chunk,
  BlockPadding,
  BlockCheck,
  Index,
  StreamFooter,
  StreamPadding,
}

// ---- LZMA constants and probability-array layout --------------------------------------------
const STATES = 12;
const POS_STATES_MAX = 16;
const PROB_INIT = 1024;
const IS_MATCH = 0;
const IS_REP = IS_MATCH + STATES * POS_STATES_MAX;
const IS_REP0 = IS_REP + STATES;
const IS_REP1 = IS_REP0 + STATES;
const IS_REP2 = IS_REP1 + STATES;
const IS_REP0_LONG = IS_REP2 + STATES;
const DIST_SLOT = IS_REP0_LONG + STATES * POS_STATES_MAX;
const DIST_SPECIAL = DIST_SLOT + 4 * 64;
const DIST_ALIGN = DIST_SPECIAL + (128 - 14);
const LEN_CHOICE = 0;
const LEN_CHOICE2 = 1;
const LEN_LOW = 2;
const LEN_MID = LEN_LOW + POS_STATES_MAX * 8;
const LEN_HIGH = LEN_MID + POS_STATES_MAX * 8;
const LEN_SIZE = LEN_HIGH + 256;
const MATCH_LEN = DIST_ALIGN + 16;
const REP_LEN = MATCH_LEN + LEN_SIZE;
const LITERAL = REP_LEN + LEN_SIZE;
const PROBS_SIZE = LITERAL + (0x300 << 4);

const INITIAL_DICT_ALLOC = 1 << 20;

/**
 * Push-style decoder: `push()` compressed bytes as they arrive, decoded bytes go to `onData`
 * (each call gets a fresh array the receiver may keep), `end()` checks the stream was complete.
 * A throw from `onData` propagates out of `push()`; the decoder is then unusable.
 */
export class XzDecoder {
  readonly #onData: (chunk: Uint8Array) => void;
  readonly #maxDictSize: number;
  readonly #singleStream: boolean;
  readonly #queue = new ByteQueue();
  #seq: Seq = Seq.StreamHeader;
  #streams = 0;
  #failed: unknown = undefined;

  // stream state
  #checkType = 0;
  #checkSize = 0;
  #streamFlags = new Uint8Array(2);
  #blocks = 0;
  #sumUnpadded = 0;
  #sumUncompressed = 0;
  #recordsCrc = 0;
  #paddingBytes = 0;

  // block state
  #blockHeaderSize = 0;
  #declaredCompressed = -1;
  #declaredUncompressed = -1;
  #blockCompressed = 0;
  #blockUncompressed = 0;
  #crc32 = 0;
  #crc64: Crc64 | undefined;
  #sha256: ReturnType<typeof sha256.create> | undefined;

  // index state
  #indexBytes = 0;
  #indexCrc = 0;
  #indexStep = 0; // 0 = count, 1 = unpadded, 2 = uncompressed, 3 = padding+crc
  #indexRemaining = 0;
  #indexCount = 0;
  #indexUnpadded = 0;
  #indexSumUnpadded = 0;
  #indexSumUncompressed = 0;
  #indexRecordsCrc = 0;

  // LZMA2 state
  #chunkControl = 0;
  #chunkUnpacked = 0;
  #chunkPacked = 0;
  #chunkHeaderSize = 0;
  #needDictReset = true;
  #needProps = true;
  #lc = 0;
  #lp = 0;
  #pb = 0;
  #probs = new Uint16Array(PROBS_SIZE);
  #chunkBuf = new Uint8Array(6 + 65536);
  #state = 0;
  #rep0 = 0;
  #rep1 = 0;
  #rep2 = 0;
  #rep3 = 0;

  // dictionary
  #dictSize = 0;
  #dict = new Uint8Array(0);
  #pos = 0; // write position in #dict
  #start = 0; // first byte not yet emitted
  #full = 0; // valid history bytes (for distance checks)

  constructor(onData: (chunk: Uint8Array) => void, options: XzDecoderOptions = {}) {
    this.#onData = onData;
    this.#maxDictSize = options.maxDictSize ?? 128 * 1024 * 1024;
    this.#singleStream = options.singleStream ?? false;
  }

  push(chunk: Uint8Array): void {
    if (this.#failed !== undefined) throw this.#failed;
    try {
      this.#queue.push(chunk);
      this.#run();
    } catch (e) {
      this.#failed = e;
      throw e;
    }
  }

  end(): void {
    if (this.#failed !== undefined) throw this.#failed;
    try {
      this.#run();
      if (this.#streams === 0 && this.#seq === Seq.StreamHeader && this.#queue.length === 0) throw new XzError('empty input');
      if (this.#seq !== Seq.StreamPadding || this.#queue.length !== 0) throw new XzError('truncated input');
      if (this.#paddingBytes % 4 !== 0) throw new XzError('stream padding is not a multiple of four bytes');
    } catch (e) {
      this.#failed = e;
      throw e;
    }
  }

  #run(): void {
    const q = this.#queue;
    for (;;) {
      switch (this.#seq) {
        case Seq.StreamHeader: {
          if (q.length < 12) return;
          const h = q.take(12);
          if (!bytesEqual(h.subarray(0, 6), HEADER_MAGIC)) throw new XzError('bad stream header magic');
          if (crc32(h.subarray(6, 8)) !== readU32(h, 8)) throw new XzError('stream header CRC mismatch');
          if (h[6] !== 0 || (h[7]! & 0xf0) !== 0) throw new XzError('unsupported stream flags');
          const size = CHECK_SIZES[h[7]!];
          if (size === undefined) throw new XzError(`unsupported check type ${h[7]}`);
          this.#checkType = h[7]!;
          this.#checkSize = size;
          this.#streamFlags = h.slice(6, 8);
          this.#blocks = 0;
          this.#sumUnpadded = 0;
          this.#sumUncompressed = 0;
          this.#recordsCrc = 0;
          this.#seq = Seq.BlockStart;
          break;
        }
        case Seq.BlockStart: {
          if (q.length < 1) return;
          const b = q.peek(1)[0]!;
          if (b === 0) {
            this.#startIndex();
            break;
          }
          this.#blockHeaderSize = (b + 1) * 4;
          this.#seq = Seq.BlockHeader;
          break;
        }
        case Seq.BlockHeader: {
          if (q.length < this.#blockHeaderSize) return;
          this.#parseBlockHeader(q.take(this.#blockHeaderSize));
          this.#seq = Seq.Lzma2Control;
          break;
        }
        case Seq.Lzma2Control: {
          if (q.length < 1) return;
          const control = q.peek(1)[0]!;
          if (control === 0x00) {
            q.skip(1);
            this.#blockCompressed += 1;
            this.#endBlockData();
            break;
          }
          const headerSize = control >= 0xc0 ? 6 : control >= 0x80 ? 5 : 3;
          if (control > 0x02 && control < 0x80) throw new XzError('invalid LZMA2 control byte');
          if (q.length < headerSize) return;
          const h = q.peek(headerSize);
          this.#chunkControl = control;
          this.#chunkHeaderSize = headerSize;
          if (control >= 0x80) {
            this.#chunkUnpacked = ((control & 0x1f) << 16) + (h[1]! << 8) + h[2]! + 1;
            this.#chunkPacked = (h[3]! << 8) + h[4]! + 1;
          } else {
            this.#chunkUnpacked = (h[1]! << 8) + h[2]! + 1;
            this.#chunkPacked = this.#chunkUnpacked;
          }
          this.#seq = Seq.Lzma2Chunk;
          break;
        }
        case Seq.Lzma2Chunk: {
          const total = this.#chunkHeaderSize + this.#chunkPacked;
          if (q.length < total) return;
          // Copied into one reused plain Uint8Array: the hot loop then sees a single array type
          // (input may arrive as Buffer subclasses), and reading a little past the end is harmless.
          const bytes = this.#chunkBuf.subarray(0, total);
          bytes.set(q.peek(total));
          q.skip(total);
          this.#blockCompressed += total;
          if (this.#declaredCompressed >= 0 && this.#blockCompressed > this.#declaredCompressed) {
            throw new XzError('block is larger than its header says');
          }
          this.#decodeChunk(bytes);
          this.#seq = Seq.Lzma2Control;
          break;
        }
        case Seq.BlockPadding: {
          const pad = (4 - (this.#blockCompressed % 4)) % 4;
          if (q.length < pad) return;
          const p = q.take(pad);
          for (const x of p) if (x !== 0) throw new XzError('non-zero block padding');
          this.#seq = Seq.BlockCheck;
          break;
        }
        case Seq.BlockCheck: {
          if (q.length < this.#checkSize) return;
          const check = q.take(this.#checkSize);
          if (this.#checkType === 0x01) {
            if (readU32(check, 0) !== this.#crc32) throw new XzError('CRC32 mismatch in block');
          } else if (this.#checkType === 0x04) {
            if (!bytesEqual(check, this.#crc64!.digest())) throw new XzError('CRC64 mismatch in block');
          } else if (this.#checkType === 0x0a) {
            if (!bytesEqual(check, this.#sha256!.digest())) throw new XzError('SHA-256 mismatch in block');
          }
          const unpadded = this.#blockHeaderSize + this.#blockCompressed + this.#checkSize;
          this.#blocks += 1;
          this.#sumUnpadded += unpadded;
          this.#sumUncompressed += this.#blockUncompressed;
          this.#recordsCrc = crc32(recordBytes(unpadded, this.#blockUncompressed), this.#recordsCrc);
          this.#seq = Seq.BlockStart;
          break;
        }
        case Seq.Index: {
          if (!this.#stepIndex()) return;
          break;
        }
        case Seq.StreamFooter: {
          if (q.length < 12) return;
          const f = q.take(12);
          if (f[10] !== FOOTER_MAGIC0 || f[11] !== FOOTER_MAGIC1) throw new XzError('bad stream footer magic');
          if (crc32(f.subarray(4, 10)) !== readU32(f, 0)) throw new XzError('stream footer CRC mismatch');
          if ((readU32(f, 4) + 1) * 4 !== this.#indexBytes) throw new XzError('index size mismatch in footer');
          if (!bytesEqual(f.subarray(8, 10), this.#streamFlags)) throw new XzError('stream footer flags differ from header');
          this.#streams += 1;
          this.#paddingBytes = 0;
          this.#seq = Seq.StreamPadding;
          break;
        }
        case Seq.StreamPadding: {
          // Zero bytes in multiples of four, then possibly another stream.
          while (q.length > 0) {
            const first = q.peek(1)[0]!;
            if (first !== 0) break;
            q.skip(1);
            this.#paddingBytes += 1;
          }
          if (q.length === 0) return;
          if (this.#singleStream) throw new XzError('data after the end of the first stream');
          if (this.#paddingBytes % 4 !== 0) throw new XzError('stream padding is not a multiple of four bytes');
          this.#seq = Seq.StreamHeader;
          break;
        }
      }
    }
  }

  #parseBlockHeader(h: Uint8Array): void {
    const size = h.length;
    if (crc32(h.subarray(0, size - 4)) !== readU32(h, size - 4)) throw new XzError('block header CRC mismatch');
    const flags = h[1]!;
    if (flags & 0x3c) throw new XzError('unsupported block header flags');
    const filters = (flags & 0x03) + 1;
    const r = { pos: 2 };
    const end = size - 4;
    this.#declaredCompressed = flags & 0x40 ? readVarint(h, r, end) : -1;
    this.#declaredUncompressed = flags & 0x80 ? readVarint(h, r, end) : -1;
    if (this.#declaredCompressed === 0) throw new XzError('block compressed size is zero');
    if (filters !== 1) throw new XzError('unsupported filter chain (only a single LZMA2 filter is supported)');
    const id = readVarint(h, r, end);
    const propsSize = readVarint(h, r, end);
    if (id !== 0x21) throw new XzError(`unsupported filter 0x${id.toString(16)} (only LZMA2 is supported)`);
    if (propsSize !== 1 || r.pos + 1 > end) throw new XzError('bad LZMA2 filter properties');
    const dictBits = h[r.pos]!;
    r.pos += 1;
    if (dictBits > 40) throw new XzError('bad LZMA2 dictionary size');
    const dictSize = dictBits === 40 ? 0xffffffff : (2 | (dictBits & 1)) * 2 ** (Math.floor(dictBits / 2) + 11);
    if (dictSize > this.#maxDictSize) {
      throw new XzError(`LZMA2 dictionary of ${dictSize} bytes exceeds the limit of ${this.#maxDictSize}`);
    }
    for (let i = r.pos; i < end; i++) if (h[i] !== 0) throw new XzError('non-zero block header padding');

    this.#setDictSize(dictSize);
    this.#blockCompressed = 0;
    this.#blockUncompressed = 0;
    this.#crc32 = 0;
    this.#crc64 = this.#checkType === 0x04 ? new Crc64() : undefined;
    this.#sha256 = this.#checkType === 0x0a ? sha256.create() : undefined;
    this.#needDictReset = true;
    this.#needProps = true;
  }

  #endBlockData(): void {
    if (this.#declaredCompressed >= 0 && this.#blockCompressed !== this.#declaredCompressed) {
      throw new XzError('block compressed size differs from its header');
    }
    if (this.#declaredUncompressed >= 0 && this.#blockUncompressed !== this.#declaredUncompressed) {
      throw new XzError('block uncompressed size differs from its header');
    }
    this.#seq = Seq.BlockPadding;
  }

  #startIndex(): void {
    // The 0x00 indicator byte is part of the index (and of its CRC).
    const indicator = this.#queue.take(1);
    this.#indexBytes = 1;
    this.#indexCrc = crc32(indicator);
    this.#indexStep = 0;
    this.#indexCount = 0;
    this.#indexSumUnpadded = 0;
    this.#indexSumUncompressed = 0;
    this.#indexRecordsCrc = 0;
    this.#seq = Seq.Index;
  }

  /** Advances the index parser by one item; false when more input is needed. */
  #stepIndex(): boolean {
    const q = this.#queue;
    if (this.#indexStep < 3) {
      const avail = Math.min(q.length, 9);
      if (avail === 0) return false;
      const bytes = q.peek(avail);
      const r = { pos: 0 };
      let value: number;
      try {
        value = readVarint(bytes, r, avail);
      } catch (e) {
        if (avail < 9 && (e as XzError).message.endsWith('truncated integer')) return false;
        throw e;
      }
      this.#indexCrc = crc32(bytes.subarray(0, r.pos), this.#indexCrc);
      this.#indexBytes += r.pos;
      q.skip(r.pos);
      if (this.#indexStep === 0) {
        if (value !== this.#blocks) throw new XzError('index record count differs from the number of blocks');
        this.#indexRemaining = value;
        this.#indexStep = value === 0 ? 3 : 1;
      } else if (this.#indexStep === 1) {
        if (value === 0) throw new XzError('index record with zero unpadded size');
        this.#indexUnpadded = value;
        this.#indexStep = 2;
      } else {
        this.#indexCount += 1;
        this.#indexSumUnpadded += this.#indexUnpadded;
        this.#indexSumUncompressed += value;
        this.#indexRecordsCrc = crc32(recordBytes(this.#indexUnpadded, value), this.#indexRecordsCrc);
        this.#indexRemaining -= 1;
        this.#indexStep = this.#indexRemaining === 0 ? 3 : 1;
      }
      return true;
    }
    const pad = (4 - (this.#indexBytes % 4)) % 4;
    if (q.length < pad + 4) return false;
    const padding = q.take(pad);
    for (const x of padding) if (x !== 0) throw new XzError('non-zero index padding');
    this.#indexCrc = crc32(padding, this.#indexCrc);
    this.#indexBytes += pad;
    const crc = readU32(q.take(4), 0);
    this.#indexBytes += 4;
    if (crc !== this.#indexCrc) throw new XzError('index CRC mismatch');
    if (
      this.#indexCount !== this.#blocks ||
      this.#indexSumUnpadded !== this.#sumUnpadded ||
      this.#indexSumUncompressed !== this.#sumUncompressed ||
      this.#indexRecordsCrc !== this.#recordsCrc
    ) {
      throw new XzError('index does not match the blocks');
    }
    this.#seq = Seq.StreamFooter;
    return true;
  }

  // ---- dictionary --------------------------------------------------------------------------

  #setDictSize(size: number): void {
    // A new block may declare a different dictionary size; the buffer is reused when it fits.
    this.#dictSize = Math.max(size, 4096);
    if (this.#dict.length > this.#dictSize) {
      this.#dict = new Uint8Array(Math.min(this.#dictSize, INITIAL_DICT_ALLOC));
    }
    if (this.#dict.length === 0) this.#dict = new Uint8Array(Math.min(this.#dictSize, INITIAL_DICT_ALLOC));
    this.#pos = 0;
    this.#start = 0;
    this.#full = 0;
  }

  #dictReset(): void {
    this.#flush();
    this.#pos = 0;
    this.#start = 0;
    this.#full = 0;
  }

  /** Emits the bytes written since the last flush. */
  #flush(): void {
    if (this.#pos > this.#start) {
      const out = this.#dict.slice(this.#start, this.#pos);
      if (this.#crc64 !== undefined) this.#crc64.update(out);
      else if (this.#checkType === 0x01) this.#crc32 = crc32(out, this.#crc32);
      else if (this.#sha256 !== undefined) this.#sha256.update(out);
      this.#start = this.#pos;
      this.#onData(out);
    }
  }

  /** Called when the write position reaches the end of the buffer: grow it, or wrap around. */
  #dictEnd(): void {
    this.#flush();
    if (this.#dict.length < this.#dictSize) {
      const bigger = new Uint8Array(Math.min(this.#dictSize, this.#dict.length * 2));
      bigger.set(this.#dict);
      this.#dict = bigger;
    } else {
      this.#pos = 0;
      this.#start = 0;
    }
  }

  // ---- LZMA2 chunks --------------------------------------------------------------------------

  #decodeChunk(bytes: Uint8Array): void {
    const control = this.#chunkControl;
    if (control >= 0xe0 || control === 0x01) {
      this.#needProps = true;
      this.#needDictReset = false;
      this.#dictReset();
    } else if (this.#needDictReset) {
      throw new XzError('LZMA2 stream does not start with a dictionary reset');
    }
    if (control >= 0x80) {
      if (control >= 0xc0) {
        this.#needProps = false;
        this.#setProps(bytes[5]!);
      } else if (this.#needProps) {
        throw new XzError('LZMA2 chunk without properties');
      } else if (control >= 0xa0) {
        this.#resetState();
      }
      this.#decodeLzma(bytes, this.#chunkHeaderSize, bytes.length, this.#chunkUnpacked);
    } else {
      this.#copyUncompressed(bytes.subarray(3));
    }
    this.#blockUncompressed += this.#chunkUnpacked;
    if (this.#declaredUncompressed >= 0 && this.#blockUncompressed > this.#declaredUncompressed) {
      throw new XzError('block is larger than its header says');
    }
    this.#flush();
  }

  #setProps(props: number): void {
    if (props > 224) throw new XzError('bad LZMA properties');
    this.#pb = Math.floor(props / 45);
    props %= 45;
    this.#lp = Math.floor(props / 9);
    this.#lc = props % 9;
    if (this.#lc + this.#lp > 4) throw new XzError('bad LZMA2 properties (lc + lp > 4)');
    this.#resetState();
  }

  #resetState(): void {
    this.#probs.fill(PROB_INIT);
    this.#state = 0;
    this.#rep0 = this.#rep1 = this.#rep2 = this.#rep3 = 0;
  }

  #copyUncompressed(data: Uint8Array): void {
    let offset = 0;
    while (offset < data.length) {
      const n = Math.min(data.length - offset, this.#dict.length - this.#pos);
      this.#dict.set(data.subarray(offset, offset + n), this.#pos);
      this.#pos += n;
      offset += n;
      this.#full = Math.min(this.#full + n, this.#dictSize);
      if (this.#pos === this.#dict.length) this.#dictEnd();
    }
  }

  /**
   * Decodes one LZMA chunk: `input[inPos..inEnd)` is the range-coded data, exactly `outSize` bytes
   * come out. Everything hot lives in locals and the range decoder is written out inline at each
   * use (closures over the mutated locals would make V8 keep them in a heap context: about 2x
   * slower). Each inline copy is the same few lines, marked "bit(i)":
   *
   *   if ((range >>> 24) === 0) { range <<= 8; code = (code << 8) | input[ip++]; }  // normalize
   *   p = probs[i]; bound = Math.imul(range >>> 11, p);
   *   if ((code ^ 0x80000000) < (bound ^ 0x80000000)) {        // unsigned code < bound
   *     range = bound; probs[i] = p + ((2048 - p) >>> 5);       // -> 0
   *   } else {
   *     range = (range - bound) | 0; code = (code - bound) | 0; probs[i] = p - (p >>> 5);  // -> 1
   *   }
   *
   * Reads past `inEnd` give undefined, which the bit operations treat as 0; the final position
   * check catches them, so no bounds test sits in the normalization.
   */
  #decodeLzma(input: Uint8Array, inPos: number, inEnd: number, outSize: number): void {
    if (inEnd - inPos < 5 || input[inPos] !== 0) throw new XzError('bad range coder header');
    // range and code are unsigned 32-bit values kept in int32 variables (V8 keeps those in integer
    // registers); unsigned comparisons flip the sign bit of both sides.
    let range = -1;
    let code = (input[inPos + 1]! << 24) | (input[inPos + 2]! << 16) | (input[inPos + 3]! << 8) | input[inPos + 4]!;
    let ip = inPos + 5;
    if (code === range) throw new XzError('bad range coder header');

    const probs = this.#probs;
    const lc = this.#lc;
    const lcShift = 8 - lc;
    const lpMask = (1 << this.#lp) - 1;
    const pbMask = (1 << this.#pb) - 1;
    const dictSize = this.#dictSize;
    let state = this.#state;
    let rep0 = this.#rep0;
    let rep1 = this.#rep1;
    let rep2 = this.#rep2;
    let rep3 = this.#rep3;
    let dict = this.#dict;
    let dictLen = dict.length;
    let pos = this.#pos;
    let full = this.#full;
    // The position contexts (pb, lp) use the number of bytes since the last dictionary reset modulo
    // 16; the buffer position is that number modulo the buffer size, a multiple of 4096.
    let remaining = outSize;
    let p = 0;
    let bound = 0;
    let i = 0;
    let symbol = 0;
    let len = 0;

    while (remaining > 0) {
      const posState = pos & pbMask;
      // bit(IS_MATCH)
      i = IS_MATCH + (state << 4) + posState;
      if (range >>> 24 === 0) {
        range <<= 8;
        code = (code << 8) | input[ip++]!;
      }
      p = probs[i]!;
      bound = Math.imul(range >>> 11, p);
      if ((code ^ 0x80000000) < (bound ^ 0x80000000)) {
        range = bound;
        probs[i] = p + ((2048 - p) >>> 5);
        // ---- literal
        const prev = full > 0 ? dict[pos > 0 ? pos - 1 : dictLen - 1]! : 0;
        const base = LITERAL + 0x300 * (((pos & lpMask) << lc) + (prev >>> lcShift));
        symbol = 1;
        if (state < 7) {
          do {
            // bit(base + symbol)
            i = base + symbol;
            if (range >>> 24 === 0) {
              range <<= 8;
              code = (code << 8) | input[ip++]!;
            }
            p = probs[i]!;
            bound = Math.imul(range >>> 11, p);
            if ((code ^ 0x80000000) < (bound ^ 0x80000000)) {
              range = bound;
              probs[i] = p + ((2048 - p) >>> 5);
              symbol <<= 1;
            } else {
              range = (range - bound) | 0;
              code = (code - bound) | 0;
              probs[i] = p - (p >>> 5);
              symbol = (symbol << 1) | 1;
            }
          } while (symbol < 0x100);
          state = state < 4 ? 0 : state - 3;
        } else {
          // "matched" literal: the byte at distance rep0 steers the probabilities
          let src = pos - rep0 - 1;
          if (src < 0) src += dictLen;
          let matchByte = dict[src]!;
          let offs = 0x100;
          do {
            matchByte <<= 1;
            const matchBit = matchByte & offs;
            // bit(base + offs + matchBit + symbol)
            i = base + offs + matchBit + symbol;
            if (range >>> 24 === 0) {
              range <<= 8;
              code = (code << 8) | input[ip++]!;
            }
            p = probs[i]!;
            bound = Math.imul(range >>> 11, p);
            if ((code ^ 0x80000000) < (bound ^ 0x80000000)) {
              range = bound;
              probs[i] = p + ((2048 - p) >>> 5);
              symbol <<= 1;
              offs &= ~matchBit;
            } else {
              range = (range - bound) | 0;
              code = (code - bound) | 0;
              probs[i] = p - (p >>> 5);
              symbol = (symbol << 1) | 1;
              offs &= matchBit;
            }
          } while (symbol < 0x100);
          state = state < 10 ? state - 3 : state - 6;
        }
        dict[pos++] = symbol & 0xff;
        if (full < dictSize) full++;
        remaining--;
        if (pos === dictLen) {
          this.#pos = pos;
          this.#dictEnd();
          dict = this.#dict;
          dictLen = dict.length;
          pos = this.#pos;
        }
        continue;
      }
      range = (range - bound) | 0;
      code = (code - bound) | 0;
      probs[i] = p - (p >>> 5);

      let lenBase: number;
      let plainMatch = false;
      // bit(IS_REP)
      i = IS_REP + state;
      if (range >>> 24 === 0) {
        range <<= 8;
        code = (code << 8) | input[ip++]!;
      }
      p = probs[i]!;
      bound = Math.imul(range >>> 11, p);
      if ((code ^ 0x80000000) < (bound ^ 0x80000000)) {
        range = bound;
        probs[i] = p + ((2048 - p) >>> 5);
        // ---- plain match: distance follows the length
        plainMatch = true;
        rep3 = rep2;
        rep2 = rep1;
        rep1 = rep0;
        lenBase = MATCH_LEN;
        state = state < 7 ? 7 : 10;
      } else {
        range = (range - bound) | 0;
        code = (code - bound) | 0;
        probs[i] = p - (p >>> 5);
        // ---- repeated match
        // bit(IS_REP0)
        i = IS_REP0 + state;
        if (range >>> 24 === 0) {
          range <<= 8;
          code = (code << 8) | input[ip++]!;
        }
        p = probs[i]!;
        bound = Math.imul(range >>> 11, p);
        if ((code ^ 0x80000000) < (bound ^ 0x80000000)) {
          range = bound;
          probs[i] = p + ((2048 - p) >>> 5);
          // bit(IS_REP0_LONG)
          i = IS_REP0_LONG + (state << 4) + posState;
          if (range >>> 24 === 0) {
            range <<= 8;
            code = (code << 8) | input[ip++]!;
          }
          p = probs[i]!;
          bound = Math.imul(range >>> 11, p);
          if ((code ^ 0x80000000) < (bound ^ 0x80000000)) {
            range = bound;
            probs[i] = p + ((2048 - p) >>> 5);
            // short rep: one byte at distance rep0
            if (rep0 >= full) throw new XzError('LZMA distance beyond the dictionary');
            state = state < 7 ? 9 : 11;
            let src = pos - rep0 - 1;
            if (src < 0) src += dictLen;
            dict[pos] = dict[src]!;
            pos++;
            if (full < dictSize) full++;
            remaining--;
            if (pos === dictLen) {
              this.#pos = pos;
              this.#dictEnd();
              dict = this.#dict;
              dictLen = dict.length;
              pos = this.#pos;
            }
            continue;
          }
          range = (range - bound) | 0;
          code = (code - bound) | 0;
          probs[i] = p - (p >>> 5);
        } else {
          range = (range - bound) | 0;
          code = (code - bound) | 0;
          probs[i] = p - (p >>> 5);
          let dist: number;
          // bit(IS_REP1)
          i = IS_REP1 + state;
          if (range >>> 24 === 0) {
            range <<= 8;
            code = (code << 8) | input[ip++]!;
          }
          p = probs[i]!;
          bound = Math.imul(range >>> 11, p);
          if ((code ^ 0x80000000) < (bound ^ 0x80000000)) {
            range = bound;
            probs[i] = p + ((2048 - p) >>> 5);
            dist = rep1;
          } else {
            range = (range - bound) | 0;
            code = (code - bound) | 0;
            probs[i] = p - (p >>> 5);
            // bit(IS_REP2)
            i = IS_REP2 + state;
            if (range >>> 24 === 0) {
              range <<= 8;
              code = (code << 8) | input[ip++]!;
            }
            p = probs[i]!;
            bound = Math.imul(range >>> 11, p);
            if ((code ^ 0x80000000) < (bound ^ 0x80000000)) {
              range = bound;
              probs[i] = p + ((2048 - p) >>> 5);
              dist = rep2;
            } else {
              range = (range - bound) | 0;
              code = (code - bound) | 0;
              probs[i] = p - (p >>> 5);
              dist = rep3;
              rep3 = rep2;
            }
            rep2 = rep1;
          }
          rep1 = rep0;
          rep0 = dist;
        }
        lenBase = REP_LEN;
        state = state < 7 ? 8 : 11;
      }

      // ---- length: choice bits pick the low (2-9), mid (10-17) or high (18-273) tree
      let treeBase: number;
      let treeBits: number;
      // bit(lenBase + LEN_CHOICE)
      i = lenBase + LEN_CHOICE;
      if (range >>> 24 === 0) {
        range <<= 8;
        code = (code << 8) | input[ip++]!;
      }
      p = probs[i]!;
      bound = Math.imul(range >>> 11, p);
      if ((code ^ 0x80000000) < (bound ^ 0x80000000)) {
        range = bound;
        probs[i] = p + ((2048 - p) >>> 5);
        treeBase = lenBase + LEN_LOW + posState * 8;
        treeBits = 3;
        len = 2;
      } else {
        range = (range - bound) | 0;
        code = (code - bound) | 0;
        probs[i] = p - (p >>> 5);
        // bit(lenBase + LEN_CHOICE2)
        i = lenBase + LEN_CHOICE2;
        if (range >>> 24 === 0) {
          range <<= 8;
          code = (code << 8) | input[ip++]!;
        }
        p = probs[i]!;
        bound = Math.imul(range >>> 11, p);
        if ((code ^ 0x80000000) < (bound ^ 0x80000000)) {
          range = bound;
          probs[i] = p + ((2048 - p) >>> 5);
          treeBase = lenBase + LEN_MID + posState * 8;
          treeBits = 3;
          len = 10;
        } else {
          range = (range - bound) | 0;
          code = (code - bound) | 0;
          probs[i] = p - (p >>> 5);
          treeBase = lenBase + LEN_HIGH;
          treeBits = 8;
          len = 18;
        }
      }
      symbol = 1;
      for (let k = 0; k < treeBits; k++) {
        // bit(treeBase + symbol)
        i = treeBase + symbol;
        if (range >>> 24 === 0) {
          range <<= 8;
          code = (code << 8) | input[ip++]!;
        }
        p = probs[i]!;
        bound = Math.imul(range >>> 11, p);
        if ((code ^ 0x80000000) < (bound ^ 0x80000000)) {
          range = bound;
          probs[i] = p + ((2048 - p) >>> 5);
          symbol <<= 1;
        } else {
          range = (range - bound) | 0;
          code = (code - bound) | 0;
          probs[i] = p - (p >>> 5);
          symbol = (symbol << 1) | 1;
        }
      }
      len += symbol - (1 << treeBits);

      if (plainMatch) {
        // ---- distance: a 6-bit slot, then reverse-coded or direct bits
        const slotBase = DIST_SLOT + ((len < 6 ? len - 2 : 3) << 6);
        symbol = 1;
        do {
          // bit(slotBase + symbol)
          i = slotBase + symbol;
          if (range >>> 24 === 0) {
            range <<= 8;
            code = (code << 8) | input[ip++]!;
          }
          p = probs[i]!;
          bound = Math.imul(range >>> 11, p);
          if ((code ^ 0x80000000) < (bound ^ 0x80000000)) {
            range = bound;
            probs[i] = p + ((2048 - p) >>> 5);
            symbol <<= 1;
          } else {
            range = (range - bound) | 0;
            code = (code - bound) | 0;
            probs[i] = p - (p >>> 5);
            symbol = (symbol << 1) | 1;
          }
        } while (symbol < 64);
        const slot = symbol - 64;
        if (slot < 4) {
          rep0 = slot;
        } else {
          const directBits = (slot >>> 1) - 1;
          let dist = 2 | (slot & 1);
          let reverseBase: number;
          let reverseBits: number;
          if (slot < 14) {
            dist <<= directBits;
            reverseBase = DIST_SPECIAL + dist - slot - 1;
            reverseBits = directBits;
          } else {
            for (let k = directBits - 4; k > 0; k--) {
              if (range >>> 24 === 0) {
                range <<= 8;
                code = (code << 8) | input[ip++]!;
              }
              range >>>= 1;
              if ((code ^ 0x80000000) >= (range ^ 0x80000000)) {
                code = (code - range) | 0;
                dist = dist * 2 + 1;
              } else {
                dist = dist * 2;
              }
            }
            dist *= 16;
            reverseBase = DIST_ALIGN;
            reverseBits = 4;
          }
          symbol = 1;
          for (let k = 0; k < reverseBits; k++) {
            // bit(reverseBase + symbol)
            i = reverseBase + symbol;
            if (range >>> 24 === 0) {
              range <<= 8;
              code = (code << 8) | input[ip++]!;
            }
            p = probs[i]!;
            bound = Math.imul(range >>> 11, p);
            if ((code ^ 0x80000000) < (bound ^ 0x80000000)) {
              range = bound;
              probs[i] = p + ((2048 - p) >>> 5);
              symbol <<= 1;
            } else {
              range = (range - bound) | 0;
              code = (code - bound) | 0;
              probs[i] = p - (p >>> 5);
              symbol = (symbol << 1) | 1;
              dist += 2 ** k;
            }
          }
          rep0 = dist;
        }
      }

      // ---- copy len bytes from distance rep0 + 1
      if (rep0 >= full) throw new XzError('LZMA distance beyond the dictionary');
      if (len > remaining) throw new XzError('LZMA match runs past the end of the chunk');
      remaining -= len;
      let src = pos - rep0 - 1;
      if (src < 0) src += dictLen;
      if (src + len <= dictLen && pos + len < dictLen) {
        // No wrap of source or destination within this match.
        if (len >= 32 && (src > pos || src + len <= pos)) {
          dict.copyWithin(pos, src, src + len);
          pos += len;
        } else {
          // Short, or overlapping (distance < length): byte by byte repeats the pattern.
          for (let k = 0; k < len; k++) dict[pos++] = dict[src++]!;
        }
        full = Math.min(full + len, dictSize);
      } else {
        // Before the buffer first wraps, src < pos and growing keeps indexes valid; after, src wraps.
        for (let k = 0; k < len; k++) {
          dict[pos++] = dict[src]!;
          if (++src === dictLen) src = 0;
          if (full < dictSize) full++;
          if (pos === dictLen) {
            this.#pos = pos;
            this.#dictEnd();
            dict = this.#dict;
            dictLen = dict.length;
            pos = this.#pos;
          }
        }
      }
    }

    // The decoder normalizes before each bit; the encoder's flush leaves one final normalization.
    if (range >>> 24 === 0) {
      range <<= 8;
      code = (code << 8) | input[ip++]!;
    }
    if (ip > inEnd) throw new XzError('LZMA2 chunk is truncated');
    if (ip !== inEnd || code !== 0) throw new XzError('LZMA2 chunk does not end where its header says');
    this.#state = state;
    this.#rep0 = rep0;
    this.#rep1 = rep1;
    this.#rep2 = rep2;
    this.#rep3 = rep3;
    this.#pos = pos;
    this.#full = full;
  }
}

function readU32(bytes: Uint8Array, offset: number): number {
  return (bytes[offset]! | (bytes[offset + 1]! << 8) | (bytes[offset + 2]! << 16) | (bytes[offset + 3]! << 24)) >>> 0;
}

/** xz multibyte integer (7 bits per byte, little-endian, at most 9 bytes); kept below 2^53. */
function readVarint(bytes: Uint8Array, r: { pos: number }, end: number): number {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 9; i++) {
    if (r.pos >= end) throw new XzError('truncated integer');
    const b = bytes[r.pos++]!;
    value += (b & 0x7f) * scale;
    if ((b & 0x80) === 0) {
      if (b === 0 && i > 0) throw new XzError('non-minimal integer encoding');
      if (value > Number.MAX_SAFE_INTEGER) throw new XzError('integer too large');
      return value;
    }
    scale *= 128;
  }
  throw new XzError('integer too long');
}

function recordBytes(unpadded: number, uncompressed: number): Uint8Array {
  const out = new Uint8Array(16);
  const view = new DataView(out.buffer);
  view.setFloat64(0, unpadded, true);
  view.setFloat64(8, uncompressed, true);
  return out;
}
