import { md5, sha1 } from '@noble/hashes/legacy.js';
import { sha224, sha256, sha384, sha512 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import type { HashAlgorithm, Hasher } from '../../capabilities.ts';
import { RepodError } from '../../errors.ts';

/** The runtime's hasher (Capabilities.hash): native on Node and Workers, where the caller has it. */
export type HasherFactory = (algorithm: HashAlgorithm) => Hasher;

/** repomd's checksum type names → algorithms. yum's old "sha" is sha1. */
const TYPES: Record<string, HashAlgorithm> = { sha256: 'sha256', sha: 'sha1', sha1: 'sha1', sha224: 'sha224', sha384: 'sha384', sha512: 'sha512', md5: 'md5' };

export function checksumAlgorithm(type: string, what: string): HashAlgorithm {
  const algorithm = TYPES[type.toLowerCase()];
  if (!algorithm) throw new RepodError('upstream_unsupported_checksum', `${what} has a checksum of type "${type}", which repod cannot verify`, { status: 422 });
  return algorithm;
}

const NOBLE = { sha256, sha1, md5, sha224, sha384, sha512 };

/** Pure-JS hashers, for callers that pass no runtime hasher (about 5 times slower than Node's for sha256). */
export const pureHasher: HasherFactory = (algorithm) => {
  const hash = NOBLE[algorithm].create();
  return {
    update: (data) => {
      hash.update(data);
    },
    digest: async () => bytesToHex(hash.digest()),
  };
};
