import { Parser } from 'saxen';
import { RepodError } from '../../errors.ts';
import { fetchUpstream, readSmallBody, type UpstreamFetch } from '../upstream-fetch.ts';
import { type RpmIndexLimits, rpmIndexLimits } from './limits.ts';
import { verifyDetachedSignature } from './repomd-signature.ts';
import { withSlash } from './upstream-package.ts';
import { decodeXmlText, localName } from './xml-text.ts';

export interface RepomdChecksum {
  /** As repomd writes it: sha256, sha512, sha1, "sha" (sha1), md5. */
  type: string;
  /** Lower-case hex. */
  value: string;
}

/** One `<data>` of repomd.xml: a metadata file, where it is, and how to check it. */
export interface RepomdData {
  /** primary, filelists, other, primary_db, group, group_gz, updateinfo, modules, ... */
  type: string;
  /** `<location href>`, relative to `base` or else to the repository. */
  href: string;
  /** `<location xml:base>`, when present. */
  base?: string;
  /** Of the file as stored (compressed). */
  checksum: RepomdChecksum;
  /** Bytes of the file as stored, when repomd gives it. */
  size?: number;
  /** Of the uncompressed content. */
  openChecksum?: RepomdChecksum;
  openSize?: number;
  /** Seconds since the epoch. */
  timestamp?: number;
}

export interface UpstreamRepomd {
  /** The URL repomd.xml was read from. */
  url: string;
  /** The repository's base URL as given, with a trailing slash: hrefs resolve against it. */
  base: string;
  /** `<revision>`, often a timestamp. */
  revision?: string;
  /** Whether repomd.xml.asc was checked with the source's key. */
  verified: boolean;
  data: RepomdData[];
}

export interface ReadRepomdOptions {
  limits?: Partial<RpmIndexLimits>;
}

/**
 * Reads an upstream's repodata/repomd.xml. With the source's armored key, repodata/repomd.xml.asc
 * must be a detached signature of the exact bytes read, made by that key, or the read fails with
 * `upstream_signature` (422); without a key nothing is verified and `verified` is false. The
 * signature covers repomd.xml only; the files it lists are then checked against its checksums
 * (readPrimary does this for primary).
 */
/** A 404 for repomd.xml usually means the source URL is not the directory holding repodata/. */
const REPODATA_HINT = ' (is the URL the directory that holds repodata/?)';

export async function readRepomd(fetch: UpstreamFetch, base: string, key?: string, options: ReadRepomdOptions = {}): Promise<UpstreamRepomd> {
  const limits = rpmIndexLimits(options.limits);
  const root = withSlash(base);
  const url = new URL('repodata/repomd.xml', root).href;
  const bytes = await readSmallBody((await fetchUpstream(fetch, url, false, REPODATA_HINT))!, url, limits.maxRepomdBytes);
  if (key !== undefined && key.trim() !== '') {
    const signatureUrl = url + '.asc';
    const response = await fetch(signatureUrl);
    if (response.status !== 200) {
      await response.body?.cancel().catch(() => undefined);
      throw new RepodError('upstream_signature', `repomd.xml: the source has a key but the upstream has no signature (HTTP ${response.status} for ${signatureUrl})`, {
        status: 422,
        details: { url: signatureUrl, upstreamStatus: response.status },
      });
    }
    const signature = await readSmallBody(response, signatureUrl, limits.maxSignatureBytes);
    await verifyDetachedSignature(bytes, signature, key, `repomd.xml at ${url}`);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw invalid(`repomd.xml at ${url} is not UTF-8`);
  }
  return { url, base: root, verified: key !== undefined && key.trim() !== '', ...parseRepomd(text, url) };
}

/** The `primary` entry of a repomd, or a 422 naming its absence. */
export function primaryData(repomd: Pick<UpstreamRepomd, 'data' | 'url'>): RepomdData {
  const found = repomd.data.find((d) => d.type === 'primary');
  if (!found) throw invalid(`repomd.xml at ${repomd.url} lists no primary metadata`);
  return found;
}

/** The URL of a metadata file listed in repomd. */
export function repomdDataUrl(repomd: Pick<UpstreamRepomd, 'base'>, data: Pick<RepomdData, 'href' | 'base'>): string {
  const root = data.base ? new URL(withSlash(data.base), repomd.base).href : repomd.base;
  return new URL(data.href, root).href;
}

/** Parses repomd.xml text (whole: it is a few kilobytes). Exported for tests and for callers with the bytes. */
export function parseRepomd(text: string, url = 'repomd.xml'): { revision?: string; data: RepomdData[] } {
  const data: RepomdData[] = [];
  let revision: string | undefined;
  let depth = 0;
  let rootSeen = false;
  let current: Partial<RepomdData> & { sizeText?: string; openSizeText?: string; timestampText?: string } = {};
  let checksumType: string | undefined;
  let field: string | null = null;
  let buffer = '';
  const parser = new Parser();
  const fail = (problem: string): never => {
    throw invalid(`repomd.xml at ${url}: ${problem}`);
  };
  parser.on('error', (error) => fail(`not well-formed XML (${error.message})`));
  parser.on('warn', (error) => fail(`not well-formed XML (${error.message})`));
  parser.on('openTag', (raw, getAttrs) => {
    const name = localName(raw);
    const level = depth++;
    const attrs = (): Record<string, string> => {
      const a = getAttrs();
      if (a === false) return fail('a malformed attribute');
      const out: Record<string, string> = {};
      for (const k of Object.keys(a)) out[k] = decodeXmlText(a[k]);
      return out;
    };
    if (level === 0) {
      if (rootSeen) fail('a second root element');
      if (name !== 'repomd') fail(`the root element is <${name}>, not <repomd>`);
      rootSeen = true;
    } else if (level === 1 && name === 'revision') {
      field = 'revision';
      buffer = '';
    } else if (level === 1 && name === 'data') {
      current = { type: attrs().type };
    } else if (level === 2) {
      if (name === 'checksum' || name === 'open-checksum') checksumType = attrs().type;
      if (name === 'location') {
        const a = attrs();
        current.href = a.href;
        if (a['xml:base']) current.base = a['xml:base'];
      } else if (['checksum', 'open-checksum', 'size', 'open-size', 'timestamp'].includes(name)) {
        field = name;
        buffer = '';
      }
    }
  });
  parser.on('text', (raw) => {
    if (field !== null) buffer += decodeXmlText(raw);
  });
  parser.on('cdata', (raw) => {
    if (field !== null) buffer += raw;
  });
  parser.on('closeTag', (raw) => {
    const name = localName(raw);
    const level = --depth;
    if (field !== null && name === field) {
      const value = buffer.trim();
      if (field === 'revision') revision = value;
      else if (field === 'checksum' || field === 'open-checksum') {
        if (!checksumType) fail(`the ${field} of ${current.type ?? 'a data entry'} has no type`);
        const checksum = { type: checksumType!, value: value.toLowerCase() };
        if (!/^[0-9a-f]+$/.test(checksum.value)) fail(`the ${field} of ${current.type ?? 'a data entry'} is not hexadecimal`);
        if (field === 'checksum') current.checksum = checksum;
        else current.openChecksum = checksum;
      } else if (field === 'size') current.sizeText = value;
      else if (field === 'open-size') current.openSizeText = value;
      else if (field === 'timestamp') current.timestampText = value;
      field = null;
    }
    if (level === 1 && name === 'data') {
      const { type, href, checksum } = current;
      if (!type) fail('a data entry has no type');
      if (!href) fail(`the ${type} entry has no location`);
      if (!checksum) fail(`the ${type} entry has no checksum`);
      const entry: RepomdData = { type: type!, href: href!, checksum: checksum! };
      if (current.base) entry.base = current.base;
      if (current.sizeText !== undefined) entry.size = whole(current.sizeText, `the size of ${type}`, fail);
      if (current.openChecksum) entry.openChecksum = current.openChecksum;
      if (current.openSizeText !== undefined) entry.openSize = whole(current.openSizeText, `the open-size of ${type}`, fail);
      // Timestamps may be written with a fraction by old yum; whole seconds are enough.
      if (current.timestampText !== undefined) entry.timestamp = Math.floor(Number(current.timestampText)) || undefined;
      if (entry.timestamp === undefined) delete entry.timestamp;
      data.push(entry);
      current = {};
    }
  });
  parser.parse(text);
  if (!rootSeen) fail('no <repomd> element');
  return revision === undefined ? { data } : { revision, data };
}

function whole(text: string, what: string, fail: (problem: string) => never): number {
  const n = /^\d{1,16}$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(n)) fail(`${what} is "${text.slice(0, 40)}", not a whole number`);
  return n;
}

function invalid(message: string): RepodError {
  return new RepodError('upstream_index_invalid', message, { status: 422 });
}
