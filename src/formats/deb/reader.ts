/**
 * Incremental reader of Debian binary packages (.deb, .udeb, .ddeb), deb(5):
 *
 *   "!<arch>\n", then ar members (60-byte headers, bodies padded to even sizes):
 *   debian-binary ("2.x\n"), control.tar[.gz|.xz|.zst], data.tar[.gz|.xz|.zst|.bz2|.lzma]
 *
 * Member rules follow dpkg-deb (src/deb/extract.c): debian-binary first, with format major version
 * 2; members whose names start with '_' are skipped; exactly one control member, before the data
 * member; anything after the data member is ignored.
 *
 * Bytes are pushed as they arrive and nothing is buffered whole: control.tar is decompressed and
 * walked as a stream (only its `control` file is kept) and data.tar is decompressed and walked for
 * its entry names, contents skipped. Both compressed members are decompressed to their end, so the
 * compressors' integrity checks (gzip CRC-32 and ISIZE of every member, xz block checks and index,
 * zstd content checksum and size) apply to all of them. Limits stop compression bombs:
 * decompressed control.tar size, decompressed data.tar size (absolute, and relative to the
 * compressed member once past 64 MiB), tar entry count, xz dictionary / zstd window size.
 *
 * Every failure is an InvalidPackageError naming the member and the problem.
 */
import { InvalidPackageError, RepodError } from '../../errors.ts';
import { concatBytes } from '../../util/bytes.ts';
import { ByteQueue } from '../archive/byte-queue.ts';
import type { Compression, Inflater } from '../archive/decompress.ts';
import { compressionFromSuffix, createInflater, DecompressError } from '../archive/decompress.ts';
import { asciiField, decodeUtf8Strict } from '../archive/fields.ts';
import type { TarEntry } from '../archive/tar.ts';
import { TarWalker } from '../archive/tar.ts';
import type { DebControl } from './control.ts';
import { parseDebControl } from './control.ts';

export type { DebControl } from './control.ts';

export interface DebParseResult {
  control: DebControl;
  /**
   * Non-directory entries of data.tar (files, symlinks, hardlinks, device nodes, fifos) in archive
   * order, without the leading "./" (or "/"): what a Contents index lists. Empty when the reader
   * was created with `files: false`.
   */
  files: string[];
  /** ar member names, e.g. "control.tar.xz" and "data.tar.xz". */
  controlMember: string;
  dataMember: string;
  /** Entries of control.tar other than the top directory, without "./" (control, md5sums, postinst...). */
  controlFiles: string[];
  /** The package format version from debian-binary, e.g. "2.0". */
  formatVersion: string;
}

export interface DebReaderOptions {
  /** List data.tar's entries (default true). With false, data.tar is not decompressed at all. */
  files?: boolean;
  /** Largest decompressed control.tar, in bytes. Default 16 MiB. */
  maxControlSize?: number;
  /** Largest decompressed data.tar, in bytes. Default 64 GiB. */
  maxDataSize?: number;
  /**
   * Largest ratio of decompressed to compressed data.tar size, enforced once more than 64 MiB came
   * out. Default 256 (real packages stay far below; a gzip bomb reaches about 1000).
   */
  maxDataRatio?: number;
  /** Most tar entries accepted in data.tar. Default 1,000,000. */
  maxEntries?: number;
  /** Largest xz dictionary or zstd window, in bytes. Default 128 MiB. */
  maxWindow?: number;
}

const AR_MAGIC = '!<arch>\n';
const AR_HEADER = 60;
const RATIO_FLOOR = 64 * 1024 * 1024;
const MAX_DEBIAN_BINARY = 4096;

const enum State {
  Magic,
  Header,
  Body,
  Pad,
  Done,
}

type MemberKind = 'debian-binary' | 'control' | 'data' | 'skip';

interface Member {
  name: string;
  size: number;
  remaining: number;
  kind: MemberKind;
  inflater?: Inflater;
}

export class DebReader {
  readonly #options: Required<Omit<DebReaderOptions, 'maxWindow'>> & { maxWindow?: number };
  readonly #pending = new ByteQueue();
  #state: State = State.Magic;
  #member: Member | undefined;
  #chain: Promise<void> = Promise.resolve();
  #error: InvalidPackageError | undefined;

  #formatVersion: string | undefined;
  #sawFirst = false;
  #debianBinary: Uint8Array[] = [];
  #controlMember: string | undefined;
  #dataMember: string | undefined;
  #control: DebControl | undefined;
  #controlFiles: string[] = [];
  #controlFound = false;
  #files: string[] = [];
  #dataDone = false;
  #controlWalker: TarWalker | undefined;
  #dataWalker: TarWalker | undefined;

  constructor(options: DebReaderOptions = {}) {
    this.#options = {
      files: options.files ?? true,
      maxControlSize: options.maxControlSize ?? 16 * 1024 * 1024,
      maxDataSize: options.maxDataSize ?? 64 * 1024 * 1024 * 1024,
      maxDataRatio: options.maxDataRatio ?? 256,
      maxEntries: options.maxEntries ?? 1_000_000,
      maxWindow: options.maxWindow,
    };
  }

  /**
   * Feeds the next bytes of the package. Calls are processed in order even when not awaited (a
   * failure is then reported by every later call and by finish()). The chunk is not copied: do not
   * modify it afterwards (chunks from web streams never are).
   */
  push(chunk: Uint8Array): Promise<void> {
    const step = this.#chain.then(() => this.#run(() => this.#consume(chunk)));
    step.catch(() => {}); // reported by finish() even if this promise is dropped
    this.#chain = step;
    return step;
  }

  /** All bytes were pushed: checks the package was complete and returns what was read. */
  async finish(): Promise<DebParseResult> {
    const step = this.#chain.then(() => this.#run(() => this.#end()));
    this.#chain = step;
    await step;
    return {
      control: this.#control!,
      files: this.#files,
      controlMember: this.#controlMember!,
      dataMember: this.#dataMember!,
      controlFiles: this.#controlFiles,
      formatVersion: this.#formatVersion!,
    };
  }

  async #run(step: () => Promise<void> | void): Promise<void> {
    if (this.#error) throw this.#error;
    try {
      await step();
    } catch (e) {
      this.#error = toInvalidPackage(e, this.#member?.name);
      this.#member?.inflater?.abort();
      throw this.#error;
    }
  }

  async #consume(chunk: Uint8Array): Promise<void> {
    let offset = 0;
    while (offset < chunk.length) {
      switch (this.#state) {
        case State.Done:
          return;
        case State.Magic: {
          const n = Math.min(AR_MAGIC.length - this.#pending.length, chunk.length - offset);
          this.#pending.push(chunk.slice(offset, offset + n));
          offset += n;
          const seen = asciiField(this.#pending.peek(this.#pending.length));
          if (!AR_MAGIC.startsWith(seen) || seen.length < this.#pending.length) {
            throw new InvalidPackageError('not a Debian package: no ar archive signature ("!<arch>")');
          }
          if (this.#pending.length === AR_MAGIC.length) {
            this.#pending.clear();
            this.#state = State.Header;
          }
          break;
        }
        case State.Header: {
          const n = Math.min(AR_HEADER - this.#pending.length, chunk.length - offset);
          this.#pending.push(chunk.slice(offset, offset + n));
          offset += n;
          if (this.#pending.length === AR_HEADER) {
            const header = this.#pending.take(AR_HEADER);
            await this.#startMember(header);
          }
          break;
        }
        case State.Body: {
          const member = this.#member!;
          const n = Math.min(member.remaining, chunk.length - offset);
          const piece = chunk.subarray(offset, offset + n);
          offset += n;
          member.remaining -= n;
          await this.#memberData(member, piece);
          if (member.remaining === 0) await this.#endMember(member);
          break;
        }
        case State.Pad: {
          offset += 1;
          this.#state = State.Header;
          break;
        }
      }
    }
  }

  async #startMember(header: Uint8Array): Promise<void> {
    if (header[58] !== 0x60 || header[59] !== 0x0a) {
      throw new InvalidPackageError('corrupt ar archive: bad member header magic');
    }
    // dpkg_ar_normalize_name(): trailing spaces of the 16-byte field, then one GNU-style trailing
    // '/', are dropped; the name is what comes before the first NUL of what is left (so a NUL
    // before trailing spaces keeps the spaces: "debian-binary  \0" is not debian-binary to dpkg).
    const field = header.subarray(0, 16);
    let end = field.length;
    while (end > 0 && field[end - 1] === 0x20) end--;
    if (end > 0 && field[end - 1] === 0x2f) end--;
    const name = asciiField(field.subarray(0, end));
    const size = parseArSize(header.subarray(48, 58), name);
    const member: Member = { name, size, remaining: size, kind: 'skip' };
    this.#member = member;

    if (!this.#sawFirst) {
      this.#sawFirst = true;
      if (name !== 'debian-binary') {
        throw new InvalidPackageError(`not a Debian binary package: first ar member is '${name}', not 'debian-binary'`);
      }
      if (size > MAX_DEBIAN_BINARY) throw new InvalidPackageError(`debian-binary member of ${size} bytes is too large`);
      member.kind = 'debian-binary';
    } else if (name.startsWith('_')) {
      member.kind = 'skip';
    } else if (name.startsWith('control.tar')) {
      const compression = compressionFromSuffix(name.slice('control.tar'.length));
      if (compression !== 'none' && compression !== 'gzip' && compression !== 'xz' && compression !== 'zstd') {
        throw new InvalidPackageError(`unknown compression for member '${name}'`);
      }
      if (this.#controlMember !== undefined) throw new InvalidPackageError('package has two control members');
      if (size === 0) throw new InvalidPackageError(`zero-sized member '${name}'`);
      this.#controlMember = name;
      member.kind = 'control';
      member.inflater = this.#controlInflater(name, compression);
    } else if (this.#controlMember === undefined) {
      throw new InvalidPackageError(`premature member '${name}' before 'control.tar'`);
    } else if (name.startsWith('data.tar')) {
      const compression = compressionFromSuffix(name.slice('data.tar'.length));
      if (compression === undefined) throw new InvalidPackageError(`unknown compression for member '${name}'`);
      if (size === 0) throw new InvalidPackageError(`zero-sized member '${name}'`);
      if (compression === 'bzip2' || compression === 'lzma') {
        throw new InvalidPackageError(`member '${name}': ${compression} compression is not supported (deprecated by dpkg; rebuild with xz, zstd or gzip)`);
      }
      this.#dataMember = name;
      member.kind = 'data';
      if (this.#options.files) member.inflater = this.#dataInflater(member, compression);
    } else {
      throw new InvalidPackageError(`premature member '${name}' before 'data.tar'`);
    }

    this.#state = State.Body;
    if (size === 0) await this.#endMember(member);
  }

  async #memberData(member: Member, piece: Uint8Array): Promise<void> {
    switch (member.kind) {
      case 'debian-binary':
        this.#debianBinary.push(piece.slice());
        return;
      case 'skip':
        return;
      case 'control':
      case 'data': {
        if (member.inflater === undefined) return;
        const pending = member.inflater.write(piece);
        if (pending) await pending;
        return;
      }
    }
  }

  async #endMember(member: Member): Promise<void> {
    switch (member.kind) {
      case 'debian-binary':
        this.#formatVersion = parseDebianBinary(this.#debianBinary);
        break;
      case 'control': {
        const pending = member.inflater!.end();
        if (pending) await pending;
        this.#controlWalker!.end();
        if (!this.#controlFound) throw new InvalidPackageError(`${member.name} has no control file`);
        break;
      }
      case 'data': {
        if (member.inflater !== undefined) {
          const pending = member.inflater.end();
          if (pending) await pending;
          this.#dataWalker!.end();
        }
        this.#dataDone = true;
        break;
      }
      case 'skip':
        break;
    }
    this.#member = undefined;
    if (member.kind === 'data') {
      this.#state = State.Done;
      return;
    }
    this.#state = member.size % 2 === 1 ? State.Pad : State.Header;
  }

  #controlInflater(name: string, compression: Compression): Inflater {
    const walker = new TarWalker(
      (entry) => {
        const path = checkControlPath(entry.name, name);
        if (path !== '' && path !== '.') this.#controlFiles.push(path);
        if (path === 'control') {
          if (this.#controlFound) throw new InvalidPackageError(`${name} has two control files`);
          if (entry.type !== 'file') throw new InvalidPackageError(`${name}: control is a ${entry.type}, not a regular file`);
        }
      },
      {
        label: name,
        maxEntries: 10_000,
        maxCapture: this.#options.maxControlSize,
        capture: (entry) => normalizePath(entry.name) === 'control',
        onContent: (_entry, content) => {
          const text = decodeUtf8Strict(content);
          if (text === undefined) throw new InvalidPackageError(`${name}: control file is not valid UTF-8`);
          this.#controlFound = true;
          this.#control = parseDebControl(text);
        },
      },
    );
    this.#controlWalker = walker;
    let total = 0;
    const max = this.#options.maxControlSize;
    return createInflater(
      compression,
      (chunk) => {
        total += chunk.length;
        if (total > max) throw new InvalidPackageError(`${name}: more than ${max} bytes once decompressed`);
        walker.write(chunk);
      },
      { maxWindow: this.#options.maxWindow },
    );
  }

  #dataInflater(member: Member, compression: Compression): Inflater {
    const name = member.name;
    const walker = new TarWalker(
      (entry) => {
        const path = checkDataPath(entry, name);
        if (path !== undefined) this.#files.push(path);
      },
      { label: name, maxEntries: this.#options.maxEntries },
    );
    this.#dataWalker = walker;
    let total = 0;
    const limit = Math.min(this.#options.maxDataSize, Math.max(RATIO_FLOOR, this.#options.maxDataRatio * member.size));
    return createInflater(
      compression,
      (chunk) => {
        // After the tar end block the rest is still decompressed (and counted), so the compressed
        // stream's own checks (xz CRCs and index, gzip CRC) cover the whole member.
        total += chunk.length;
        if (total > limit) {
          throw new InvalidPackageError(
            total > this.#options.maxDataSize
              ? `${name}: more than ${this.#options.maxDataSize} bytes once decompressed`
              : `${name}: decompresses to more than ${this.#options.maxDataRatio} times its size (compression bomb?)`,
          );
        }
        walker.write(chunk);
      },
      { maxWindow: this.#options.maxWindow },
    );
  }

  #end(): void {
    if (this.#state === State.Done && this.#dataDone) return;
    if (this.#state === State.Magic) {
      throw new InvalidPackageError(this.#pending.length === 0 ? 'empty file' : 'not a Debian package: truncated ar signature');
    }
    if (this.#member !== undefined) throw new InvalidPackageError(`truncated package: member '${this.#member.name}' is incomplete`);
    if (this.#pending.length > 0) throw new InvalidPackageError('truncated package: incomplete ar member header');
    if (this.#formatVersion === undefined) throw new InvalidPackageError('not a Debian binary package: no debian-binary member');
    if (this.#controlMember === undefined) throw new InvalidPackageError('package has no control.tar member');
    throw new InvalidPackageError('package has no data.tar member');
  }
}

/** Reads a whole package held in memory. */
export async function parseDeb(bytes: Uint8Array, options?: DebReaderOptions): Promise<DebParseResult> {
  const reader = new DebReader(options);
  await reader.push(bytes);
  return reader.finish();
}

/** Reads a package from a web stream (an upload body, a blob download). */
export async function readDeb(stream: ReadableStream<Uint8Array>, options?: DebReaderOptions): Promise<DebParseResult> {
  const reader = new DebReader(options);
  const source = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await source.read();
      if (done) break;
      await reader.push(value);
    }
  } catch (e) {
    source.cancel(e).catch(() => {});
    throw e;
  }
  return reader.finish();
}

/** dpkg_ar_member_parse_size(): leading spaces, decimal digits up to a space or the field end. */
function parseArSize(field: Uint8Array, name: string): number {
  let i = 0;
  while (i < field.length && field[i] === 0x20) i++;
  let size = 0;
  for (; i < field.length; i++) {
    const c = field[i]!;
    if (c === 0x20) break;
    if (c < 0x30 || c > 0x39) {
      throw new InvalidPackageError(`corrupt ar archive: invalid character in the size of member '${name}'`);
    }
    size = size * 10 + (c - 0x30);
  }
  return size;
}

/** deb_version_parse() on debian-binary, which must be format 2.x. */
function parseDebianBinary(parts: Uint8Array[]): string {
  const text = asciiField(concatBytes(parts));
  if (!text.includes('\n')) throw new InvalidPackageError('debian-binary has no newline');
  const m = /^(\d+)\.(\d+)(?:\n|$)/.exec(text);
  if (!m) throw new InvalidPackageError(`debian-binary has an invalid format version '${text.split('\n')[0]}'`);
  if (Number(m[1]) !== 2) {
    throw new InvalidPackageError(`package format version ${m[1]}.${m[2]} is not supported (only 2.x)`);
  }
  return `${m[1]}.${m[2]}`;
}

function normalizePath(name: string): string {
  let path = name;
  if (path.startsWith('./')) path = path.slice(2);
  if (path.endsWith('/')) path = path.slice(0, -1);
  return path;
}

/** control.tar entries must stay inside the archive: no absolute paths, no '..'. */
function checkControlPath(name: string, member: string): string {
  if (name.startsWith('/')) throw new InvalidPackageError(`${member}: absolute path '${name}'`);
  if (name.split('/').includes('..')) throw new InvalidPackageError(`${member}: path '${name}' contains '..'`);
  return normalizePath(name);
}

/**
 * A data.tar entry's Contents path: "./" (once) and leading slashes stripped, as apt-ftparchive
 * does; undefined for directories. Paths with '..' are refused.
 */
function checkDataPath(entry: TarEntry, member: string): string | undefined {
  const name = entry.name;
  if (name.split('/').includes('..')) throw new InvalidPackageError(`${member}: path '${name}' contains '..'`);
  if (entry.type === 'dir' || name.endsWith('/')) return undefined;
  let path = name.startsWith('./') ? name.slice(2) : name;
  path = path.replace(/^\/+/, '');
  return path === '' || path === '.' ? undefined : path;
}

function toInvalidPackage(e: unknown, member: string | undefined): InvalidPackageError {
  if (e instanceof InvalidPackageError) return e;
  const where = member ? `${member}: ` : '';
  if (e instanceof DecompressError) return new InvalidPackageError(`${where}${e.message}`, { cause: e });
  if (e instanceof RepodError) return new InvalidPackageError(`${where}${e.message}`, { cause: e });
  const message = e instanceof Error ? e.message : String(e);
  return new InvalidPackageError(`unexpected error while reading ${member ?? 'the package'}: ${message}`, { cause: e });
}
