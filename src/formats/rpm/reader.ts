/**
 * Reads a package's lead, signature header and main header from a byte stream, buffering only
 * those (at most rpm's header limits, or a lower caller-chosen bound) and never the payload.
 * Each length field is checked before the reader waits for the bytes it announces, and no buffer
 * is allocated for announced bytes before they have arrived.
 */
import { InvalidPackageError } from '../../errors.ts';
import { HEADER_INTRO_SIZE, RpmHeader, readHeaderIntro } from './header.ts';
import type { RpmLead } from './lead.ts';
import { LEAD_SIZE, parseLead } from './lead.ts';
import type { RpmPackage } from './model.ts';
import { packageFromHeader } from './package.ts';
import type { RpmSignatureHeader } from './signature.ts';
import { checkSignatureTags, signatureFromHeaders } from './signature.ts';
import { Tag } from './tags.ts';
import { binaryString } from './text.ts';

export interface RpmParseResult {
  pkg: RpmPackage;
  signature: RpmSignatureHeader;
  lead: RpmLead;
  /**
   * PAYLOADCOMPRESSOR as written ("gzip", "xz", "zstd", "bzip2", ...). When absent rpm reads the
   * payload through zlib, which passes uncompressed data through: treat it as "gzip".
   */
  payloadCompressor?: string;
  /** PAYLOADFORMAT: "cpio" (rpm 6 may write others). */
  payloadFormat?: string;
  /** PAYLOADDIGEST: hex digest(s) of the compressed payload, algorithm PAYLOADDIGESTALGO (8 = SHA-256). */
  payloadDigest?: string[];
  /** PAYLOADDIGESTALT: hex digest(s) of the uncompressed payload. */
  payloadDigestAlt?: string[];
  payloadDigestAlgo?: number;
  /** RPMFORMAT: 6 for rpm 6 packages, absent before. */
  rpmFormat?: number;
}

export interface RpmReaderOptions {
  /** Refuse packages whose lead and headers together exceed this many bytes (default: rpm's own limits, about 320 MiB). */
  maxHeaderBytes?: number;
}

type Stage = 'lead' | 'signature' | 'main' | 'done';

export class RpmReader {
  private readonly maxHeaderBytes: number;
  private parts: Uint8Array[] = [];
  private buffered = 0;
  /** Bytes needed before the next stage can be read. */
  private needed = LEAD_SIZE + HEADER_INTRO_SIZE;
  private stage: Stage = 'lead';
  private signatureSize = 0;
  private mainStart = 0;
  private parsed: RpmParseResult | undefined;
  private failure: InvalidPackageError | undefined;

  constructor(options: RpmReaderOptions = {}) {
    this.maxHeaderBytes = options.maxHeaderBytes ?? Number.POSITIVE_INFINITY;
  }

  /**
   * Feeds the next bytes of the file. Returns true once the lead and both headers are complete
   * and valid; later chunks are ignored. Throws InvalidPackageError as soon as the bytes seen so
   * far cannot be a valid package, so an upload can stop early; result() then throws it again.
   * The chunk is copied as far as needed: the caller may reuse it.
   */
  push(chunk: Uint8Array): boolean {
    if (this.parsed) return true;
    if (this.failure) throw this.failure;
    try {
      let at = 0;
      for (;;) {
        if (this.buffered < this.needed && at < chunk.length) {
          const take = Math.min(chunk.length - at, this.needed - this.buffered);
          this.parts.push(chunk.slice(at, at + take));
          at += take;
          this.buffered += take;
        }
        if (this.buffered < this.needed) return false;
        this.advance();
        if (this.parsed) return true;
      }
    } catch (error) {
      if (error instanceof InvalidPackageError) {
        this.failure = error;
        this.parts = [];
      }
      throw error;
    }
  }

  /** The parsed headers; throws InvalidPackageError when they are incomplete or invalid. */
  result(): RpmParseResult {
    if (this.failure) throw this.failure;
    if (!this.parsed) {
      const where = this.stage === 'lead' ? 'the lead' : this.stage === 'signature' ? 'the signature header' : 'the main header';
      throw new InvalidPackageError(`rpm: file ends inside ${where} (${this.buffered} bytes read, ${this.needed} needed)`);
    }
    return this.parsed;
  }

  /** Whether the lead and headers are complete (and valid). */
  get done(): boolean {
    return this.parsed !== undefined;
  }

  /** Bytes the reader still waits for before it can say more (0 when done or failed). */
  get missing(): number {
    return this.parsed || this.failure ? 0 : this.needed - this.buffered;
  }

  private bytes(): Uint8Array {
    if (this.parts.length > 1) {
      const all = new Uint8Array(this.buffered);
      let at = 0;
      for (const part of this.parts) {
        all.set(part, at);
        at += part.length;
      }
      this.parts = [all];
    }
    return this.parts[0];
  }

  private expect(total: number): void {
    if (total > this.maxHeaderBytes) {
      throw new InvalidPackageError(`rpm: lead and headers take ${total} bytes, more than the limit of ${this.maxHeaderBytes}`);
    }
    this.needed = total;
  }

  private advance(): void {
    const bytes = this.bytes();
    switch (this.stage) {
      case 'lead': {
        parseLead(bytes);
        this.signatureSize = readHeaderIntro(bytes, LEAD_SIZE, 'signature').size;
        // The signature header is padded to a multiple of 8 bytes (rpm: sigSize % 8).
        const padding = (8 - (this.signatureSize % 8)) % 8;
        this.mainStart = LEAD_SIZE + this.signatureSize + padding;
        this.stage = 'signature';
        this.expect(this.mainStart + HEADER_INTRO_SIZE);
        return;
      }
      case 'signature':
        this.stage = 'main';
        this.expect(this.mainStart + readHeaderIntro(bytes, this.mainStart, 'main').size);
        return;
      case 'main':
        this.parsed = parseHeaders(bytes, this.signatureSize, this.mainStart);
        this.stage = 'done';
        this.parts = [];
        return;
      case 'done':
        return;
    }
  }
}

/** Parses a buffer that starts with the package file and holds at least its lead and headers. */
export function parseRpm(bytes: Uint8Array, options: RpmReaderOptions = {}): RpmParseResult {
  const reader = new RpmReader(options);
  reader.push(bytes);
  return reader.result();
}

function parseHeaders(bytes: Uint8Array, signatureSize: number, mainStart: number): RpmParseResult {
  const lead = parseLead(bytes);
  const sig = RpmHeader.parse(bytes.subarray(LEAD_SIZE, LEAD_SIZE + signatureSize), 'signature', LEAD_SIZE);
  const main = RpmHeader.parse(bytes.subarray(mainStart), 'main', mainStart);
  checkSignatureTags(sig, main);

  const ascii = (tag: number) => {
    const s = main.string(tag);
    return s && binaryString(s);
  };
  const payloadFormat = ascii(Tag.PAYLOADFORMAT);
  if (payloadFormat === 'drpm') {
    // deltarpm keeps the target's headers and marks the payload: not installable, not for repodata.
    throw new InvalidPackageError('rpm: this is a delta rpm (payload format "drpm"), not an installable package');
  }
  const result: RpmParseResult = { pkg: packageFromHeader(main, sig), signature: signatureFromHeaders(sig, main), lead };
  const optional: Partial<RpmParseResult> = {
    payloadCompressor: ascii(Tag.PAYLOADCOMPRESSOR),
    payloadFormat,
    payloadDigest: main.strings(Tag.PAYLOADDIGEST)?.map(binaryString),
    payloadDigestAlt: main.strings(Tag.PAYLOADDIGESTALT)?.map(binaryString),
    payloadDigestAlgo: main.number(Tag.PAYLOADDIGESTALGO),
    rpmFormat: main.number(Tag.RPMFORMAT),
  };
  for (const [key, value] of Object.entries(optional)) if (value !== undefined) Object.assign(result, { [key]: value });
  return result;
}
