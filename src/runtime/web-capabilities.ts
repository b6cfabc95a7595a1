import { md5, sha1 } from '@noble/hashes/legacy.js';
import { sha224, sha256, sha384, sha512 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { Gunzip, gzipSync } from 'fflate';
import type { Capabilities, HashAlgorithm, Hasher } from '../capabilities.ts';
import type { BlobStore } from '../storage/blob-store.ts';
import { concatBytes } from '../util/bytes.ts';

/**
 * The core's capabilities from web-standard APIs only, for runtimes without Node's (Workers).
 * Web Crypto cannot hash incrementally or snapshot a hash, and CompressionStream is async while
 * the core's gzip is synchronous, so both come from small pure-JS libraries.
 */
export function webCapabilities(store: BlobStore, log: Capabilities['log'] = consoleLog): Capabilities {
  return {
    store,
    hash: (algorithm) => nativeHasher(algorithm) ?? nobleHasher(HASHES[algorithm].create()),
    // mtime 0: the bytes of a rendered file depend only on its content, as with Node's zlib.
    gzip: (data) => gzipSync(data, { level: 6, mtime: 0 }),
    gunzip: (data) => gunzipMembers(data),
    now: () => new Date(),
    randomId: () => {
      const bytes = crypto.getRandomValues(new Uint8Array(16));
      return btoa(String.fromCharCode(...bytes))
        .replaceAll('+', '-')
        .replaceAll('/', '_')
        .replace(/=+$/, '');
    },
    log,
    requestsShareWork: false,
  };
}

const HASHES: Record<HashAlgorithm, { create(): NobleHash }> = { sha256, sha1, md5, sha512, sha224, sha384 };

/** Workers' own incremental digest (crypto.DigestStream): native speed for the algorithms it has. */
interface DigestStreamLike extends WritableStream<Uint8Array> {
  readonly digest: Promise<ArrayBuffer>;
}
type DigestStreamConstructor = new (algorithm: string) => DigestStreamLike;
const DIGEST_STREAM_NAMES: Partial<Record<HashAlgorithm, string>> = { sha256: 'SHA-256', sha1: 'SHA-1', md5: 'MD5', sha512: 'SHA-512', sha384: 'SHA-384' };

/**
 * A hasher over crypto.DigestStream where the runtime has one (workerd): hashing a 100 MB upload
 * three ways in JS costs seconds of the request's CPU time, natively a fraction of that. The
 * stream keeps written chunks until it has consumed them, so each is copied: callers may reuse
 * their buffers once update returns, as with the other hashers.
 */
function nativeHasher(algorithm: HashAlgorithm): Hasher | null {
  const DigestStream = (crypto as unknown as { DigestStream?: DigestStreamConstructor }).DigestStream;
  const name = DIGEST_STREAM_NAMES[algorithm];
  if (!DigestStream || !name) return null;
  const stream = new DigestStream(name);
  const writer = stream.getWriter();
  let failure: unknown = null;
  return {
    update: (data) => {
      writer.write(data.slice()).catch((error: unknown) => {
        failure ??= error;
      });
    },
    digest: async () => {
      await writer.close();
      if (failure) throw failure;
      return bytesToHex(new Uint8Array(await stream.digest));
    },
  };
}

interface NobleHash {
  update(data: Uint8Array): unknown;
  digest(): Uint8Array;
  clone(): NobleHash;
}

function nobleHasher(h: NobleHash): Hasher {
  return {
    update: (data) => void h.update(data),
    digest: async () => bytesToHex(h.digest()),
    copy: () => nobleHasher(h.clone()),
  };
}

/**
 * Every member of a gzip stream, concatenated, as Node's gunzip does: rendered metadata files
 * are concatenations of separately compressed chunks.
 */
function gunzipMembers(data: Uint8Array): Uint8Array {
  const parts: Uint8Array[] = [];
  // fflate's synchronous gunzip stops after the first member; its streaming form reports each.
  const inflater = new Gunzip((chunk) => parts.push(chunk));
  inflater.push(data, true);
  return concatBytes(parts);
}

function consoleLog(message: string, fields: Record<string, unknown> = {}): void {
  console.log(JSON.stringify({ time: new Date().toISOString(), message, ...fields }));
}
