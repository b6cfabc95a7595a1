/**
 * The decompressed payload of a package, as a stream, for scanners that do not look inside the
 * package's compression themselves (clamd does not open a .deb's `data.tar.xz`, nor an RPM's xz or
 * zstd payload):
 *
 * - .deb (deb(5)): the `ar` members are walked and the first member named `data.tar[.<ext>]` is
 *   decompressed (dpkg-deb's choice of compressor by suffix); members before it are skipped,
 *   anything after it is not read.
 * - RPM: the lead and headers are read with RpmReader; the payload starts at the end of the main
 *   header and is decompressed with the header's PAYLOADCOMPRESSOR. A missing tag or "gzip" is
 *   read as rpm reads it, through zlib's gzread, which passes data that does not start with the
 *   gzip magic through unchanged (that is how "w.ufdio" payloads are stored).
 *
 * The output is produced on demand: input is fed to the decompressor in slices only while the
 * consumer wants more. The decoders emit everything a write of input yields, so slices shrink as
 * the compression ratio seen so far grows (down to 64 bytes): a compression bomb advances a few
 * bytes of input, a few MiB of output, at a time instead of expanding a whole read at once. A package whose payload cannot be found or decompressed errors the
 * stream with PayloadError; an error of the source stream passes through unchanged.
 */
import { ByteQueue } from '../../formats/archive/byte-queue.ts';
import type { Compression, Inflater } from '../../formats/archive/decompress.ts';
import { compressionFromSuffix, createInflater } from '../../formats/archive/decompress.ts';
import { RpmReader } from '../../formats/rpm/reader.ts';
import { concatBytes } from '../../util/bytes.ts';

export type PackageKind = 'rpm' | 'deb';

/** The payload could not be found or decompressed; the package itself can still be scanned as it is. */
export class PayloadError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PayloadError';
  }
}

export interface PayloadOptions {
  /** Largest xz dictionary or zstd window accepted, in bytes. Default 128 MiB. */
  maxWindow?: number;
  /** Most input fed to the decompressor at a time, in bytes. Default 64 KiB. */
  sliceBytes?: number;
  /** Output aimed at per slice of input, in bytes (slices shrink as the ratio grows). Default 1 MiB. */
  targetBytes?: number;
  /** Decompressed bytes queued ahead of the consumer. Default 256 KiB. */
  highWaterMark?: number;
}

/** What the payload stream holds, as reported in scan results: "data.tar" or "cpio". */
export function payloadName(kind: PackageKind): string {
  return kind === 'deb' ? 'data.tar' : 'cpio';
}

const MIN_SLICE = 64;

interface Extractor {
  write(chunk: Uint8Array): void | Promise<void>;
  end(): void | Promise<void>;
  /** The payload is complete: the rest of the input is not needed. */
  readonly finished: boolean;
  abort(): void;
}

/** A stream of the decompressed payload of the package that `source` holds. */
export function packagePayload(kind: PackageKind, source: ReadableStream<Uint8Array>, options: PayloadOptions = {}): ReadableStream<Uint8Array> {
  const maxSlice = Math.max(MIN_SLICE, options.sliceBytes ?? 64 * 1024);
  const target = Math.max(1, options.targetBytes ?? 1024 * 1024);
  const reader = source.getReader();
  let extractor: Extractor;
  let pending: Uint8Array | undefined;
  let at = 0;
  let slice = Math.min(maxSlice, 256);
  let produced = 0;
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        const emit = (chunk: Uint8Array) => {
          produced += chunk.length;
          controller.enqueue(chunk);
        };
        extractor = kind === 'deb' ? new DebPayload(emit, options) : new RpmPayload(emit, options);
      },
      async pull(controller) {
        let sourceFailed = false;
        try {
          while ((controller.desiredSize ?? 1) > 0) {
            if (extractor.finished) {
              controller.close();
              reader.cancel().catch(() => {});
              return;
            }
            if (pending === undefined || at >= pending.length) {
              let next: ReadableStreamReadResult<Uint8Array>;
              try {
                next = await reader.read();
              } catch (error) {
                sourceFailed = true;
                throw error;
              }
              if (next.done) {
                await extractor.end();
                controller.close();
                return;
              }
              pending = next.value;
              at = 0;
              continue;
            }
            const piece = pending.subarray(at, at + slice);
            at += piece.length;
            const before = produced;
            await extractor.write(piece);
            const out = produced - before;
            slice = out === 0 ? Math.min(maxSlice, slice * 2) : Math.max(MIN_SLICE, Math.min(maxSlice, Math.floor((piece.length * target) / out)));
          }
        } catch (error) {
          extractor.abort();
          if (!sourceFailed) reader.cancel(error).catch(() => {});
          throw sourceFailed || error instanceof PayloadError ? error : payloadError(kind, error);
        }
      },
      cancel(reason) {
        extractor.abort();
        return reader.cancel(reason);
      },
    },
    new ByteLengthQueuingStrategy({ highWaterMark: options.highWaterMark ?? 256 * 1024 }),
  );
}

function payloadError(kind: PackageKind, error: unknown): PayloadError {
  const message = error instanceof Error ? error.message : String(error);
  return new PayloadError(`${kind === 'deb' ? 'data.tar' : 'rpm payload'}: ${message}`, { cause: error });
}

/** fzstd may hand out views of its window: those are copied before they are queued. */
function inflaterFor(compression: Compression, emit: (chunk: Uint8Array) => void, options: PayloadOptions): Inflater {
  const sink = compression === 'zstd' ? (chunk: Uint8Array) => emit(chunk.slice()) : emit;
  return createInflater(compression, sink, { maxWindow: options.maxWindow });
}

// ---- .deb ----------------------------------------------------------------------------------

const AR_MAGIC = '!<arch>\n';
const AR_HEADER = 60;

class DebPayload implements Extractor {
  readonly #emit: (chunk: Uint8Array) => void;
  readonly #options: PayloadOptions;
  readonly #queue = new ByteQueue();
  #magic = false;
  /** Body bytes left in the current member, then its padding byte. */
  #remaining = 0;
  #padding = 0;
  #inflater: Inflater | undefined;
  #finished = false;

  constructor(emit: (chunk: Uint8Array) => void, options: PayloadOptions) {
    this.#emit = emit;
    this.#options = options;
  }

  get finished(): boolean {
    return this.#finished;
  }

  async write(chunk: Uint8Array): Promise<void> {
    let offset = 0;
    while (offset < chunk.length && !this.#finished) {
      if (this.#remaining > 0) {
        const n = Math.min(this.#remaining, chunk.length - offset);
        const body = chunk.subarray(offset, offset + n);
        offset += n;
        this.#remaining -= n;
        if (this.#inflater) await this.#inflater.write(body);
        if (this.#remaining === 0 && this.#inflater) {
          await this.#inflater.end();
          this.#inflater = undefined;
          this.#finished = true;
        }
        continue;
      }
      if (this.#padding > 0) {
        const n = Math.min(this.#padding, chunk.length - offset);
        offset += n;
        this.#padding -= n;
        continue;
      }
      const want = this.#magic ? AR_HEADER : AR_MAGIC.length;
      const n = Math.min(want - this.#queue.length, chunk.length - offset);
      this.#queue.push(chunk.slice(offset, offset + n));
      offset += n;
      if (this.#queue.length === want) await this.#header(this.#queue.take(want));
    }
  }

  async #header(bytes: Uint8Array): Promise<void> {
    const text = latin1(bytes);
    if (!this.#magic) {
      if (text !== AR_MAGIC) throw new PayloadError('not a .deb: no ar magic');
      this.#magic = true;
      return;
    }
    if (text.slice(58, 60) !== '`\n') throw new PayloadError('bad ar member header');
    // GNU ar ends names with "/"; dpkg-deb pads them with spaces.
    const name = text.slice(0, 16).trimEnd().replace(/\/$/, '');
    const sizeField = text.slice(48, 58).trim();
    if (!/^\d+$/.test(sizeField)) throw new PayloadError(`ar member ${JSON.stringify(name)} has a bad size field`);
    const size = Number(sizeField);
    this.#padding = size % 2;
    this.#remaining = size;
    if (name === 'data.tar' || name.startsWith('data.tar.')) {
      const compression = compressionFromSuffix(name.slice('data.tar'.length));
      if (compression === undefined) throw new PayloadError(`${name}: unknown compression`);
      this.#inflater = inflaterFor(compression, this.#emit, this.#options);
      if (size === 0) {
        await this.#inflater.end();
        this.#finished = true;
      }
    }
  }

  end(): void | Promise<void> {
    if (this.#finished) return;
    if (this.#inflater) throw new PayloadError('the package ends inside its data.tar member');
    throw new PayloadError('the package has no data.tar member');
  }

  abort(): void {
    this.#inflater?.abort();
  }
}

function latin1(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return s;
}

// ---- RPM -----------------------------------------------------------------------------------

const GZIP_MAGIC = [0x1f, 0x8b];

class RpmPayload implements Extractor {
  readonly #emit: (chunk: Uint8Array) => void;
  readonly #options: PayloadOptions;
  readonly #reader = new RpmReader();
  #offset = 0;
  /** Payload bytes held back until the compression can be told (gzip or stored). */
  #head: Uint8Array[] = [];
  #headLength = 0;
  #compression: Compression | 'gzip-or-none' | undefined;
  #inflater: Inflater | undefined;

  constructor(emit: (chunk: Uint8Array) => void, options: PayloadOptions) {
    this.#emit = emit;
    this.#options = options;
  }

  get finished(): boolean {
    return false;
  }

  async write(chunk: Uint8Array): Promise<void> {
    const start = this.#offset;
    this.#offset += chunk.length;
    if (this.#compression === undefined) {
      if (!this.#reader.push(chunk)) return;
      const parsed = this.#reader.result();
      this.#compression = rpmCompression(parsed.payloadCompressor);
      chunk = chunk.subarray(parsed.pkg.headerEnd - start);
      if (chunk.length === 0) return;
    }
    if (this.#compression === 'gzip-or-none') {
      this.#head.push(chunk);
      this.#headLength += chunk.length;
      if (this.#headLength < GZIP_MAGIC.length) return;
      const first = this.#head[0]!.length >= 2 ? this.#head[0]! : concatBytes(this.#head);
      this.#compression = first[0] === GZIP_MAGIC[0] && first[1] === GZIP_MAGIC[1] ? 'gzip' : 'none';
      this.#inflater = inflaterFor(this.#compression, this.#emit, this.#options);
      const held = this.#head;
      this.#head = [];
      for (const part of held) await this.#inflater.write(part);
      return;
    }
    this.#inflater ??= inflaterFor(this.#compression, this.#emit, this.#options);
    await this.#inflater.write(chunk);
  }

  async end(): Promise<void> {
    if (this.#compression === undefined) this.#reader.result(); // throws: the headers are incomplete
    if (this.#compression === 'gzip-or-none') {
      // Fewer than two payload bytes: nothing rpm could unpack either.
      throw new PayloadError(this.#headLength > 0 ? 'rpm payload: truncated' : 'rpm payload: empty');
    }
    if (this.#inflater === undefined) throw new PayloadError('rpm payload: empty');
    await this.#inflater.end();
  }

  abort(): void {
    this.#inflater?.abort();
  }
}

/** PAYLOADCOMPRESSOR → compression ("gzip" or none: gzip if the magic says so, else stored). */
function rpmCompression(compressor: string | undefined): Compression | 'gzip-or-none' {
  switch (compressor) {
    case undefined:
    case 'gzip':
      return 'gzip-or-none';
    case 'xz':
      return 'xz';
    case 'zstd':
      return 'zstd';
    case 'bzip2':
      return 'bzip2';
    case 'lzma':
      return 'lzma';
    default:
      throw new PayloadError(`rpm payload: unknown PAYLOADCOMPRESSOR ${JSON.stringify(compressor)}`);
  }
}
