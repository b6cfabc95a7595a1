/**
 * Streams an upstream `Packages` index into catalog entries, checked against its Release.
 *
 * The index is fetched in the best compression the Release lists (xz, then gzip, then none, as
 * apt prefers), by hash when the Release offers `Acquire-By-Hash` (immune to the upstream
 * updating between the Release and the index). Compressed bytes are hashed as they arrive and
 * decompressed, decoded, cut into stanzas and turned into entries on the way, so memory holds one
 * piece of input and one stanza, never the index (Debian bookworm main: 50 MB, 63,440 stanzas).
 *
 * Because the SHA-256 is only known at the end, **entries are provisional until the iteration
 * completes without an error**: a caller writing them somewhere (the catalog) must stage them and
 * commit only after the loop ends normally, and discard the stage when it throws. Breaking out of
 * the loop cancels the download.
 *
 * Bodies cannot be endless: a body longer than the size the Release lists stops at the first byte
 * too many, and the decompressed text and each stanza have limits of their own.
 */
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import type { Hasher } from '../../capabilities.ts';
import { RepodError } from '../../errors.ts';
import { type Compression, createInflater, DecompressError, type Inflater } from '../../formats/archive/decompress.ts';
import { fetchUpstream, type UpstreamFetch, upstreamUrl } from '../upstream-fetch.ts';
import { type AptCatalogEntry, catalogEntryFromStanza } from './catalog-entry.ts';
import type { AptRelease, AptReleaseFile } from './release-file.ts';
import { StanzaSplitter } from './stanza-splitter.ts';

export interface AptIndexLimits {
  /** Largest compressed index accepted (its size in the Release). Default 256 MiB. */
  maxCompressedBytes?: number;
  /** Largest decompressed index. Default 1 GiB (Debian bookworm main amd64: 50 MB). */
  maxIndexBytes?: number;
  /** Longest stanza, in characters. Default 1 MiB (bookworm's longest: 76 KB). */
  maxStanzaBytes?: number;
}

export interface ReadAptPackagesOptions {
  limits?: AptIndexLimits;
  /** A streaming SHA-256 (Capabilities.hash('sha256') for native speed); default a pure-JS one. */
  sha256?: () => Hasher;
  /** Compressions to consider, best first. Default xz, gzip, none. */
  prefer?: Array<'xz' | 'gzip' | 'none'>;
  /** Keep each stanza's text on its entry (`stanza`): mirrors publish the upstream's own description of a package. */
  keepStanza?: boolean;
}

/** What the iteration returns once it completes (the value of the generator's final `done` result). */
export interface AptPackagesSummary {
  /** The index file read, as the Release lists it. */
  file: AptReleaseFile;
  url: string;
  compression: 'xz' | 'gzip' | 'none';
  entries: number;
  /** Decompressed size. */
  indexBytes: number;
}

const SUFFIX: Record<'xz' | 'gzip' | 'none', string> = { xz: '.xz', gzip: '.gz', none: '' };
const DEFAULT_LIMITS: Required<AptIndexLimits> = { maxCompressedBytes: 256 * 1024 * 1024, maxIndexBytes: 1024 * 1024 * 1024, maxStanzaBytes: 1024 * 1024 };
/** Compressed input is fed to the decoder in slices this long, so one slice's output (and the entries queued from it) stays small. */
const SLICE = 16 * 1024;
/** Decompressed bytes decoded to text at a time: far below V8's large-object size (128 KiB), so the text dies young. */
const TEXT_PIECE = 32 * 1024;

/** The Packages file of one component and architecture the Release lists, best compression first. */
export function pickPackagesIndex(
  release: AptRelease,
  component: string,
  arch: string,
  prefer: ReadAptPackagesOptions['prefer'] = ['xz', 'gzip', 'none'],
): { file: AptReleaseFile; compression: 'xz' | 'gzip' | 'none' } {
  const stem = `${component}/binary-${arch}/Packages`;
  for (const compression of prefer) {
    const file = release.files.find((f) => f.path === stem + SUFFIX[compression]);
    if (file) return { file, compression };
  }
  throw new RepodError(
    'upstream_index_missing',
    `the Release of '${release.dist}' lists no ${stem} index (components: ${release.components.join(' ') || 'none'}; architectures: ${release.architectures.join(' ') || 'none'})`,
    {
      status: 422,
      details: { dist: release.dist, component, arch, components: release.components, architectures: release.architectures },
    },
  );
}

/**
 * The binary packages of `<base>/dists/<release.dist>/<component>/binary-<arch>/`, in index order.
 * Errors (RepodError, 422 unless said): `upstream_hash_mismatch` when the bytes differ from the
 * Release's size or SHA-256 (also when a corrupt download fails to decompress),
 * `upstream_index_invalid` (undecodable or malformed content), `upstream_index_too_large`,
 * `upstream_index_missing`, and the fetch errors of upstream-fetch.ts (502).
 */
export async function* readAptPackages(
  fetch: UpstreamFetch,
  base: string,
  release: AptRelease,
  component: string,
  arch: string,
  options: ReadAptPackagesOptions = {},
): AsyncGenerator<AptCatalogEntry, AptPackagesSummary, undefined> {
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  const { file, compression } = pickPackagesIndex(release, component, arch, options.prefer);
  const dir = `dists/${release.dist}`;
  const plainUrl = upstreamUrl(base, `${dir}/${file.path}`);
  if (file.size > limits.maxCompressedBytes) {
    throw new RepodError('upstream_index_too_large', `${plainUrl} is ${file.size} bytes, more than the limit of ${limits.maxCompressedBytes}`, {
      status: 422,
      details: { url: plainUrl, size: file.size, maxCompressedBytes: limits.maxCompressedBytes },
    });
  }

  let url = plainUrl;
  let response: Response | null = null;
  if (release.acquireByHash) {
    url = upstreamUrl(base, `${dir}/${file.path.slice(0, file.path.lastIndexOf('/'))}/by-hash/SHA256/${file.sha256}`);
    response = await fetchUpstream(fetch, url, true);
  }
  if (!response) {
    url = plainUrl;
    response = (await fetchUpstream(fetch, url, false))!;
  }

  const hasher = options.sha256?.() ?? nobleHasher();
  const queue: AptCatalogEntry[] = [];
  let stanzas = 0;
  let indexBytes = 0;
  const decoder = new TextDecoder();
  const splitter = new StanzaSplitter(
    limits.maxStanzaBytes,
    (text) => {
      // A stanza is cut from a piece of decoded text, and the entry's fields from the stanza: an
      // entry a caller keeps (mirrors keep thousands) would keep the whole piece alive. Kept
      // stanzas are copied first, so the entry holds its own text and nothing more.
      const own = options.keepStanza ? (' ' + text).slice(1) : text;
      const entry = catalogEntryFromStanza(own, `${url}, stanza ${++stanzas}`);
      if (options.keepStanza) entry.stanza = own;
      queue.push(entry);
    },
    url,
  );
  const inflater: Inflater = createInflater(compression as Compression, (chunk) => {
    indexBytes += chunk.byteLength;
    if (indexBytes > limits.maxIndexBytes) {
      throw new RepodError('upstream_index_too_large', `${url} decompresses to more than ${limits.maxIndexBytes} bytes`, {
        status: 422,
        details: { url, maxIndexBytes: limits.maxIndexBytes },
      });
    }
    // Decoded in pieces: an xz chunk can inflate to megabytes, and a string that large is born in
    // V8's old generation, where only a full collection frees it (tens of MB of garbage per sync).
    for (let at = 0; at < chunk.byteLength; at += TEXT_PIECE) splitter.push(decoder.decode(chunk.subarray(at, at + TEXT_PIECE), { stream: true }));
  });

  const mismatch = (what: string, cause?: unknown) =>
    new RepodError(
      'upstream_hash_mismatch',
      `${url}: ${what} differs from the Release of '${release.dist}' (size ${file.size}, sha256 ${file.sha256}): the upstream changed during the sync, or the index was tampered with`,
      {
        status: 422,
        cause,
        details: { url, path: file.path, size: file.size, sha256: file.sha256 },
      },
    );

  const reader = response.body?.getReader();
  let received = 0;
  // A failure of decoding or parsing: the rest is still read and hashed (at most the listed size),
  // because a corrupt download is a hash mismatch, and that is the error that names the cause.
  let failure: unknown;
  let finished = false;
  try {
    while (reader) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (cause) {
        if (cause instanceof RepodError) throw cause;
        throw new RepodError('upstream_unreachable', `reading ${url} failed: ${(cause as Error)?.message ?? String(cause)}`, { status: 502, cause, details: { url } });
      }
      if (chunk.done) break;
      const bytes = chunk.value;
      received += bytes.byteLength;
      if (received > file.size) throw mismatch(`the body is longer than ${file.size} bytes`, failure);
      hasher.update(bytes);
      if (failure !== undefined) continue;
      try {
        for (let at = 0; at < bytes.byteLength; at += SLICE) {
          await inflater.write(bytes.subarray(at, Math.min(at + SLICE, bytes.byteLength)));
          if (queue.length > 0) yield* drain(queue);
        }
      } catch (error) {
        failure = error;
        inflater.abort();
      }
    }
    if (received !== file.size) throw mismatch(`the body is ${received} bytes long, not ${file.size}`, failure);
    const digest = await hasher.digest();
    if (digest !== file.sha256) throw mismatch(`its sha256 ${digest}`, failure);
    if (failure !== undefined) throw asUpstreamError(failure, url);
    try {
      await inflater.end();
      splitter.push(decoder.decode());
      splitter.end();
    } catch (error) {
      throw asUpstreamError(error, url);
    }
    if (queue.length > 0) yield* drain(queue);
    finished = true;
    return { file, url, compression, entries: stanzas, indexBytes };
  } finally {
    if (!finished) {
      inflater.abort();
      reader?.cancel().catch(() => undefined);
    }
  }
}

/** Yields and empties the queue (in place, so the entries can be collected while it is consumed). */
function* drain(queue: AptCatalogEntry[]): Generator<AptCatalogEntry> {
  const items = queue.splice(0, queue.length);
  for (const item of items) yield item;
}

function asUpstreamError(error: unknown, url: string): unknown {
  if (error instanceof RepodError) return error;
  if (error instanceof DecompressError) {
    return new RepodError('upstream_index_invalid', `${url} does not decompress: ${error.message}`, { status: 422, cause: error, details: { url } });
  }
  return error;
}

function nobleHasher(): Hasher {
  const h = nobleSha256.create();
  return {
    update: (data) => void h.update(data),
    digest: async () => bytesToHex(h.digest()),
  };
}
