import { md5, sha1 } from '@noble/hashes/legacy.js';
import { sha224, sha256, sha384, sha512 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { Gunzip, gzipSync } from 'fflate';
import type { Capabilities, HashAlgorithm, Hasher } from '../capabilities.ts';
import type { BlobStore } from '../storage/blob-store.ts';

/**
 * The core's capabilities from web-standard APIs only, for runtimes without Node's (Workers).
 * Web Crypto cannot hash incrementally or snapshot a hash, and CompressionStream is async while
 * the core's gzip is synchronous, so both come from small pure-JS libraries.
 */
export function webCapabilities(store: BlobStore, log: Capabilities['log'] = consoleLog): Capabilities {
  return {
    store,
    hash: (algorithm) => nobleHasher(HASHES[algorithm].create()),
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
  let total = 0;
  // fflate's synchronous gunzip stops after the first member; its streaming form reports each.
  const inflater = new Gunzip((chunk) => {
    parts.push(chunk);
    total += chunk.length;
  });
  inflater.push(data, true);
  const out = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

function consoleLog(message: string, fields: Record<string, unknown> = {}): void {
  console.log(JSON.stringify({ time: new Date().toISOString(), message, ...fields }));
}
