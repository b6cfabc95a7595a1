/**
 * One push interface over the member compressions a .deb may use, all streaming:
 * - none;
 * - gzip: the runtime's `DecompressionStream('gzip')` (native zlib on Node 20 and on Workers);
 * - xz: our own LZMA2 decoder (./xz.ts);
 * - zstd: `fzstd` (pure JS), behind a frame-structure guard that refuses window sizes above a limit
 *   before fzstd allocates its window, and blocks larger than the format's 128 KiB maximum.
 *
 * Output goes to a synchronous sink; a sink that throws stops the decompression and its error is
 * what `write()`/`end()` throw. Decoder errors are thrown as `DecompressError`.
 */
import { Decompress as ZstdDecompress } from 'fzstd';
import { RepodError } from '../../errors.ts';
import { ByteQueue } from './bytes.ts';
import { XzDecoder, XzError } from './xz.ts';

export type Compression = 'none' | 'gzip' | 'xz' | 'zstd' | 'bzip2' | 'lzma';

/** Member name suffix → compression, as dpkg's compressor_find_by_extension(). */
export function compressionFromSuffix(suffix: string): Compression | undefined {
  switch (suffix) {
    case '':
      return 'none';
    case '.gz':
      return 'gzip';
    case '.xz':
      return 'xz';
    case '.zst':
      return 'zstd';
    case '.bz2':
      return 'bzip2';
    case '.lzma':
      return 'lzma';
    default:
      return undefined;
  }
}

export class DecompressError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DecompressError';
  }
}

export interface Inflater {
  /** Feeds compressed bytes. The chunk must not be modified afterwards. */
  write(chunk: Uint8Array): void | Promise<void>;
  /** No more input: flushes and checks the compressed stream was complete. */
  end(): void | Promise<void>;
  /** Stops early and releases resources; never throws. */
  abort(): void;
}

export interface InflaterOptions {
  /** Largest xz dictionary / zstd window accepted, in bytes. Default 128 MiB. */
  maxWindow?: number;
}

export function createInflater(
  compression: Compression,
  sink: (chunk: Uint8Array) => void,
  options: InflaterOptions = {},
): Inflater {
  const maxWindow = options.maxWindow ?? 128 * 1024 * 1024;
  switch (compression) {
    case 'none':
      return { write: sink, end() {}, abort() {} };
    case 'gzip':
      return new WebStreamInflater('gzip', sink);
    case 'xz':
      return new XzInflater(sink, maxWindow);
    case 'zstd':
      return new ZstdInflater(sink, maxWindow);
    default:
      throw new DecompressError(`${compression} compression is not supported`);
  }
}

class XzInflater implements Inflater {
  readonly #decoder: XzDecoder;
  constructor(sink: (chunk: Uint8Array) => void, maxWindow: number) {
    this.#decoder = new XzDecoder(sink, { maxDictSize: maxWindow });
  }
  write(chunk: Uint8Array): void {
    wrap(() => this.#decoder.push(chunk));
  }
  end(): void {
    wrap(() => this.#decoder.end());
  }
  abort(): void {}
}

/** Only XzError means bad data; anything else from our own decoder is a bug and passes through as is. */
function wrap(fn: () => void): void {
  try {
    fn();
  } catch (e) {
    if (e instanceof XzError) throw new DecompressError(e.message);
    throw e;
  }
}

/**
 * Errors from a sink (RepodError, or any non-Error value it throws as a signal) and ours pass
 * through; a decoder's own errors become DecompressError.
 */
function decoderError(e: unknown, codec: string): unknown {
  if (!(e instanceof Error) || e instanceof DecompressError || e instanceof RepodError) return e;
  const message = e instanceof Error ? e.message : String(e);
  return new DecompressError(`${codec}: ${message}`, { cause: e });
}

/** DecompressionStream with a pump that feeds the sink; backpressure comes from awaiting writes. */
class WebStreamInflater implements Inflater {
  readonly #writer: WritableStreamDefaultWriter<BufferSource>;
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly #pump: Promise<void>;
  #error: unknown = undefined;

  constructor(format: CompressionFormat, sink: (chunk: Uint8Array) => void) {
    const stream = new DecompressionStream(format);
    const reader = stream.readable.getReader();
    this.#writer = stream.writable.getWriter();
    this.#reader = reader;
    this.#pump = (async () => {
      for (;;) {
        let result: ReadableStreamReadResult<Uint8Array>;
        try {
          result = await reader.read();
        } catch (e) {
          this.#fail(decoderError(e, 'gzip'));
          return;
        }
        if (result.done) return;
        try {
          sink(result.value);
        } catch (e) {
          this.#fail(e);
          return;
        }
      }
    })();
  }

  #fail(error: unknown): void {
    if (this.#error !== undefined) return;
    this.#error = error;
    this.#writer.abort(error).catch(() => {});
    this.#reader.cancel(error).catch(() => {});
  }

  async write(chunk: Uint8Array): Promise<void> {
    if (this.#error !== undefined) throw this.#error;
    try {
      await this.#writer.write(chunk as Uint8Array<ArrayBuffer>);
    } catch (e) {
      throw this.#error ?? decoderError(e, 'gzip');
    }
  }

  async end(): Promise<void> {
    if (this.#error !== undefined) throw this.#error;
    try {
      await this.#writer.close();
    } catch (e) {
      this.#fail(decoderError(e, 'gzip'));
    }
    await this.#pump;
    if (this.#error !== undefined) throw this.#error;
  }

  abort(): void {
    this.#fail(new DecompressError('aborted'));
  }
}

class ZstdInflater implements Inflater {
  readonly #guard: ZstdFrameGuard;
  readonly #decoder: ZstdDecompress;
  #failed: unknown = undefined;

  constructor(sink: (chunk: Uint8Array) => void, maxWindow: number) {
    this.#guard = new ZstdFrameGuard(maxWindow);
    this.#decoder = new ZstdDecompress((data) => {
      if (data.length > 0) sink(data);
    });
  }

  write(chunk: Uint8Array): void {
    if (this.#failed !== undefined) throw this.#failed;
    try {
      this.#guard.inspect(chunk);
      // fzstd keeps references to incomplete input: give it its own copy.
      this.#decoder.push(chunk.slice(), false);
    } catch (e) {
      this.#failed = decoderError(e, 'zstd');
      throw this.#failed;
    }
  }

  end(): void {
    if (this.#failed !== undefined) throw this.#failed;
    try {
      this.#guard.end();
      this.#decoder.push(new Uint8Array(0), true);
    } catch (e) {
      this.#failed = decoderError(e, 'zstd');
      throw this.#failed;
    }
  }

  abort(): void {}
}

const enum ZSeq {
  Magic,
  FrameHeader,
  BlockHeader,
  BlockBody,
  Checksum,
  Skippable,
}

/**
 * Follows the zstd frame layout (RFC 8878 §3.1) over the compressed bytes without decoding them,
 * to refuse what would make fzstd allocate or copy too much: window sizes above the limit
 * (including single-segment frames whose window is the content size), reserved bits, dictionaries,
 * blocks above 128 KiB. Also ensures the input ends on a frame boundary.
 */
export class ZstdFrameGuard {
  readonly #maxWindow: number;
  readonly #pending = new ByteQueue();
  #seq: ZSeq = ZSeq.Magic;
  #need = 4; // bytes wanted in #pending before the next decision
  #skip = 0; // bytes to pass over (block bodies, checksums, skippable frames)
  #frames = 0;
  #checksum = false;
  #blockMax = 0;
  #lastBlock = false;

  constructor(maxWindow: number) {
    this.#maxWindow = maxWindow;
  }

  inspect(chunk: Uint8Array): void {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.#skip > 0) {
        const n = Math.min(this.#skip, chunk.length - offset);
        this.#skip -= n;
        offset += n;
        if (this.#skip === 0) this.#afterSkip();
        continue;
      }
      const n = Math.min(this.#need - this.#pending.length, chunk.length - offset);
      this.#pending.push(chunk.slice(offset, offset + n));
      offset += n;
      if (this.#pending.length === this.#need) this.#decide();
    }
  }

  end(): void {
    if (this.#frames === 0) throw new DecompressError('zstd: no frame');
    if (this.#seq !== ZSeq.Magic || this.#pending.length !== 0 || this.#skip !== 0) throw new DecompressError('zstd: truncated frame');
  }

  #decide(): void {
    const bytes = this.#pending.peek(this.#need);
    switch (this.#seq) {
      case ZSeq.Magic: {
        const magic = (bytes[0]! | (bytes[1]! << 8) | (bytes[2]! << 16) | (bytes[3]! << 24)) >>> 0;
        if (magic === 0xfd2fb528) {
          this.#seq = ZSeq.FrameHeader;
          this.#need = 5;
          return;
        }
        if ((magic & 0xfffffff0) >>> 0 === 0x184d2a50) {
          this.#seq = ZSeq.Skippable;
          this.#need = 8;
          return;
        }
        throw new DecompressError('zstd: bad frame magic');
      }
      case ZSeq.Skippable: {
        const size = (bytes[4]! | (bytes[5]! << 8) | (bytes[6]! << 16) | (bytes[7]! << 24)) >>> 0;
        this.#pending.clear();
        this.#frames += 1;
        this.#seq = ZSeq.Magic;
        this.#need = 4;
        this.#skip = size;
        return;
      }
      case ZSeq.FrameHeader: {
        const fhd = bytes[4]!;
        const fcsFlag = fhd >> 6;
        const singleSegment = (fhd >> 5) & 1;
        const dictFlag = fhd & 3;
        if (fhd & 0x08) throw new DecompressError('zstd: reserved frame header bit set');
        if (dictFlag !== 0) throw new DecompressError('zstd: frames that need a dictionary are not supported');
        const fcsBytes = fcsFlag === 0 ? singleSegment : 1 << fcsFlag;
        const total = 5 + (singleSegment ? 0 : 1) + fcsBytes;
        if (bytes.length < total) {
          this.#need = total;
          return;
        }
        let window: number;
        if (singleSegment) {
          let fcs = 0;
          for (let i = fcsBytes - 1; i >= 0; i--) fcs = fcs * 256 + bytes[5 + i]!;
          if (fcsFlag === 1) fcs += 256;
          window = fcs;
        } else {
          const wd = bytes[5]!;
          const base = 2 ** (10 + (wd >> 3));
          window = base + (base / 8) * (wd & 7);
        }
        if (window > this.#maxWindow) throw new DecompressError(`zstd: window of ${window} bytes exceeds the limit of ${this.#maxWindow}`);
        this.#checksum = ((fhd >> 2) & 1) === 1;
        this.#blockMax = Math.min(Math.max(window, 1), 128 * 1024);
        this.#pending.clear();
        this.#seq = ZSeq.BlockHeader;
        this.#need = 3;
        return;
      }
      case ZSeq.BlockHeader: {
        const header = bytes[0]! | (bytes[1]! << 8) | (bytes[2]! << 16);
        const last = header & 1;
        const type = (header >> 1) & 3;
        const size = header >>> 3;
        this.#pending.clear();
        if (type === 3) throw new DecompressError('zstd: reserved block type');
        if (size > this.#blockMax) throw new DecompressError('zstd: block larger than the format allows');
        this.#lastBlock = last === 1;
        this.#seq = ZSeq.BlockBody;
        this.#skip = type === 1 ? 1 : size;
        if (this.#skip === 0) this.#afterSkip();
        return;
      }
      default:
        throw new DecompressError('zstd: internal state error');
    }
  }

  #afterSkip(): void {
    if (this.#seq === ZSeq.BlockBody) {
      if (!this.#lastBlock) {
        this.#seq = ZSeq.BlockHeader;
        this.#need = 3;
        return;
      }
      this.#frames += 1;
      if (this.#checksum) {
        this.#seq = ZSeq.Checksum;
        this.#skip = 4;
        return;
      }
    }
    this.#seq = ZSeq.Magic;
    this.#need = 4;
  }
}
