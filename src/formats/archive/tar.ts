/**
 * Streaming tar header walker with dpkg's reading rules (lib/dpkg/tarfn.c): 512-byte headers with a
 * verified checksum; old (v7), ustar (name = prefix "/" name) and GNU formats; GNU long names and
 * long link targets ('L', 'K'); the end is an all-zero block (as GNU tar reads it) or the end of
 * input at a block boundary. Entry contents are skipped without being kept, except for entries
 * the caller asks to capture (the control file of control.tar).
 *
 * Like dpkg, only regular files carry content; entry types dpkg cannot unpack (pax headers, GNU
 * sparse/volume/multivolume/dumpdir, contiguous files, Solaris ACLs, unknown types) are refused.
 */
import { InvalidPackageError } from '../../errors.ts';
import { concatBytes } from '../../util/bytes.ts';
import { ByteQueue } from './byte-queue.ts';
import { asciiField, utf8Field } from './fields.ts';

export type TarEntryType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo';

export interface TarEntry {
  /** The name as stored (after ustar prefix and GNU long-name handling), e.g. "./usr/bin/hello". */
  name: string;
  type: TarEntryType;
  /** Content size (regular files only; 0 otherwise). */
  size: number;
  /** Symlink or hardlink target. */
  linkTarget?: string;
}

export interface TarWalkerOptions {
  /** What is being read, for error messages ("data.tar.xz"). */
  label: string;
  /** Refuse archives with more entries than this. */
  maxEntries?: number;
  /** Longest accepted GNU long name / link target, in bytes. */
  maxLongName?: number;
  /** Return true to receive this entry's content through `onContent` (regular files only). */
  capture?: (entry: TarEntry) => boolean;
  onContent?: (entry: TarEntry, content: Uint8Array) => void;
  /** Largest content accepted for a captured entry. */
  maxCapture?: number;
}

const BLOCK = 512;
const TYPE_NAMES: Record<string, string> = {
  x: 'pax extended header',
  g: 'pax global header',
  S: 'GNU sparse file',
  V: 'GNU volume header',
  M: 'GNU multi-volume continuation',
  D: 'GNU dump directory',
  N: 'GNU old long name',
  '7': 'contiguous file',
  A: 'Solaris ACL',
  E: 'Solaris extended attributes',
  X: 'Solaris extended header',
};

const enum State {
  Header,
  Skip,
  LongName,
  Capture,
  Done,
}

export class TarWalker {
  readonly #onEntry: (entry: TarEntry) => void;
  readonly #options: TarWalkerOptions;
  readonly #maxEntries: number;
  readonly #maxLongName: number;
  readonly #queue = new ByteQueue();
  #state: State = State.Header;
  #skip = 0; // bytes of content (with padding) still to skip
  #entries = 0;
  #longName: string | undefined;
  #longLink: string | undefined;
  #longKind: 'L' | 'K' = 'L';
  #longSize = 0;
  #captured: TarEntry | undefined;
  #capturedParts: Uint8Array[] = [];
  #capturedSize = 0;

  constructor(onEntry: (entry: TarEntry) => void, options: TarWalkerOptions) {
    this.#onEntry = onEntry;
    this.#options = options;
    this.#maxEntries = options.maxEntries ?? 1_000_000;
    this.#maxLongName = options.maxLongName ?? 65536;
  }

  /** True once the end-of-archive block was seen; later input is ignored. */
  get done(): boolean {
    return this.#state === State.Done;
  }

  get entries(): number {
    return this.#entries;
  }

  write(chunk: Uint8Array): void {
    let offset = 0;
    while (offset < chunk.length) {
      switch (this.#state) {
        case State.Done:
          return;
        case State.Skip: {
          const n = Math.min(this.#skip, chunk.length - offset);
          this.#skip -= n;
          offset += n;
          if (this.#skip === 0) this.#state = State.Header;
          break;
        }
        case State.Capture:
        case State.LongName: {
          const need = roundUp(this.#state === State.LongName ? this.#longSize : this.#captured!.size) - this.#capturedSize;
          const n = Math.min(need, chunk.length - offset);
          this.#capturedParts.push(chunk.slice(offset, offset + n));
          this.#capturedSize += n;
          offset += n;
          if (n === need) this.#finishContent();
          break;
        }
        case State.Header: {
          const have = this.#queue.length;
          const n = Math.min(BLOCK - have, chunk.length - offset);
          if (have === 0 && n === BLOCK) {
            this.#header(chunk.subarray(offset, offset + BLOCK));
          } else {
            this.#queue.push(chunk.slice(offset, offset + n));
            if (this.#queue.length === BLOCK) this.#header(this.#queue.take(BLOCK));
          }
          offset += n;
          break;
        }
      }
    }
  }

  /** The input ended: it must end between entries (dpkg accepts a missing end-of-archive block). */
  end(): void {
    if (this.#state === State.Done) return;
    if (this.#state !== State.Header || this.#queue.length !== 0) {
      throw this.#error(this.#state === State.Header ? 'ends inside a header block' : 'ends inside an entry');
    }
  }

  #error(message: string): InvalidPackageError {
    return new InvalidPackageError(`${this.#options.label}: ${message}`);
  }

  #header(block: Uint8Array): void {
    const name100 = block.subarray(0, 100);
    const emptyName = block[0] === 0;
    const checksum = parseNumber(block.subarray(148, 156), false);
    if (checksum === undefined || checksum !== headerChecksum(block)) {
      // dpkg's own reader (tarfn.c) takes any block with an empty name and a bad checksum for the
      // end, but dpkg-deb unpacks control.tar (and lists data.tar) with GNU tar, which only takes
      // an all-zero block for the end and fails on anything else: so a damaged end block is
      // refused, or a package would be published whose control member dpkg cannot unpack.
      if (emptyName && block.every((b) => b === 0)) {
        this.#state = State.Done;
        return;
      }
      throw this.#error('invalid tar header checksum');
    }
    const magic = asciiField(block.subarray(257, 263));
    const typeflag = block[156]!;
    const size = parseNumber(block.subarray(124, 136));
    if (size === undefined) throw this.#error('invalid tar header size field');
    for (const [start, end, what] of [
      [108, 116, 'uid'],
      [116, 124, 'gid'],
      [136, 148, 'mtime'],
    ] as const) {
      // Checked like dpkg does (mtime may be a negative base-256 number, which is fine).
      if (block[start] !== 0xff && parseNumber(block.subarray(start, end)) === undefined) {
        throw this.#error(`invalid tar header ${what} field`);
      }
    }
    let name = utf8Field(name100);
    // ustar (POSIX) joins prefix and name; GNU uses those bytes for other things.
    if (magic === 'ustar' && block[345] !== 0) name = `${utf8Field(block.subarray(345, 500))}/${name}`;
    let linkTarget = utf8Field(block.subarray(157, 257));
    const type = String.fromCharCode(typeflag);

    if (type === 'L' || type === 'K') {
      if (size > this.#maxLongName) throw this.#error(`GNU long ${type === 'L' ? 'name' : 'link'} of ${size} bytes is too long`);
      this.#longKind = type;
      this.#longSize = size;
      this.#capturedParts = [];
      this.#capturedSize = 0;
      this.#state = State.LongName;
      if (size === 0) this.#finishContent();
      return;
    }
    if (this.#longName !== undefined) name = this.#longName;
    if (this.#longLink !== undefined) linkTarget = this.#longLink;
    this.#longName = undefined;
    this.#longLink = undefined;
    if (name === '') throw this.#error('invalid tar header with empty name field');

    let entryType: TarEntryType;
    switch (type) {
      case '0':
      case '\0':
        entryType = name.endsWith('/') ? 'dir' : 'file';
        break;
      case '1':
        entryType = 'hardlink';
        break;
      case '2':
        entryType = 'symlink';
        break;
      case '3':
        entryType = 'char';
        break;
      case '4':
        entryType = 'block';
        break;
      case '5':
        entryType = 'dir';
        break;
      case '6':
        entryType = 'fifo';
        break;
      default: {
        const what = TYPE_NAMES[type];
        throw this.#error(what ? `unsupported tar entry type '${type}' (${what}), which dpkg cannot unpack` : `unknown tar entry type 0x${typeflag.toString(16)}`);
      }
    }
    this.#entries += 1;
    if (this.#entries > this.#maxEntries) throw this.#error(`more than ${this.#maxEntries} entries`);
    const entry: TarEntry = { name, type: entryType, size: entryType === 'file' ? size : 0 };
    if (entryType === 'symlink' || entryType === 'hardlink') entry.linkTarget = linkTarget;
    this.#onEntry(entry);
    if (entryType !== 'file') return;
    if (this.#options.capture?.(entry)) {
      const max = this.#options.maxCapture ?? 16 * 1024 * 1024;
      if (size > max) throw this.#error(`${name} is larger than ${max} bytes`);
      if (size === 0) {
        this.#options.onContent?.(entry, new Uint8Array(0));
        return;
      }
      this.#captured = entry;
      this.#capturedParts = [];
      this.#capturedSize = 0;
      this.#state = State.Capture;
      return;
    }
    if (size === 0) return;
    this.#skip = roundUp(size);
    this.#state = State.Skip;
  }

  #finishContent(): void {
    const data = concatBytes(this.#capturedParts, this.#capturedSize);
    this.#capturedParts = [];
    this.#capturedSize = 0;
    if (this.#state === State.LongName) {
      const value = utf8Field(data.subarray(0, this.#longSize));
      if (this.#longKind === 'L') this.#longName = value;
      else this.#longLink = value;
    } else {
      const entry = this.#captured!;
      this.#captured = undefined;
      this.#options.onContent?.(entry, data.subarray(0, entry.size));
    }
    this.#state = State.Header;
  }
}

function roundUp(n: number): number {
  return Math.ceil(n / BLOCK) * BLOCK;
}

/** Sum of the header bytes with the checksum field counted as spaces (unsigned, as dpkg and GNU tar write it). */
function headerChecksum(block: Uint8Array): number {
  let sum = 8 * 0x20;
  for (let i = 0; i < 148; i++) sum += block[i]!;
  for (let i = 156; i < BLOCK; i++) sum += block[i]!;
  return sum;
}

/**
 * A numeric header field as dpkg reads it: octal digits after optional leading spaces, ended by NUL
 * or space and followed only by NULs and spaces; or (unless `base256` is false, as for the
 * checksum) GNU base-256 (first byte 0x80 positive, 0xff negative, refused here). Undefined when
 * invalid or not a safe integer.
 */
export function parseNumber(field: Uint8Array, base256 = true): number | undefined {
  if (base256 && field[0] === 0x80) {
    let n = 0;
    for (let i = 1; i < field.length; i++) n = n * 256 + field[i]!;
    return Number.isSafeInteger(n) ? n : undefined;
  }
  if (base256 && field[0] === 0xff) return undefined;
  let i = 0;
  while (i < field.length && field[i] === 0x20) i++;
  if (i === field.length) return undefined;
  let n = 0;
  for (; i < field.length; i++) {
    const c = field[i]!;
    if (c === 0 || c === 0x20) break;
    if (c < 0x30 || c > 0x37) return undefined;
    n = n * 8 + (c - 0x30);
  }
  for (; i < field.length; i++) if (field[i] !== 0 && field[i] !== 0x20) return undefined;
  return Number.isSafeInteger(n) ? n : undefined;
}
