import { RepodError } from '../../errors.ts';
import { type Compression, createInflater, DecompressError } from '../../formats/archive/decompress.ts';
import { fetchUpstream, type UpstreamFetch } from '../upstream-fetch.ts';
import { checksumAlgorithm, type HasherFactory, pureHasher } from './index-checksum.ts';
import { type RpmIndexLimits, rpmIndexLimits } from './limits.ts';
import { PrimaryXmlParser } from './primary-parser.ts';
import { primaryData, type RepomdChecksum, repomdDataUrl, type UpstreamRepomd } from './repomd.ts';
import { type UpstreamRpmPackage, withSlash } from './upstream-package.ts';

export interface ReadPrimaryOptions {
  limits?: Partial<RpmIndexLimits>;
  /** The runtime's hasher (Capabilities.hash); pure JS when absent. */
  hash?: HasherFactory;
}

/** What readPrimary's generator returns once every package has been yielded and every check passed. */
export interface PrimaryReadSummary {
  url: string;
  packages: number;
  /** Bytes downloaded (compressed) and after decompression. */
  bytes: number;
  openBytes: number;
  checksum: RepomdChecksum;
}

/** Compressed input is fed to the decoder in pieces of this size, so the packages one piece yields stay few. */
const SLICE = 16 * 1024;

/**
 * Streams an upstream's primary metadata: downloads the file repomd lists as `primary` (gzip, xz,
 * zstd or uncompressed, by its name), decompresses and parses it as it arrives, and yields each
 * package as soon as its `</package>` is read. Memory stays at one package plus one download
 * chunk and its decompressed output, whatever the size of the file.
 *
 * The file is verified against repomd as it streams: its size (when given) and its checksum,
 * and, when repomd gives them, the uncompressed size and checksum. A size past the announced one
 * fails at once; a checksum can only be judged at the end, so a mismatch throws
 * `upstream_hash_mismatch` (422) after packages have been yielded (never the last ones): a caller
 * must stage what it receives and commit it only when the iteration ends without an error.
 * Malformed or truncated content throws `upstream_index_invalid`, a broken limit
 * `upstream_index_too_large` (both 422).
 */
export async function* readPrimary(
  fetch: UpstreamFetch,
  base: string,
  repomd: Pick<UpstreamRepomd, 'data' | 'url'>,
  options: ReadPrimaryOptions = {},
): AsyncGenerator<UpstreamRpmPackage, PrimaryReadSummary, undefined> {
  const limits = rpmIndexLimits(options.limits);
  const hash = options.hash ?? pureHasher;
  const data = primaryData(repomd);
  const url = repomdDataUrl({ base: withSlash(base) }, data);
  const compression = compressionOf(data.href, url);
  const hasher = hash(checksumAlgorithm(data.checksum.type, `primary in repomd.xml`));
  const openHasher = data.openChecksum ? hash(checksumAlgorithm(data.openChecksum.type, `primary in repomd.xml`)) : undefined;
  const maxBytes = Math.min(limits.maxPrimaryBytes, data.size ?? Number.POSITIVE_INFINITY);

  const response = (await fetchUpstream(fetch, url, false))!;
  const ready: UpstreamRpmPackage[] = [];
  const parser = new PrimaryXmlParser((pkg) => ready.push(pkg), limits);
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let bytes = 0;
  let openBytes = 0;
  let sinceDrain = 0;
  const inflater = createInflater(compression, (chunk) => {
    openBytes += chunk.length;
    sinceDrain += chunk.length;
    if (openBytes > limits.maxPrimaryOpenBytes) throw tooLarge(`primary at ${url} decompresses to more than ${limits.maxPrimaryOpenBytes} bytes`, url);
    if (data.openSize !== undefined && openBytes > data.openSize) throw mismatch(`primary at ${url} decompresses to more than the ${data.openSize} bytes repomd.xml gives`, url);
    if (sinceDrain > limits.maxExpansionBytes) throw tooLarge(`primary at ${url} expands beyond ${limits.maxExpansionBytes} bytes from ${SLICE} compressed bytes`, url);
    openHasher?.update(chunk);
    parser.write(decoder.decode(chunk, { stream: true }));
  });

  const reader = response.body?.getReader();
  let finished = false;
  try {
    if (reader) {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        bytes += value.length;
        if (bytes > maxBytes) {
          if (data.size !== undefined && bytes > data.size) throw mismatch(`primary at ${url} is larger than the ${data.size} bytes repomd.xml gives`, url);
          throw tooLarge(`primary at ${url} is larger than ${limits.maxPrimaryBytes} bytes`, url);
        }
        hasher.update(value);
        for (let at = 0; at < value.length; at += SLICE) {
          await inflater.write(value.length <= SLICE ? value : value.subarray(at, at + SLICE));
          if (ready.length > 0) yield* drain(ready);
          sinceDrain = 0;
        }
      }
    }
    await inflater.end();
    parser.write(decoder.decode());
    const parsed = parser.end();
    if (data.size !== undefined && bytes !== data.size) throw mismatch(`primary at ${url} has ${bytes} bytes, repomd.xml says ${data.size}`, url);
    const actual = await hasher.digest();
    if (actual !== data.checksum.value) {
      throw mismatch(`primary at ${url} has the ${data.checksum.type} ${actual}, repomd.xml says ${data.checksum.value}`, url, { expected: data.checksum.value, actual });
    }
    if (data.openSize !== undefined && openBytes !== data.openSize) throw mismatch(`primary at ${url} decompresses to ${openBytes} bytes, repomd.xml says ${data.openSize}`, url);
    if (openHasher && data.openChecksum) {
      const open = await openHasher.digest();
      if (open !== data.openChecksum.value) {
        throw mismatch(`primary at ${url} decompresses to content with the ${data.openChecksum.type} ${open}, repomd.xml says ${data.openChecksum.value}`, url, {
          expected: data.openChecksum.value,
          actual: open,
        });
      }
    }
    // Only now are the last packages known to come from the file repomd.xml describes.
    yield* drain(ready);
    finished = true;
    return { url, packages: parsed.packages, bytes, openBytes, checksum: data.checksum };
  } catch (error) {
    throw translate(error, url);
  } finally {
    if (!finished) {
      inflater.abort();
      await reader?.cancel().catch(() => undefined);
    }
  }
}

function* drain(ready: UpstreamRpmPackage[]): Generator<UpstreamRpmPackage> {
  // Taken out first: the consumer may take its time, and the array must not be shifted package by package.
  const batch = ready.splice(0, ready.length);
  yield* batch;
}

/** primary's compression, from its file name as createrepo_c writes it (…-primary.xml.gz). */
function compressionOf(href: string, url: string): Compression {
  const path = href.replace(/[?#].*$/, '').toLowerCase();
  if (path.endsWith('.gz')) return 'gzip';
  if (path.endsWith('.xz')) return 'xz';
  if (path.endsWith('.zst') || path.endsWith('.zstd')) return 'zstd';
  if (path.endsWith('.xml')) return 'none';
  const suffix = path.slice(path.lastIndexOf('.'));
  throw new RepodError('upstream_unsupported_compression', `primary at ${url} is compressed as ${suffix}; repod reads .gz, .xz, .zst and uncompressed primary`, {
    status: 422,
    details: { url },
  });
}

function translate(error: unknown, url: string): unknown {
  if (error instanceof RepodError) return error;
  if (error instanceof DecompressError) {
    return new RepodError('upstream_index_invalid', `primary at ${url} cannot be decompressed: ${error.message}`, { status: 422, cause: error, details: { url } });
  }
  if (error instanceof TypeError && /encod|decod/i.test(error.message)) {
    return new RepodError('upstream_index_invalid', `primary at ${url} is not UTF-8`, { status: 422, cause: error, details: { url } });
  }
  return error;
}

function mismatch(message: string, url: string, extra: Record<string, unknown> = {}): RepodError {
  return new RepodError('upstream_hash_mismatch', message, { status: 422, details: { url, ...extra } });
}

function tooLarge(message: string, url: string): RepodError {
  return new RepodError('upstream_index_too_large', message, { status: 422, details: { url } });
}
