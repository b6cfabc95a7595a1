/**
 * One push interface over the member compressions a .deb may use, all streaming:
 * - none;
 * - gzip: the runtime's `DecompressionStream('gzip')` (native zlib on Node 20 and on Workers),
 *   which reads concatenated members, as dpkg's gzread() does, and checks each member's CRC-32
 *   and ISIZE;
 * - xz: our own LZMA2 decoder (./xz.ts);
 * - zstd: `fzstd` (pure JS), behind a frame-structure guard that refuses window sizes above a limit
 *   before fzstd allocates its window, and blocks larger than the format's 128 KiB maximum. fzstd
 *   skips the frame content checksum and never compares the output with the declared content
 *   size: both are checked here (XXH64 of the frame's output, as libzstd does; dpkg-deb refuses a
 *   frame whose checksum does not match).
 *
 * Like dpkg-deb, a zstd or xz member is one frame / one stream: dpkg stops decoding at its end and
 * ignores the rest, so more frames or streams are refused rather than listed.
 *
 * Output goes to a synchronous sink; a sink that throws stops the decompression and its error is
 * what `write()`/`end()` throw. Decoder errors are thrown as `DecompressError`.
 */
import { Decompress as ZstdDecompress } from 'fzstd';
import { RepodError } from '../../errors.ts';
import { Xxh64 } from '../checksums/xxhash64.ts';
import { XzDecoder, XzError } from '../xz/decoder.ts';
import { ByteQueue } from './byte-queue.ts';

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

export function createInflater(compression: Compression, sink: (chunk: Uint8Array) => void, options: InflaterOptions = {}): Inflater {
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
    // dpkg decodes one xz stream per member (no LZMA_CONCATENATED) and ignores what follows: a
    // second stream would be content repod lists and dpkg never unpacks.
    this.#decoder = new XzDecoder(sink, { maxDictSize: maxWindow, singleStream: true });
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
  const message = GZIP_TRAILER_ERRORS[e.message] ?? e.message;
  return new DecompressError(`${codec}: ${message}`, { cause: e });
}

/**
 * zlib checks both fields of every gzip member's trailer (Node's gunzip goes on to the next member
 * after each one); its messages do not say which field, so name them.
 */
const GZIP_TRAILER_ERRORS: Record<string, string> = {
  'incorrect data check': 'CRC-32 mismatch in a member trailer (incorrect data check)',
  'incorrect length check': 'ISIZE mismatch in a member trailer (incorrect length check)',
};

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
  #failed: unknown = undefined;
  // the frame being decoded
  #decoder: ZstdDecompress | undefined;
  #hash: Xxh64 | undefined;
  #contentSize: number | undefined;
  #produced = 0;

  constructor(sink: (chunk: Uint8Array) => void, maxWindow: number) {
    this.#guard = new ZstdFrameGuard(maxWindow, {
      start: (frame) => {
        // Ending fzstd's stream at the frame's last byte flushes everything it holds, so the
        // output is complete when the checks run.
        this.#hash = frame.checksum ? new Xxh64() : undefined;
        this.#contentSize = frame.contentSize;
        this.#produced = 0;
        this.#decoder = new ZstdDecompress((data) => {
          if (data.length === 0) return;
          this.#hash?.update(data);
          this.#produced += data.length;
          sink(data);
        });
      },
      // fzstd keeps references to incomplete input: give it its own copy.
      data: (bytes) => this.#decoder!.push(bytes.slice(), false),
      end: (checksum) => {
        this.#decoder!.push(new Uint8Array(0), true);
        this.#decoder = undefined;
        if (this.#contentSize !== undefined && this.#produced !== this.#contentSize) {
          throw new DecompressError(`zstd: frame decodes to ${this.#produced} bytes, its header says ${this.#contentSize}`);
        }
        // The format stores the low 32 bits of the XXH64 of the frame's decompressed content.
        if (checksum !== undefined && this.#hash!.digestHalves()[1] !== checksum) {
          throw new DecompressError('zstd: frame content checksum mismatch (restored data does not match the checksum)');
        }
      },
    });
  }

  write(chunk: Uint8Array): void {
    if (this.#failed !== undefined) throw this.#failed;
    try {
      this.#guard.inspect(chunk);
    } catch (e) {
      this.#failed = decoderError(e, 'zstd');
      throw this.#failed;
    }
  }

  end(): void {
    if (this.#failed !== undefined) throw this.#failed;
    try {
      this.#guard.end();
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
}

/** Receives the zstd frame the guard finds. */
export interface ZstdFrameHandler {
  /** A frame starts; `contentSize` is the Frame_Content_Size when the header declares one. */
  start(frame: { checksum: boolean; contentSize: number | undefined }): void;
  /** The frame's bytes in order, from its magic number through its checksum. */
  data(bytes: Uint8Array): void;
  /** The frame is complete; `checksum` is its stored Content_Checksum, if it has one. */
  end(checksum: number | undefined): void;
}

/**
 * Follows the zstd frame layout (RFC 8878 §3.1) over the compressed bytes without decoding them,
 * to refuse what would make fzstd allocate or copy too much: window sizes above the limit
 * (including single-segment frames whose window is the content size), reserved bits, dictionaries,
 * blocks above 128 KiB. Also ensures the input is exactly one frame (what dpkg-deb reads of a
 * member), and tells the handler where it starts and ends, with its declared content size and
 * checksum.
 */
export class ZstdFrameGuard {
  readonly #maxWindow: number;
  readonly #handler: ZstdFrameHandler | undefined;
  readonly #pending = new ByteQueue();
  #seq: ZSeq = ZSeq.Magic;
  #need = 4; // bytes wanted in #pending before the next decision
  #skip = 0; // bytes to pass over (block bodies)
  #frames = 0;
  #checksum = false;
  #blockMax = 0;
  #lastBlock = false;

  constructor(maxWindow: number, handler?: ZstdFrameHandler) {
    this.#maxWindow = maxWindow;
    this.#handler = handler;
  }

  inspect(chunk: Uint8Array): void {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.#skip > 0) {
        const n = Math.min(this.#skip, chunk.length - offset);
        if (this.#seq === ZSeq.BlockBody) this.#handler?.data(chunk.subarray(offset, offset + n));
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
    if (this.#seq === ZSeq.Magic && this.#pending.length !== 0) {
      throw new DecompressError('zstd: data after the end of the first frame (dpkg-deb reads only the first frame)');
    }
    if (this.#seq !== ZSeq.Magic || this.#pending.length !== 0 || this.#skip !== 0) throw new DecompressError('zstd: truncated frame');
  }

  #decide(): void {
    const bytes = this.#pending.peek(this.#need);
    switch (this.#seq) {
      case ZSeq.Magic: {
        const magic = (bytes[0]! | (bytes[1]! << 8) | (bytes[2]! << 16) | (bytes[3]! << 24)) >>> 0;
        // dpkg-deb stops at the end of the first frame, skippable or not (its zstd filter ends the
        // stream when ZSTD_decompressStream() returns 0) and ignores what follows: content after
        // it would be listed by repod and never unpacked by dpkg, so it is refused.
        if (this.#frames > 0) throw new DecompressError('zstd: data after the end of the first frame (dpkg-deb reads only the first frame)');
        if (magic === 0xfd2fb528) {
          this.#seq = ZSeq.FrameHeader;
          this.#need = 5;
          return;
        }
        if ((magic & 0xfffffff0) >>> 0 === 0x184d2a50) {
          throw new DecompressError('zstd: skippable frame at the start of the member (dpkg-deb reads nothing past it)');
        }
        throw new DecompressError('zstd: bad frame magic');
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
        let fcs: number | undefined;
        if (fcsBytes > 0) {
          const at = 5 + (singleSegment ? 0 : 1);
          fcs = 0;
          for (let i = fcsBytes - 1; i >= 0; i--) fcs = fcs * 256 + bytes[at + i]!;
          if (fcsFlag === 1) fcs += 256;
        }
        let window: number;
        if (singleSegment) {
          window = fcs!;
        } else {
          const wd = bytes[5]!;
          const base = 2 ** (10 + (wd >> 3));
          window = base + (base / 8) * (wd & 7);
        }
        if (window > this.#maxWindow) throw new DecompressError(`zstd: window of ${window} bytes exceeds the limit of ${this.#maxWindow}`);
        this.#checksum = ((fhd >> 2) & 1) === 1;
        this.#blockMax = Math.min(Math.max(window, 1), 128 * 1024);
        this.#handler?.start({ checksum: this.#checksum, contentSize: fcs });
        this.#handler?.data(bytes);
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
        this.#handler?.data(bytes);
        this.#lastBlock = last === 1;
        this.#seq = ZSeq.BlockBody;
        this.#skip = type === 1 ? 1 : size;
        if (this.#skip === 0) this.#afterSkip();
        return;
      }
      case ZSeq.Checksum: {
        const stored = (bytes[0]! | (bytes[1]! << 8) | (bytes[2]! << 16) | (bytes[3]! << 24)) >>> 0;
        this.#handler?.data(bytes);
        this.#pending.clear();
        this.#seq = ZSeq.Magic;
        this.#need = 4;
        this.#handler?.end(stored);
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
        this.#need = 4;
        return;
      }
      this.#seq = ZSeq.Magic;
      this.#need = 4;
      this.#handler?.end(undefined);
      return;
    }
    this.#seq = ZSeq.Magic;
    this.#need = 4;
  }
}
