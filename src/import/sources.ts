/**
 * Import sources: the upstream APT and RPM repositories a maintainer registered, kept in the store
 * so every server on one bucket sees the same list. Ids are small numbers (Repod's API uses
 * `source_id: 1`), handed out by a counter object advanced by compare-and-swap, so two servers
 * creating sources at once never hand out the same id.
 */
import { layout } from '../bucket/layout.ts';
import type { Capabilities } from '../capabilities.ts';
import { NotFoundError, PreconditionFailedError, RepodError } from '../errors.ts';
import type { OutboundClient } from '../outbound/outbound-client.ts';
import { getJson, putJson } from '../storage/objects.ts';

export type ImportSourceKind = 'apt' | 'rpm';

export interface ImportSource {
  id: number;
  name: string;
  url: string;
  kind: ImportSourceKind;
  /** APT: the directory under dists/ (jammy, bookworm, stable). */
  suite?: string;
  /** APT: default ["main"]. */
  components?: string[];
  /** APT: default ["amd64"]. */
  architectures?: string[];
  /** The upstream's armored public signing key; without one, indexes are read unverified. */
  key?: string;
  /** When a scheduled sync runs (e.g. "02:00" daily, server time); kept for the scheduler. */
  schedule?: string;
  created: string;
  createdBy?: string;
  lastSync?: { at: string; job: string; count: number };
}

/** What a client may set at creation (and change with PATCH). */
export interface ImportSourceInput {
  name?: unknown;
  url?: unknown;
  kind?: unknown;
  suite?: unknown;
  components?: unknown;
  architectures?: unknown;
  key?: unknown;
  schedule?: unknown;
}

interface StoredSource extends ImportSource {
  format: 1;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._ -]{0,99}$/;
const WORD = /^[A-Za-z0-9][A-Za-z0-9._+~/-]{0,99}$/;
const SCHEDULE = /^([01][0-9]|2[0-3]):[0-5][0-9]$/;
const MAX_KEY_CHARS = 1024 * 1024;
const LIST_TTL_MS = 1000;

export class ImportSources {
  #listCache: { at: number; sources: ImportSource[] } | null = null;

  constructor(
    private readonly caps: Capabilities,
    private readonly outbound: Pick<OutboundClient, 'check'>,
  ) {}

  async get(id: number): Promise<ImportSource | null> {
    if (!Number.isSafeInteger(id) || id < 1) return null;
    const found = await getJson<StoredSource>(this.caps.store, layout.importSource(id));
    return found ? publicSource(found.value) : null;
  }

  /** Every source, by id. */
  async list(): Promise<ImportSource[]> {
    const sources: ImportSource[] = [];
    for await (const entry of this.caps.store.list(layout.importSourcesPrefix())) {
      const found = await getJson<StoredSource>(this.caps.store, entry.key);
      if (found) sources.push(publicSource(found.value));
    }
    sources.sort((a, b) => a.id - b.id);
    this.#listCache = { at: Date.now(), sources };
    return sources;
  }

  /** The list, at most a second old (catalog searches ask on every request). */
  async listCached(): Promise<ImportSource[]> {
    if (this.#listCache && Date.now() - this.#listCache.at < LIST_TTL_MS) return this.#listCache.sources;
    return this.list();
  }

  /** Validates and stores a new source; 400 naming the field for bad input (a private address included). */
  async create(input: ImportSourceInput, actor?: string): Promise<ImportSource> {
    const fields = this.validate(input, null);
    const id = await this.nextId();
    const source: StoredSource = { format: 1, id, ...fields, created: this.caps.now().toISOString(), ...(actor ? { createdBy: actor } : {}) };
    await putJson(this.caps.store, layout.importSource(id), source, { ifNoneMatch: '*' });
    this.#listCache = null;
    return publicSource(source);
  }

  /** Changes the given fields; kind cannot change (the catalog's shape depends on it). */
  async update(id: number, input: ImportSourceInput): Promise<ImportSource> {
    for (let attempt = 0; ; attempt++) {
      const found = await getJson<StoredSource>(this.caps.store, layout.importSource(id));
      if (!found) throw unknownSource(id);
      if (input.kind !== undefined && input.kind !== found.value.kind) {
        throw new RepodError('invalid_source', `a source's kind cannot change (source ${id} is ${found.value.kind}); create a new source instead`, { status: 400 });
      }
      const merged = this.validate({ ...withoutInternal(found.value), ...definedOnly(input) }, found.value);
      const next: StoredSource = { ...found.value, ...merged };
      for (const k of ['suite', 'components', 'architectures', 'key', 'schedule'] as const) if (merged[k] === undefined) delete next[k];
      try {
        await putJson(this.caps.store, layout.importSource(id), next, { ifMatch: found.etag });
        this.#listCache = null;
        return publicSource(next);
      } catch (error) {
        if (!(error instanceof PreconditionFailedError) || attempt >= 5) throw error;
      }
    }
  }

  async remove(id: number): Promise<boolean> {
    const key = layout.importSource(id);
    if (!(await this.caps.store.head(key))) return false;
    await this.caps.store.delete(key);
    this.#listCache = null;
    return true;
  }

  /** Records the outcome of a sync on the source (compare-and-swap, so a concurrent PATCH is kept). */
  async recordSync(id: number, lastSync: NonNullable<ImportSource['lastSync']>): Promise<void> {
    for (let attempt = 0; attempt < 6; attempt++) {
      const found = await getJson<StoredSource>(this.caps.store, layout.importSource(id));
      if (!found) return;
      try {
        await putJson(this.caps.store, layout.importSource(id), { ...found.value, lastSync }, { ifMatch: found.etag });
        this.#listCache = null;
        return;
      } catch (error) {
        if (!(error instanceof PreconditionFailedError)) throw error;
      }
    }
  }

  private async nextId(): Promise<number> {
    const key = layout.importSourceCounter();
    for (let attempt = 0; attempt < 20; attempt++) {
      const found = await getJson<{ format: 1; last: number }>(this.caps.store, key);
      const next = (found?.value.last ?? 0) + 1;
      try {
        await putJson(this.caps.store, key, { format: 1, last: next }, found ? { ifMatch: found.etag } : { ifNoneMatch: '*' });
        return next;
      } catch (error) {
        if (!(error instanceof PreconditionFailedError)) throw error;
      }
    }
    throw new RepodError('conflict', 'could not allocate a source id: too many concurrent creations, try again', { status: 409 });
  }

  private validate(input: ImportSourceInput, previous: ImportSource | null): Omit<ImportSource, 'id' | 'created' | 'createdBy' | 'lastSync'> {
    const bad = (message: string) => new RepodError('invalid_source', message, { status: 400 });
    if (input === null || typeof input !== 'object') throw bad('the body must be a JSON object {"name", "url", "kind": "apt"|"rpm", ...}');
    const { name, url, kind } = input;
    if (typeof name !== 'string' || !NAME.test(name)) throw bad('name must be 1 to 100 letters, digits, spaces, ".", "_" or "-"');
    if (kind !== 'apt' && kind !== 'rpm') throw bad('kind must be "apt" or "rpm"');
    if (typeof url !== 'string' || url === '') throw bad("url must be the upstream repository's http or https URL");
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw bad(`url '${url}' is not an absolute URL`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw bad(`url must be http or https, not ${parsed.protocol}`);
    if (parsed.search || parsed.hash) throw bad('url must not have a query or a fragment');
    // Refused now rather than at the first sync: a private address unless the operator allowed it.
    if (previous === null || previous.url !== url) this.outbound.check(parsed);
    const out: Omit<ImportSource, 'id' | 'created' | 'createdBy' | 'lastSync'> = { name, url: parsed.href, kind };
    if (input.key !== undefined && input.key !== null && input.key !== '') {
      if (typeof input.key !== 'string' || !input.key.includes('-----BEGIN PGP PUBLIC KEY BLOCK-----') || input.key.length > MAX_KEY_CHARS) {
        throw bad('key must be the upstream\'s ASCII-armored OpenPGP public key ("-----BEGIN PGP PUBLIC KEY BLOCK-----")');
      }
      out.key = input.key;
    }
    if (input.schedule !== undefined && input.schedule !== null && input.schedule !== '') {
      if (typeof input.schedule !== 'string' || !SCHEDULE.test(input.schedule)) throw bad('schedule must be a daily time "HH:MM" (server time), e.g. "02:00"');
      out.schedule = input.schedule;
    }
    const words = (field: string, value: unknown, fallback: string[]): string[] => {
      if (value === undefined || value === null) return fallback;
      if (!Array.isArray(value) || value.length === 0 || value.length > 64 || !value.every((v) => typeof v === 'string' && WORD.test(v) && !v.includes('..'))) {
        throw bad(`${field} must be a non-empty list of names such as ["main"]`);
      }
      return [...new Set(value as string[])];
    };
    if (kind === 'apt') {
      const suite = input.suite;
      if (typeof suite !== 'string' || !WORD.test(suite) || suite.split('/').some((s) => s === '' || s === '.' || s === '..')) {
        throw bad('an APT source needs a suite, the directory under dists/ (e.g. "bookworm" or "jammy")');
      }
      out.suite = suite;
      out.components = words('components', input.components, ['main']);
      out.architectures = words('architectures', input.architectures, ['amd64']);
    } else {
      for (const field of ['suite', 'components'] as const) {
        if (input[field] !== undefined && input[field] !== null && previous?.kind !== 'rpm')
          throw bad(`${field} is for APT sources; an RPM source's url is the directory holding repodata/`);
      }
      if (input.architectures !== undefined && input.architectures !== null) out.architectures = words('architectures', input.architectures, []);
    }
    return out;
  }
}

function publicSource(stored: StoredSource | ImportSource): ImportSource {
  const { format: _format, ...rest } = stored as StoredSource;
  return rest;
}

function withoutInternal(stored: StoredSource): ImportSourceInput {
  const { name, url, kind, suite, components, architectures, key, schedule } = stored;
  return { name, url, kind, suite, components, architectures, key, schedule };
}

function definedOnly(input: ImportSourceInput): ImportSourceInput {
  if (input === null || typeof input !== 'object') return input;
  return Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined));
}

export function unknownSource(id: number | string): NotFoundError {
  return new NotFoundError(`no import source ${id}`, 'unknown_source');
}
