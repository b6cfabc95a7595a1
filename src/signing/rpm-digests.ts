/**
 * Streaming digests of an RPM file for signature and digest verification (see rpm-verify.ts).
 *
 * rpm checks three byte ranges of a package:
 *   - the main header (from its magic to the end of its data): header digests SHA1 (269) and
 *     SHA256 (273), and the header-only signatures RSAHEADER (268) / DSAHEADER (267);
 *   - the payload (from the end of the main header to the end of the file, as stored, that is
 *     compressed): PAYLOADDIGEST (5092) and PAYLOADDIGESTALT (5097);
 *   - main header + payload: the legacy MD5 (1004) and the legacy PGP (1002) / GPG (1005)
 *     signatures.
 * The main header is in memory once parsed (RpmSignatureHeader.header); the payload is not, so
 * every digest over it is computed while the file streams by, in one pass, with the runtime's
 * streaming hashes (`node:crypto` on Node, `crypto.DigestStream` on Workers).
 *
 * An OpenPGP signature does not sign the data's digest but the digest of data || its own hashed
 * part || a trailer, so a streaming hash cannot be finished first and extended later. The
 * signature header precedes everything hashed, so once the headers are parsed the collector
 * opens one running hash per signature (with the hash algorithm the signature packet names),
 * feeds it the main header and the payload as they arrive, and appends the signature's trailer
 * before finishing it. The result is exactly the digest the signature's MPIs sign: checking it
 * needs only the public key, any time later (RpmDigests is plain JSON and can be stored).
 *
 * Usage in an upload pipeline (the chunks may be any size, the caller may reuse them):
 *
 *   const reader = new RpmReader();
 *   const digests = new RpmDigestCollector((a) => caps.hash(a), () => (reader.done ? reader.result() : undefined));
 *   for each chunk: reader.push(chunk); digests.push(chunk);   // reader first
 *   const result = await digests.finish();
 *
 * Memory: nothing of the payload is kept. Until the parse result is available the collector
 * needs no byte at all (everything before the end of the main header comes from the parse
 * result), provided the reader sees each chunk before the collector does; if the provider lags,
 * up to `maxLagBytes` of the most recent chunks are held back, and push() throws if payload
 * bytes had to be dropped.
 */
import type { RpmParseResult } from '../formats/rpm/index.ts';
import { PGP_HASHES, parseRpmPgpSignature, type RpmHashAlgorithm, signatureTrailer } from './rpm-verify-pgp.ts';

export type { RpmHashAlgorithm } from './rpm-verify-pgp.ts';

export interface RpmHasher {
  update(data: Uint8Array): void;
  /** Lower-case hex digest. */
  digest(): Promise<string>;
}

/**
 * Gives a streaming hash; may throw for an algorithm the runtime lacks (Workers have no
 * SHA-224), which leaves that digest out of the result (verification then reports it unchecked).
 */
export type RpmHashFactory = (algorithm: RpmHashAlgorithm) => RpmHasher;

/** The hex digest of (covered range || the signature's hashed part and trailer), for one signature tag entry. */
export interface RpmSignatureDigest {
  /** Signature header tag: 267 DSAHEADER, 268 RSAHEADER (over the main header), 1002 PGP, 1005 GPG (header + payload). */
  tag: number;
  index: number;
  algorithm: RpmHashAlgorithm;
  /** The signature packet's left 16 bits of the hash, hex, to tie this digest to its packet. */
  hash16: string;
  digest: string;
}

export interface RpmDigests {
  /** Bytes of the file seen. */
  fileSize: number;
  /** Where the payload starts (= end of the main header) and how many bytes it has. */
  payloadOffset: number;
  payloadSize: number;
  /** Hex digests of the main header: sha256 always, sha1 when the package carries a SHA1 header digest. */
  header: Partial<Record<RpmHashAlgorithm, string>>;
  /** Hex digests of the payload as stored: sha256 always (what rpm 4.18 checks PAYLOADDIGEST with), plus the algorithm PAYLOADDIGESTALGO names. */
  payload: Partial<Record<RpmHashAlgorithm, string>>;
  /** Hex digests of main header + payload: md5 when the package carries the MD5 tag. */
  headerAndPayload: Partial<Record<RpmHashAlgorithm, string>>;
  /** One per OpenPGP signature rpm 4.18 reads from the signature header whose packet parses and whose hash is computable. */
  signatures: RpmSignatureDigest[];
}

export interface RpmDigestCollectorOptions {
  /** How many bytes to hold back while the parse result is not yet available (default 4 MiB). */
  maxLagBytes?: number;
}

/** RPMTAG_PAYLOADDIGESTALGO values (OpenPGP hash ids) → hash names. */
const PAYLOAD_ALGOS = PGP_HASHES;

interface Running {
  hasher: RpmHasher;
  done: (hex: string) => void;
  /** Appended before finishing (signature trailers). */
  trailer?: Uint8Array;
}

interface Plan {
  payloadOffset: number;
  /** Hashes over the payload only. */
  payload: Running[];
  /** Hashes over header + payload (already fed the header). */
  headerAndPayload: Running[];
  /** Digests already finishing (header range). */
  pending: Promise<void>[];
}

export class RpmDigestCollector {
  private readonly hash: RpmHashFactory;
  private readonly parsed: () => RpmParseResult | undefined;
  private readonly maxLag: number;
  private offset = 0;
  private plan: Plan | undefined;
  private lag: { at: number; bytes: Uint8Array }[] = [];
  private lagBytes = 0;
  /** File offset below which held-back bytes were dropped. */
  private droppedBelow = 0;
  private finished = false;
  private readonly result: RpmDigests = { fileSize: 0, payloadOffset: 0, payloadSize: 0, header: {}, payload: {}, headerAndPayload: {}, signatures: [] };

  constructor(hash: RpmHashFactory, parsed: () => RpmParseResult | undefined, options: RpmDigestCollectorOptions = {}) {
    this.hash = hash;
    this.parsed = parsed;
    this.maxLag = options.maxLagBytes ?? 4 * 1024 * 1024;
  }

  /** Feeds the next bytes of the file (in order, each byte once). */
  push(chunk: Uint8Array): void {
    if (this.finished) throw new Error('RpmDigestCollector: push after finish');
    const at = this.offset;
    this.offset += chunk.length;
    if (!this.plan) {
      const parsed = this.parsed();
      if (!parsed) {
        this.holdBack(at, chunk);
        return;
      }
      this.start(parsed);
    }
    this.feed(at, chunk);
  }

  /** Finishes every digest; throws when the headers never became available. */
  async finish(): Promise<RpmDigests> {
    if (this.finished) throw new Error('RpmDigestCollector: finish called twice');
    if (!this.plan) {
      const parsed = this.parsed();
      if (!parsed) throw new Error('RpmDigestCollector: the package headers were never parsed');
      this.start(parsed);
    }
    this.finished = true;
    const plan = this.plan as Plan;
    const finishing = [...plan.payload, ...plan.headerAndPayload].map(async (r) => {
      if (r.trailer) r.hasher.update(r.trailer);
      r.done(await r.hasher.digest());
    });
    await Promise.all([...plan.pending, ...finishing]);
    this.result.fileSize = this.offset;
    this.result.payloadOffset = plan.payloadOffset;
    this.result.payloadSize = Math.max(0, this.offset - plan.payloadOffset);
    this.result.signatures.sort((a, b) => a.tag - b.tag || a.index - b.index);
    return this.result;
  }

  private holdBack(at: number, chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    const keep = chunk.length > this.maxLag ? chunk.subarray(chunk.length - this.maxLag) : chunk;
    const keepAt = at + chunk.length - keep.length;
    if (keepAt > at) this.droppedBelow = keepAt;
    this.lag.push({ at: keepAt, bytes: keep.slice() });
    this.lagBytes += keep.length;
    while (this.lagBytes > this.maxLag) {
      const first = this.lag.shift()!;
      this.lagBytes -= first.bytes.length;
      this.droppedBelow = first.at + first.bytes.length;
    }
  }

  private newHash(algorithm: RpmHashAlgorithm): RpmHasher | undefined {
    try {
      return this.hash(algorithm);
    } catch {
      return undefined;
    }
  }

  private start(parsed: RpmParseResult): void {
    const sig = parsed.signature;
    const header = sig.header;
    const payloadOffset = sig.headerRange.end;
    if (this.droppedBelow > payloadOffset) {
      throw new Error(`RpmDigestCollector: payload bytes before offset ${this.droppedBelow} were dropped while waiting for the headers; push each chunk to the RpmReader first`);
    }
    const plan: Plan = { payloadOffset, payload: [], headerAndPayload: [], pending: [] };
    const r = this.result;

    // Main header: finished now.
    const headerAlgos = new Set<RpmHashAlgorithm>(['sha256']);
    if (sig.sha1 !== undefined) headerAlgos.add('sha1');
    for (const algorithm of headerAlgos) {
      const h = this.newHash(algorithm);
      if (!h) continue;
      h.update(header);
      plan.pending.push(h.digest().then((hex) => void (r.header[algorithm] = hex)));
    }

    // Payload.
    const payloadAlgos = new Set<RpmHashAlgorithm>(['sha256']);
    const named = parsed.payloadDigestAlgo !== undefined ? PAYLOAD_ALGOS[parsed.payloadDigestAlgo] : undefined;
    if (named) payloadAlgos.add(named);
    for (const algorithm of payloadAlgos) {
      const h = this.newHash(algorithm);
      if (h) plan.payload.push({ hasher: h, done: (hex) => void (r.payload[algorithm] = hex) });
    }

    // Header + payload.
    if (sig.md5 !== undefined) {
      const h = this.newHash('md5');
      if (h) {
        h.update(header);
        plan.headerAndPayload.push({ hasher: h, done: (hex) => void (r.headerAndPayload.md5 = hex) });
      }
    }

    // OpenPGP signatures rpm 4.18 reads.
    const signatures: [number, Uint8Array | undefined, boolean][] = [
      [267, sig.dsa, false],
      [268, sig.rsa, false],
      [1002, sig.pgp, true],
      [1005, sig.gpg, true],
    ];
    for (const [tag, data, withPayload] of signatures) {
      if (!data) continue;
      const packet = parseRpmPgpSignature(data);
      const algorithm = packet && PGP_HASHES[packet.hashAlgo];
      if (!packet || !algorithm) continue;
      const h = this.newHash(algorithm);
      if (!h) continue;
      h.update(header);
      const trailer = signatureTrailer(packet);
      const hash16 = Array.from(packet.hash16, (x) => x.toString(16).padStart(2, '0')).join('');
      const done = (hex: string) => void r.signatures.push({ tag, index: 0, algorithm, hash16, digest: hex });
      if (withPayload) {
        plan.headerAndPayload.push({ hasher: h, done, trailer });
      } else {
        h.update(trailer);
        plan.pending.push(h.digest().then(done));
      }
    }

    this.plan = plan;
    const held = this.lag;
    this.lag = [];
    this.lagBytes = 0;
    for (const { at, bytes } of held) this.feed(at, bytes);
  }

  /** Hashes the part of `bytes` (starting at file offset `at`) that lies in the payload. */
  private feed(at: number, bytes: Uint8Array): void {
    const plan = this.plan as Plan;
    const end = at + bytes.length;
    if (end <= plan.payloadOffset) return;
    const part = at >= plan.payloadOffset ? bytes : bytes.subarray(plan.payloadOffset - at);
    for (const r of plan.payload) r.hasher.update(part);
    for (const r of plan.headerAndPayload) r.hasher.update(part);
  }
}
