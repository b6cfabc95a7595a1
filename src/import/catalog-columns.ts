/**
 * A source's catalog as each process holds it for search: only what a search answers with and
 * sorts by, stored by column (typed arrays and UTF-8 bytes) instead of one object per entry.
 * Debian main (63,440 entries) takes about 13 MiB this way, 2 of them on V8's heap, instead of
 * about 38 MiB of objects; the fields only an import reads (dependencies, provides, file lists)
 * stay in the store's slices, and each entry remembers where its line is so they can be read back.
 *
 * Why it matters beyond the figure: V8 lets its old generation grow in proportion to what
 * survived the last full collection, so a large live catalog also lets more of a sync's garbage
 * pile up before it is collected. Building the columns leaves little garbage behind too: each
 * entry's fields go into the columns as its line is read, and only its name and version stay as
 * strings until the sort (entries held in objects until then outlive the young generation: some
 * 35 MB of old-generation garbage per load of Debian main).
 */
import type { CatalogPackage } from './catalog.ts';

/** The fields an entry keeps in memory (and that search answers carry). */
export type CatalogSummary = Pick<CatalogPackage, 'name' | 'version' | 'architecture' | 'size' | 'sha256' | 'url' | 'filename' | 'description' | 'component'>;

/** Ranks of a search hit: exact name, name prefix, substring of the name. */
export type SearchRank = 0 | 1 | 2;

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** Strings as UTF-8 in one byte array: no per-string header, one byte a character for ASCII. */
class TextColumn {
  constructor(
    readonly bytes: Uint8Array,
    readonly starts: Uint32Array,
  ) {}

  get(i: number): string {
    return decoder.decode(this.bytes.subarray(this.starts[i]!, this.starts[i + 1]!));
  }

  /** The column with entry `order[i]` at `i`. */
  permuted(order: Uint32Array): TextColumn {
    const bytes = new Uint8Array(this.starts[order.length]!);
    const starts = new Uint32Array(order.length + 1);
    let at = 0;
    for (let i = 0; i < order.length; i++) {
      const from = order[i]!;
      bytes.set(this.bytes.subarray(this.starts[from]!, this.starts[from + 1]!), at);
      at += this.starts[from + 1]! - this.starts[from]!;
      starts[i + 1] = at;
    }
    return new TextColumn(bytes, starts);
  }
}

class TextColumnBuilder {
  #bytes = new Uint8Array(64 * 1024);
  #starts: number[] = [0];
  #used = 0;

  add(text: string): void {
    // UTF-8 takes at most 3 bytes per UTF-16 code unit.
    if (this.#used + text.length * 3 > this.#bytes.length) {
      const grown = new Uint8Array(Math.max(this.#bytes.length * 2, this.#used + text.length * 3));
      grown.set(this.#bytes.subarray(0, this.#used));
      this.#bytes = grown;
    }
    this.#used += encoder.encodeInto(text, this.#bytes.subarray(this.#used)).written;
    this.#starts.push(this.#used);
  }

  /** The column; `trim` copies its bytes into an array of their size (else it may hold up to twice as much). */
  build(trim: boolean): TextColumn {
    return new TextColumn(trim ? this.#bytes.slice(0, this.#used) : this.#bytes.subarray(0, this.#used), Uint32Array.from(this.#starts));
  }
}

/** Values drawn from a small set (architectures, components) as indexes into it. */
class SmallSet {
  readonly values: Array<string | undefined> = [];
  readonly #index = new Map<string | undefined, number>();

  indexOf(value: string | undefined): number {
    let i = this.#index.get(value);
    if (i === undefined) {
      i = this.values.length;
      if (i > 0xffff) throw new Error('more than 65,536 distinct architectures or components in one catalog');
      this.values.push(value);
      this.#index.set(value, i);
    }
    return i;
  }
}

/** A number column that grows as entries come (the pointer's count sizes it up front). */
class NumberColumn<T extends Float64Array | Uint16Array | Uint32Array> {
  #used = 0;
  constructor(
    public values: T,
    private readonly make: (length: number) => T,
  ) {}

  add(value: number): void {
    if (this.#used === this.values.length) {
      const grown = this.make(Math.max(16, this.values.length * 2));
      grown.set(this.values);
      this.values = grown;
    }
    this.values[this.#used++] = value;
  }

  /** The values with entry `order[i]` at `i`. */
  permuted(order: Uint32Array): T {
    const out = this.make(order.length);
    for (let i = 0; i < order.length; i++) out[i] = this.values[order[i]!]!;
    return out;
  }
}

const NO_BASE = 0xffff;
const HEX = /^[0-9a-f]{64}$/;

/** Entries as they are read (their order is their place in the store), then sorted into columns. */
export class CatalogColumnsBuilder {
  readonly names: string[] = [];
  readonly versions: string[] = [];
  readonly descriptions = new TextColumnBuilder();
  readonly filenames = new TextColumnBuilder();
  readonly sizes: NumberColumn<Float64Array>;
  readonly architectures: NumberColumn<Uint16Array>;
  readonly archSet = new SmallSet();
  readonly components: NumberColumn<Uint16Array>;
  readonly componentSet = new SmallSet();
  sha256: Uint8Array;
  readonly otherSha256 = new Map<number, string>();
  readonly urlBases: string[] = [];
  readonly #baseIndex = new Map<string, number>();
  readonly urlBase: NumberColumn<Uint16Array>;
  readonly otherUrls = new Map<number, string>();

  /** `expected`: how many entries will come (sizes the columns; more may come). */
  constructor(expected: number) {
    this.sizes = new NumberColumn(new Float64Array(expected), (n) => new Float64Array(n));
    this.architectures = new NumberColumn(new Uint16Array(expected), (n) => new Uint16Array(n));
    this.components = new NumberColumn(new Uint16Array(expected), (n) => new Uint16Array(n));
    this.urlBase = new NumberColumn(new Uint16Array(expected), (n) => new Uint16Array(n));
    this.sha256 = new Uint8Array(expected * 32);
  }

  get count(): number {
    return this.names.length;
  }

  /** Adds the next entry read; answers its number (its `at`: the count of entries before it). */
  add(e: CatalogSummary): number {
    const i = this.names.length;
    this.names.push(e.name);
    this.versions.push(e.version);
    this.descriptions.add(e.description ?? '');
    this.filenames.add(e.filename);
    this.sizes.add(e.size);
    this.architectures.add(this.archSet.indexOf(e.architecture));
    this.components.add(this.componentSet.indexOf(e.component));
    if (this.sha256.length < (i + 1) * 32) {
      const grown = new Uint8Array(Math.max(32 * 16, this.sha256.length * 2));
      grown.set(this.sha256);
      this.sha256 = grown;
    }
    if (HEX.test(e.sha256)) for (let b = 0; b < 32; b++) this.sha256[i * 32 + b] = Number.parseInt(e.sha256.slice(b * 2, b * 2 + 2), 16);
    else this.otherSha256.set(i, e.sha256);
    const { url, filename } = e;
    let base: number | undefined;
    if (filename !== '' && url.endsWith(filename)) {
      const prefix = url.slice(0, url.length - filename.length);
      base = this.#baseIndex.get(prefix);
      if (base === undefined && this.urlBases.length < NO_BASE) {
        base = this.urlBases.length;
        this.#baseIndex.set(prefix, base);
        this.urlBases.push(prefix);
      }
    }
    if (base === undefined) this.otherUrls.set(i, url);
    this.urlBase.add(base ?? NO_BASE);
    return i;
  }

  /** Sorts the entries by name (case-insensitively, then exactly), `newestFirst`, then architecture. */
  build(newestFirst: (a: string, b: string) => number): CatalogColumns {
    return new CatalogColumns(this, newestFirst);
  }
}

export class CatalogColumns {
  readonly count: number;
  /** Lower-case distinct names, each followed by a newline (which no name holds), in sorted order. */
  readonly #nameText: string;
  /** Where each distinct name starts in #nameText, and its length at the end. */
  readonly #nameStarts: Uint32Array;
  /** The first entry of each distinct name, and the count at the end. */
  readonly #nameEntries: Uint32Array;
  /** Names that are not all lower-case (RPM names may be), by distinct-name index. */
  readonly #casedNames = new Map<number, string>();
  readonly #versions: TextColumn;
  readonly #descriptions: TextColumn;
  readonly #filenames: TextColumn;
  readonly #sizes: Float64Array;
  readonly #architectures: Uint16Array;
  readonly #archValues: Array<string | undefined>;
  readonly #components: Uint16Array;
  readonly #componentValues: Array<string | undefined>;
  /** sha256 as 32 bytes an entry; the rare other value (empty, for old RPM repositories) by entry. */
  readonly #sha256: Uint8Array;
  readonly #otherSha256 = new Map<number, string>();
  /** The URL is the base of its index followed by its filename; the rare other one by entry. */
  readonly #urlBases: string[];
  readonly #urlBase: Uint16Array;
  readonly #otherUrls = new Map<number, string>();
  /** Where each entry's line is in the store: its number in reading order. */
  readonly #at: Uint32Array;

  constructor(b: CatalogColumnsBuilder, newestFirst: (a: string, b: string) => number) {
    const n = (this.count = b.count);
    const lower = b.names.map((name) => name.toLowerCase());
    const archs = b.architectures.values;
    const order = Uint32Array.from({ length: n }, (_, i) => i).sort(
      (x, y) =>
        compare(lower[x]!, lower[y]!) ||
        compare(b.names[x]!, b.names[y]!) ||
        newestFirst(b.versions[x]!, b.versions[y]!) ||
        compare(b.archSet.values[archs[x]!] ?? '', b.archSet.values[archs[y]!] ?? ''),
    );
    this.#at = order;

    const distinct: number[] = [];
    for (let i = 0; i < n; i++) if (i === 0 || b.names[order[i]!] !== b.names[order[i - 1]!]) distinct.push(i);
    this.#nameEntries = Uint32Array.from([...distinct, n]);
    this.#nameStarts = new Uint32Array(distinct.length + 1);
    const parts: string[] = [];
    let length = 0;
    for (const [k, i] of distinct.entries()) {
      const name = b.names[order[i]!]!;
      const low = lower[order[i]!]!;
      if (low !== name) this.#casedNames.set(k, name);
      this.#nameStarts[k] = length;
      parts.push(low);
      length += low.length + 1;
    }
    this.#nameStarts[distinct.length] = length;
    this.#nameText = parts.length > 0 ? `${parts.join('\n')}\n` : '';

    const versions = new TextColumnBuilder();
    for (const i of order) versions.add(b.versions[i]!);
    this.#versions = versions.build(true);
    this.#descriptions = b.descriptions.build(false).permuted(order);
    this.#filenames = b.filenames.build(false).permuted(order);
    this.#sizes = b.sizes.permuted(order);
    this.#architectures = b.architectures.permuted(order);
    this.#archValues = b.archSet.values;
    this.#components = b.components.permuted(order);
    this.#componentValues = b.componentSet.values;
    this.#urlBase = b.urlBase.permuted(order);
    this.#urlBases = b.urlBases;
    this.#sha256 = new Uint8Array(n * 32);
    for (let i = 0; i < n; i++) {
      const from = order[i]!;
      this.#sha256.set(b.sha256.subarray(from * 32, from * 32 + 32), i * 32);
      const sha = b.otherSha256.get(from);
      if (sha !== undefined) this.#otherSha256.set(i, sha);
      const url = b.otherUrls.get(from);
      if (url !== undefined) this.#otherUrls.set(i, url);
    }
  }

  /** Entry `i`'s summary. */
  summary(i: number): CatalogSummary {
    const filename = this.#filenames.get(i);
    const base = this.#urlBase[i]!;
    const out: CatalogSummary = {
      name: this.#name(this.#distinctOf(i)),
      version: this.#versions.get(i),
      architecture: this.architecture(i),
      size: this.#sizes[i]!,
      sha256: this.#otherSha256.get(i) ?? hex(this.#sha256.subarray(i * 32, i * 32 + 32)),
      url: base === NO_BASE ? this.#otherUrls.get(i)! : this.#urlBases[base]! + filename,
      filename,
      description: this.#descriptions.get(i),
    };
    const component = this.#componentValues[this.#components[i]!];
    if (component !== undefined) out.component = component;
    return out;
  }

  architecture(i: number): string {
    return this.#archValues[this.#architectures[i]!] ?? '';
  }

  /** Where entry `i`'s line is in the store: its number in reading order (CatalogColumnsBuilder.add). */
  at(i: number): number {
    return this.#at[i]!;
  }

  /** The entries named exactly `name`: [from, to), newest version first. */
  range(name: string): [number, number] {
    const low = name.toLowerCase();
    for (let k = this.#firstNameAtOrAfter(low); k < this.#nameStarts.length - 1 && this.#lowerName(k) === low; k++) {
      if (this.#name(k) === name) return [this.#nameEntries[k]!, this.#nameEntries[k + 1]!];
    }
    return [0, 0];
  }

  /**
   * Hands `hit` the entries whose name matches `q` (lower-case), at most `limit` of each rank, in
   * sorted order within a rank; `accepts` filters by architecture. Exact and prefix matches are
   * one run of the sorted names (found by bisection); substrings are found by searching the names'
   * text, which is one string. When exact and prefix matches reach `limit`, no substring match
   * could make the answer and none is looked for.
   */
  search(q: string, limit: number, accepts: ((architecture: string) => boolean) | undefined, hit: (rank: SearchRank, i: number) => void): void {
    if (q.includes('\n')) return;
    const counts = [0, 0, 0];
    const ok = accepts ? Uint8Array.from(this.#archValues, (a) => (accepts(a ?? '') ? 1 : 0)) : undefined;
    const emit = (rank: SearchRank, k: number) => {
      for (let i = this.#nameEntries[k]!; i < this.#nameEntries[k + 1]! && counts[rank]! < limit; i++) {
        if (ok && !ok[this.#architectures[i]!]) continue;
        counts[rank]!++;
        hit(rank, i);
      }
    };
    const names = this.#nameStarts.length - 1;
    for (let k = this.#firstNameAtOrAfter(q); k < names && counts[0]! + counts[1]! < limit; k++) {
      const start = this.#nameStarts[k]!;
      if (!this.#nameText.startsWith(q, start)) break;
      emit(q === '' || this.#nameStarts[k + 1]! - start - 1 !== q.length ? 1 : 0, k);
    }
    if (q === '' || counts[0]! + counts[1]! >= limit) return;
    let from = 0;
    while (counts[2]! < limit) {
      const found = this.#nameText.indexOf(q, from);
      if (found === -1) break;
      const k = lastAtOrBefore(this.#nameStarts, found);
      // A name that starts with q is a prefix match, wherever else q appears in it.
      if (!this.#nameText.startsWith(q, this.#nameStarts[k]!)) emit(2, k);
      from = this.#nameStarts[k + 1]!;
    }
  }

  #lowerName(k: number): string {
    return this.#nameText.slice(this.#nameStarts[k]!, this.#nameStarts[k + 1]! - 1);
  }

  #name(k: number): string {
    return this.#casedNames.get(k) ?? this.#lowerName(k);
  }

  /** The first distinct name (by index) not before `low` in lower-case order. */
  #firstNameAtOrAfter(low: string): number {
    let lo = 0;
    let hi = this.#nameStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#lowerName(mid) < low) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The distinct name of entry `i`. */
  #distinctOf(i: number): number {
    return lastAtOrBefore(this.#nameEntries, i);
  }
}

/** The last index of sorted `values` whose value is at most `x`. */
export function lastAtOrBefore(values: ArrayLike<number>, x: number): number {
  let lo = 0;
  let hi = values.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (values[mid]! <= x) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function hex(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += b.toString(16).padStart(2, '0');
  return out;
}
