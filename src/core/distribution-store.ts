import { layout } from '../bucket/layout.ts';
import type { Capabilities } from '../capabilities.ts';
import { checkedSet, type Distribution, Distributions, type DistributionsConfig, dependentsOf, parseDistributionsConfig } from '../config/distributions.ts';
import { ConflictError, NotFoundError, PreconditionFailedError, RepodError } from '../errors.ts';
import { getJson, putJson } from '../storage/objects.ts';

/**
 * The distributions as data, in one small object of the store (config/distributions.json) so
 * every server of a fleet serves the same set. Every change is a compare-and-swap of that object:
 * two servers editing at once both land (the loser re-reads and re-applies its change) or the
 * change gets a clear 409; none is lost.
 *
 * Seeding: a store without the object gets the defaults and the entries of REPOD_DISTRIBUTIONS.
 * Once the object exists, it wins: at start an entry of REPOD_DISTRIBUTIONS is applied again only
 * when it is new or differs from the version of it last applied (the object remembers those), so
 * an operator's edit of the file reaches the store once, and API edits and retirements of entries
 * the file did not change survive restarts.
 *
 * Retiring keeps the distribution's revisions and objects (garbage collection walks every ref in
 * the store, so they stay), but it is no longer listed or served. It can be created again with
 * the same kind, and its revisions are then served again.
 */
export interface DistributionsObject {
  format: 1;
  distributions: Distribution[];
  retired: RetiredDistribution[];
  /** Canonical JSON of each REPOD_DISTRIBUTIONS entry as last applied, by name. */
  seeded: Record<string, string>;
}

export interface RetiredDistribution {
  name: string;
  kind: Distribution['kind'];
  retired: string;
  by?: string;
}

/** Checks what a change may not break beyond the entry itself (keys named by `signing.keys`). */
export type EntryCheck = (entry: Distribution) => Promise<void>;

/** Every field an entry may have (of either kind): an unknown one in an API body is a typo. */
const FIELDS = new Set([
  'kind',
  'name',
  'architectures',
  'components',
  'suite',
  'origin',
  'label',
  'description',
  'private',
  'sqlite',
  'packageSignatures',
  'security',
  'mirror',
  'export',
  'multilib',
  'debuginfo',
  'zchunk',
  'signing',
]);
const IMMUTABLE = ['name', 'kind'] as const;
const DONE = Promise.resolve();
const MAX_ATTEMPTS = 10;

export class DistributionStore {
  private etag: string | null = null;
  private checkedAt = 0;
  private inFlight: Promise<void> | null = null;
  private retiredList: RetiredDistribution[] = [];

  private constructor(
    private readonly caps: Capabilities,
    readonly distributions: Distributions,
    private readonly options: { ttlMs: number; check?: EntryCheck },
  ) {
    distributions.refreshWith((options) => this.refresh(options));
  }

  /**
   * Reads (or seeds) the stored set and applies the REPOD_DISTRIBUTIONS entries that are new or
   * changed since last applied. Throws `invalid_config` for an invalid file or stored set.
   */
  static async open(caps: Capabilities, options: { json?: string; ttlMs?: number; check?: EntryCheck } = {}): Promise<DistributionStore> {
    const config = parseDistributionsConfig(options.json);
    // A broken file stops the start with its own message, before anything is written.
    const seeded = new Distributions(config.seed);
    const store = new DistributionStore(caps, seeded, { ttlMs: options.ttlMs ?? 1000, check: options.check });
    await store.seed(config);
    return store;
  }

  /** The retired distributions (names that are not served, whose revisions are kept). */
  retired(): RetiredDistribution[] {
    return [...this.retiredList];
  }

  /**
   * Picks up a change another server made: at most one store request every `ttlMs` (a HEAD, and a
   * GET only when the object's etag moved). A failed read keeps the set this process has, and is
   * tried again after `ttlMs`. With `waitMs`, waits at most that long for the read: a slow or
   * unreachable store then delays no request by more (it goes on with the set it has).
   */
  refresh(options: { waitMs?: number } = {}): Promise<void> {
    if (Date.now() - this.checkedAt < this.options.ttlMs) return DONE;
    if (!this.inFlight) {
      this.checkedAt = Date.now();
      this.inFlight = this.reload()
        .catch((error) => this.caps.log('distributions: cannot re-read the stored set; serving the one known', { error: (error as Error).message }))
        .finally(() => {
          this.inFlight = null;
        });
    }
    if (options.waitMs === undefined) return this.inFlight;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const waited = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, options.waitMs);
    });
    return Promise.race([this.inFlight, waited]).finally(() => clearTimeout(timer));
  }

  /**
   * The set served now when `refresh()` would not read the store (it was checked within `ttlMs`,
   * or a re-read is under way); undefined when a re-read is due. A runtime's fast path answers
   * from it in the same tick and calls `refresh()` on undefined.
   */
  peekDistributions(): Distributions | undefined {
    return Date.now() - this.checkedAt < this.options.ttlMs ? this.distributions : undefined;
  }

  /** Adds a distribution (the JSON object of a REPOD_DISTRIBUTIONS entry). */
  async create(body: unknown, actor?: string): Promise<Distribution> {
    const entry = entryOf(body);
    await this.checkEntry(entry);
    await this.change((object) => {
      if (object.distributions.some((d) => d.name === entry.name)) throw new ConflictError(`distribution ${entry.name} exists`, 'distribution_exists');
      const retired = object.retired.find((r) => r.name === entry.name);
      if (retired && retired.kind !== entry.kind) {
        throw new ConflictError(
          `distribution ${entry.name} was a retired ${retired.kind} distribution (its revisions are kept): create it again as ${retired.kind}`,
          'kind_mismatch',
        );
      }
      object.retired = object.retired.filter((r) => r.name !== entry.name);
      object.distributions.push(entry);
    }, actor);
    return entry;
  }

  /** Applies a JSON merge patch (RFC 7396) to one entry; `name` and `kind` cannot change. */
  async update(name: string, patch: unknown, actor?: string): Promise<Distribution> {
    if (!isObject(patch)) throw invalid('the body must be a JSON object (a merge patch of the distribution)', '');
    for (const field of IMMUTABLE) {
      if (field in patch) throw invalid(`${field} cannot change (retire the distribution and create another)`, field);
    }
    let updated: Distribution | undefined;
    let checked: string | undefined;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const current = this.distributions.get(name) ?? (await this.reread()).distributions.find((d) => d.name === name);
      if (!current) throw new NotFoundError(`no distribution ${JSON.stringify(name)}`, 'unknown_distribution');
      const candidate = entryOf(mergePatch(current, patch));
      // The keys are checked once per distinct result (a retry usually yields the same entry).
      if (checked !== canonical(candidate)) {
        await this.checkEntry(candidate);
        checked = canonical(candidate);
      }
      try {
        await this.change((object) => {
          const at = object.distributions.findIndex((d) => d.name === name);
          if (at < 0) throw new NotFoundError(`no distribution ${JSON.stringify(name)}`, 'unknown_distribution');
          // Merged from what this process knew: if the stored entry moved meanwhile, merge again.
          if (canonical(object.distributions[at]) !== canonical(current)) throw new StaleEntry();
          object.distributions[at] = candidate;
        }, actor);
        updated = candidate;
        break;
      } catch (error) {
        if (!(error instanceof StaleEntry)) throw error;
        await this.reread();
      }
    }
    if (!updated) throw new ConflictError(`distribution ${name} kept changing; try again`, 'distributions_conflict');
    return updated;
  }

  /**
   * Retires a distribution: no longer listed or served; its revisions stay. Refused while another
   * distribution names it as a dependency base, and (unless `force`) while it has revisions.
   */
  async retire(name: string, options: { force?: boolean; hasRevisions: () => Promise<boolean>; actor?: string }): Promise<RetiredDistribution> {
    if (!this.distributions.get(name)) await this.reread();
    if (!this.distributions.get(name)) throw new NotFoundError(`no distribution ${JSON.stringify(name)}`, 'unknown_distribution');
    if (!options.force && (await options.hasRevisions())) {
      throw new ConflictError(
        `distribution ${name} has revisions: retire it with ?force=true (its revisions are kept, and served again if it is created again)`,
        'distribution_has_revisions',
      );
    }
    let retired: RetiredDistribution | undefined;
    await this.change((object) => {
      const entry = object.distributions.find((d) => d.name === name);
      if (!entry) throw new NotFoundError(`no distribution ${JSON.stringify(name)}`, 'unknown_distribution');
      const dependents = dependentsOf(object.distributions, name);
      if (dependents.length > 0) {
        throw new ConflictError(`distribution ${name} is the dependency base of ${dependents.join(', ')}: change those first`, 'distribution_in_use', { dependents });
      }
      retired = { name, kind: entry.kind, retired: this.caps.now().toISOString(), ...(options.actor ? { by: options.actor } : {}) };
      object.distributions = object.distributions.filter((d) => d.name !== name);
      object.retired = [...object.retired.filter((r) => r.name !== name), retired];
    }, options.actor);
    return retired!;
  }

  /** One compare-and-swap change of the stored object, re-applied on a lost race; the new set is served at once. */
  private async change(apply: (object: DistributionsObject) => void, actor?: string): Promise<void> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const found = await getJson<DistributionsObject>(this.caps.store, layout.distributionsConfig());
      if (!found) throw new RepodError('distributions_missing', `${layout.distributionsConfig()} is missing from the store; restart a server to seed it`, { status: 503 });
      const object = normalized(found.value);
      apply(object);
      try {
        checkedSet(object.distributions);
      } catch (error) {
        throw asInvalid(error);
      }
      try {
        const { etag } = await putJson(this.caps.store, layout.distributionsConfig(), object, { ifMatch: found.etag });
        this.install(object, etag);
        this.caps.log('distributions changed', { by: actor, distributions: object.distributions.length, retired: object.retired.length });
        return;
      } catch (error) {
        if (!(error instanceof PreconditionFailedError)) throw error;
      }
    }
    throw new ConflictError('the distributions kept changing; try again', 'distributions_conflict');
  }

  private async seed(config: DistributionsConfig): Promise<void> {
    const seededNow = Object.fromEntries(config.entries.map((e) => [e.name, canonical(e)]));
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const found = await getJson<DistributionsObject>(this.caps.store, layout.distributionsConfig());
      try {
        if (!found) {
          const object: DistributionsObject = { format: 1, distributions: config.seed, retired: [], seeded: seededNow };
          const { etag } = await putJson(this.caps.store, layout.distributionsConfig(), object, { ifNoneMatch: '*' });
          this.install(object, etag);
          return;
        }
        const object = normalized(found.value);
        const changed = applySeed(object, config, (name) =>
          this.caps.log('distributions: REPOD_DISTRIBUTIONS changes the kind of a stored distribution; keeping the stored one', { name }),
        );
        if (changed === 0) {
          this.install(object, found.etag);
          return;
        }
        const { etag } = await putJson(this.caps.store, layout.distributionsConfig(), object, { ifMatch: found.etag });
        this.install(object, etag);
        return;
      } catch (error) {
        if (!(error instanceof PreconditionFailedError)) throw error;
      }
    }
    throw new ConflictError('the distributions kept changing while seeding them; start again', 'distributions_conflict');
  }

  private async reload(): Promise<void> {
    const head = await this.caps.store.head(layout.distributionsConfig());
    if (!head || head.etag === this.etag) return;
    await this.reread();
  }

  private async reread(): Promise<DistributionsObject> {
    const found = await getJson<DistributionsObject>(this.caps.store, layout.distributionsConfig());
    if (!found) return { format: 1, distributions: this.distributions.all(), retired: this.retiredList, seeded: {} };
    const object = normalized(found.value);
    if (found.etag !== this.etag) this.install(object, found.etag);
    return object;
  }

  private install(object: DistributionsObject, etag: string): void {
    this.distributions.replace(object.distributions);
    this.retiredList = object.retired;
    this.etag = etag;
    this.checkedAt = Date.now();
  }

  private async checkEntry(entry: Distribution): Promise<void> {
    if (!this.options.check) return;
    try {
      await this.options.check(entry);
    } catch (error) {
      throw asInvalid(error);
    }
  }
}

/**
 * The distributions a store holds, for a tool that only reads (`repod export --storage`): the
 * stored set with the REPOD_DISTRIBUTIONS entries a server would apply at start, or the seed when
 * the store has none yet. Writes nothing.
 */
export async function readStoredDistributions(caps: Pick<Capabilities, 'store'>, json?: string): Promise<Distributions> {
  const config = parseDistributionsConfig(json);
  const found = await getJson<DistributionsObject>(caps.store, layout.distributionsConfig());
  if (!found) return new Distributions(config.seed);
  const object = normalized(found.value);
  applySeed(object, config, () => undefined);
  return new Distributions(object.distributions);
}

/** Applies the file's entries that are new or changed since last applied; how many were. */
function applySeed(object: DistributionsObject, config: DistributionsConfig, kindChanged: (name: string) => void): number {
  let changed = 0;
  for (const entry of config.entries) {
    const text = canonical(entry);
    if (object.seeded[entry.name] === text) continue;
    const at = object.distributions.findIndex((d) => d.name === entry.name);
    if (at >= 0 && object.distributions[at].kind !== entry.kind) {
      kindChanged(entry.name);
      continue;
    }
    if (at >= 0) object.distributions[at] = entry;
    else object.distributions.push(entry);
    object.retired = object.retired.filter((r) => r.name !== entry.name);
    object.seeded[entry.name] = text;
    changed++;
  }
  return changed;
}

class StaleEntry extends Error {}

function normalized(value: DistributionsObject): DistributionsObject {
  if (value.format !== 1) throw new RepodError('unsupported_format', `${layout.distributionsConfig()} has format ${value.format}, which this version cannot read`, { status: 500 });
  return { format: 1, distributions: value.distributions ?? [], retired: value.retired ?? [], seeded: value.seeded ?? {} };
}

/** An API body as an entry: a JSON object with known fields, valid on its own (422 naming the field otherwise). */
function entryOf(body: unknown): Distribution {
  if (!isObject(body)) throw invalid('the body must be a JSON object like an entry of the REPOD_DISTRIBUTIONS file', '');
  for (const field of Object.keys(body)) {
    if (!FIELDS.has(field)) throw invalid(`unknown field ${JSON.stringify(field)}`, field);
  }
  for (const field of ['name', 'kind'] as const) {
    if (typeof body[field] !== 'string') throw invalid(`${field} is required (a string)`, field);
  }
  const entry = body as unknown as Distribution;
  try {
    checkedSet([entry]);
  } catch (error) {
    // Links to other distributions are checked against the whole set when it is written.
    if (!(error instanceof RepodError && /security\.dependencies\.base names "/.test(error.message))) throw asInvalid(error);
  }
  return entry;
}

/** RFC 7396: objects merge key by key, null deletes, anything else (arrays too) replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return patch;
  const out: Record<string, unknown> = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = mergePatch(out[key], value);
  }
  return out;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** JSON with object keys sorted: equal entries compare equal however their keys were ordered. */
export function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (isObject(value)) {
    return `{${Object.keys(value)
      .sort()
      .filter((k) => value[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

const FIELD_IN_MESSAGE = /^distribution [^:]+: ([A-Za-z][A-Za-z.]*)/;

function invalid(message: string, field: string): RepodError {
  return new RepodError('invalid_distribution', message, { status: 422, details: field ? { field } : {} });
}

/** A validation failure as the API's 422, naming the field where the message does. */
function asInvalid(error: unknown): unknown {
  if (!(error instanceof RepodError) || error.status >= 500 || error.status === 409 || error.status === 404) return error;
  const field = FIELD_IN_MESSAGE.exec(error.message)?.[1] ?? (/distribution name/.test(error.message) ? 'name' : '');
  return new RepodError('invalid_distribution', error.message, { status: 422, details: { ...error.details, ...(field ? { field } : {}) }, cause: error });
}
