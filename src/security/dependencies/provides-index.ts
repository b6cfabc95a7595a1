/**
 * Who provides what in one set of packages (a distribution revision, a change, a base source):
 * capability name → providers, file path → owners, and the reverse map requirement name →
 * requirers that finds the packages a removal may break. Packages are added and removed by key, so
 * a distribution's index follows its revisions change by change (distribution-provides.ts).
 *
 * Memory: a distribution's index lives as long as the server, so an indexed package is one byte
 * record (record-arena.ts) and a few entries in integer multimaps (int-multimap.ts), not JS objects:
 * its key, label, provides and the paths the index keeps, as text, and its requirements as ids of
 * texts shared between packages (`libc.so.6()(64bit)`, `libc6 (>= 2.34)`). Readers get a decoded
 * copy (PackedPackage). By default only "primary" paths are kept (createrepo_c's: /etc/..., any
 * .../bin/..., /usr/lib/sendmail), the ones dnf reads from primary.xml and that distributions'
 * guidelines keep file dependencies to; dnf 5 resolves no other file dependency unless it loads
 * filelists. `files: 'all'` keeps every path (the size of a filelists.xml).
 */
import { splitKey } from '../../bucket/keys.ts';
import { isPrimaryFile } from '../../formats/rpm/dependencies.ts';
import { IntMultimap } from './int-multimap.ts';
import type { Capability, MultiArch, PackageCapabilities, PackageFormat, Relation, Requirement, RequirementEntry, Unsatisfied } from './model.ts';
import { RecordArena } from './record-arena.ts';
import { mentionedNames } from './requirement.ts';
import { requirementFromText, sameRequirement } from './requirement-text.ts';
import { debMatches, rpmMatches } from './version-match.ts';

/** What the index keeps of a package. */
export interface IndexedPackage {
  readonly key: string;
  readonly label: string;
  readonly format: PackageFormat;
  readonly arch: string;
  readonly multiArch?: MultiArch;
  readonly provides: readonly Capability[];
  /** The paths the index keeps (see `files`). */
  readonly files: readonly string[];
  readonly requires: readonly RequirementEntry[];
}

export interface ProvidesIndexOptions {
  /** Which file paths to keep for file dependencies: 'primary' (default) or 'all'. */
  files?: 'primary' | 'all';
}

/** A set of packages a requirement can be satisfied from, minus keys a change removes. */
export interface ProviderSource {
  index: ProvidesIndex;
  exclude?: ReadonlySet<string>;
}

export class ProvidesIndex {
  /** The revision this index describes, when it describes one (set by DistributionProvides). */
  revision: string | null = null;
  private readonly keepAllFiles: boolean;
  /** One record per package (see PACKAGE_HEADER); a package's record id is its slot in the maps below. */
  private readonly records = new RecordArena();
  /** Key (by its hash) → slots; readers compare the key itself. */
  private readonly byKey = new IntMultimap();
  /**
   * Capability name, path or required name (by its hash) → slots. Keyed by a hash, not the text:
   * the text is in the packages' records already. Two texts may share a hash, so readers compare
   * the text itself.
   */
  private readonly byName = new IntMultimap();
  private readonly byPath = new IntMultimap();
  private readonly requiredBy = new IntMultimap();
  /**
   * Requirement texts shared between packages (`libc.so.6()(64bit)`, `libc6 (>= 2.34)`): a record
   * each (its format's byte, then the text), with its hash and how many packages hold it.
   */
  private readonly texts = new RecordArena();
  private textHashes = new Int32Array(8);
  private textHolders = new Int32Array(8);
  private readonly textsByHash = new IntMultimap();
  /** Requirements whose text does not give the same requirement back, kept as they are (rare). */
  private readonly odd: Array<RequirementEntry | undefined> = [];
  private readonly freeOdd: number[] = [];
  private readonly archIds = new Map<string, number>();
  private readonly archNames: string[] = [];

  constructor(options: ProvidesIndexOptions = {}) {
    this.keepAllFiles = options.files === 'all';
  }

  get size(): number {
    return this.records.size;
  }

  /** Bytes of the typed arrays the index holds (its heap share is what the process's heap says). */
  get bufferBytes(): number {
    const maps = [this.byKey, this.byName, this.byPath, this.requiredBy, this.textsByHash];
    return this.records.bufferBytes + this.texts.bufferBytes + this.textHashes.byteLength + this.textHolders.byteLength + maps.reduce((n, m) => n + m.bufferBytes, 0);
  }

  has(key: string): boolean {
    return this.slotOf(key) >= 0;
  }

  get(key: string): IndexedPackage | undefined {
    const slot = this.slotOf(key);
    return slot < 0 ? undefined : this.read(slot);
  }

  *keys(): Generator<string> {
    for (const slot of this.records.ids()) {
      const record = this.records.view(slot);
      yield decodeField(record, PACKAGE_HEADER, readU32(record, 4));
    }
  }

  /** Adds a package, replacing the one with the same key. */
  add(pkg: PackageCapabilities): void {
    this.remove(pkg.key);
    const refs = pkg.requires.map((r) => this.keep(pkg.format, r));
    const files = this.keepAllFiles ? pkg.files : pkg.files.filter(isPrimaryFile);
    const ownLabel = pkg.label !== labelFromKey(pkg.format, pkg.key);
    const label = ownLabel ? pkg.label : '';
    const fields = [pkg.key, label, packCapabilities(pkg.provides), files.join(SEPARATOR)];
    const format = FORMATS.indexOf(pkg.format);
    const multiArch = MULTI_ARCH.indexOf(pkg.multiArch);
    const arch = this.archId(pkg.arch);
    // UTF-8 takes at most 3 bytes per UTF-16 unit.
    const maxLength = PACKAGE_HEADER + 3 * fields.reduce((n, f) => n + f.length, 0) + 4 * refs.length;
    const slot = this.records.add(maxLength, (into) => {
      into[0] = format | (ownLabel ? OWN_LABEL : 0);
      into[1] = multiArch;
      writeU16(into, 2, arch);
      let at = PACKAGE_HEADER;
      fields.forEach((field, i) => {
        const { written } = encoder.encodeInto(field, into.subarray(at));
        writeU32(into, 4 + 4 * i, written);
        at += written;
      });
      for (const ref of refs) {
        writeU32(into, at, ref);
        at += 4;
      }
      return at;
    });
    this.byKey.add(hash(pkg.key), slot);
    for (const h of hashes(pkg.provides.map((c) => c.name))) this.byName.add(h, slot);
    for (const h of hashes(files)) this.byPath.add(h, slot);
    for (const h of hashes(requiredNames(pkg.requires))) this.requiredBy.add(h, slot);
  }

  /** Removes the package with this key; false when there is none. */
  remove(key: string): boolean {
    const slot = this.slotOf(key);
    if (slot < 0) return false;
    const indexed = this.read(slot);
    this.byKey.delete(hash(key), slot);
    for (const h of hashes(indexed.provides.map((c) => c.name))) this.byName.delete(h, slot);
    for (const h of hashes(indexed.files)) this.byPath.delete(h, slot);
    for (const h of hashes(requiredNames(indexed.requires))) this.requiredBy.delete(h, slot);
    for (const ref of this.refsOf(slot)) this.release(ref);
    this.records.delete(slot);
    return true;
  }

  /** Packages listing a capability of this name (any version). */
  named(name: string): readonly IndexedPackage[] {
    return this.namedCandidates(name).filter((p) => p.provides.some((c) => c.name === name));
  }

  /** Packages shipping this path (among the paths the index keeps). */
  owning(path: string): readonly IndexedPackage[] {
    return this.owningCandidates(path).filter((p) => p.files.includes(path));
  }

  /** `named` before the exact comparison: also packages with a name of the same hash (for callers that compare anyway). */
  namedCandidates(name: string): readonly IndexedPackage[] {
    return this.at(this.byName.get(hash(name)));
  }

  /** `owning` before the exact comparison. */
  owningCandidates(path: string): readonly IndexedPackage[] {
    return this.at(this.byPath.get(hash(path)));
  }

  /** Packages with a requirement that mentions any of these names or paths. */
  requirersOf(names: Iterable<string>): IndexedPackage[] {
    const wanted = new Set(names);
    const slots = new Set<number>();
    for (const h of hashes(wanted)) for (const slot of this.requiredBy.get(h)) slots.add(slot);
    return this.at([...slots]).filter((p) => [...requiredNames(p.requires)].some((n) => wanted.has(n)));
  }

  /**
   * The requirements of `pkg` that neither this index, nor `pkg` itself, nor the `also` sources
   * satisfy. Add the packages of one change to the index first and each is checked against the others.
   */
  check(pkg: PackageCapabilities, also: ProviderSource[] = []): Unsatisfied[] {
    const self = new ProvidesIndex({ files: 'all' });
    self.add(pkg);
    const sources: ProviderSource[] = [{ index: self }, { index: this }, ...also];
    return pkg.requires.filter((r) => !satisfied(sources, pkg, r.requirement)).map((r) => ({ requirement: r.text }));
  }

  private slotOf(key: string): number {
    const candidates = this.byKey.get(hash(key));
    if (candidates.length === 0) return -1;
    const wanted = encoder.encode(key);
    for (const slot of candidates) {
      const record = this.records.view(slot);
      if (readU32(record, 4) === wanted.length && sameBytes(record, PACKAGE_HEADER, wanted)) return slot;
    }
    return -1;
  }

  private at(slots: readonly number[]): IndexedPackage[] {
    return slots.map((slot) => this.read(slot));
  }

  /** A package as read from its record: a copy, which later changes to the index leave as it is. */
  private read(slot: number): IndexedPackage {
    const record = this.records.view(slot);
    let at = PACKAGE_HEADER;
    const [key, label, provides, files] = [0, 1, 2, 3].map((i) => {
      const length = readU32(record, 4 + 4 * i);
      const text = decodeField(record, at, length);
      at += length;
      return text;
    }) as [string, string, string, string];
    const kept: KeptRequirement[] = [];
    for (; at < record.length; at += 4) {
      const ref = readI32(record, at);
      kept.push(ref < 0 ? this.odd[-ref - 1]! : this.textOf(ref));
    }
    const format = FORMATS[record[0]! & ~OWN_LABEL]!;
    return new PackedPackage(key, record[0]! & OWN_LABEL ? label : undefined, format, this.archNames[readU16(record, 2)]!, MULTI_ARCH[record[1]!], provides, files, kept);
  }

  private refsOf(slot: number): number[] {
    const record = this.records.view(slot);
    let at = PACKAGE_HEADER;
    for (let i = 0; i < 4; i++) at += readU32(record, 4 + 4 * i);
    const refs: number[] = [];
    for (; at < record.length; at += 4) refs.push(readI32(record, at));
    return refs;
  }

  private archId(arch: string): number {
    let id = this.archIds.get(arch);
    if (id === undefined) {
      id = this.archNames.length;
      if (id > 0xffff) throw new RangeError('more than 65,536 architecture names in one dependency index');
      this.archIds.set(arch, id);
      this.archNames.push(arch);
    }
    return id;
  }

  /**
   * What a package keeps of a requirement: the id of its text (one record shared by every package
   * with that text), read back and parsed when asked for; or, where the text alone does not give
   * the same requirement back, the entry itself (a negative reference).
   */
  private keep(format: PackageFormat, entry: RequirementEntry): number {
    const f = FORMATS.indexOf(format);
    const h = textHash(f, entry.text);
    const bytes = encoder.encode(entry.text);
    for (const id of this.textsByHash.get(h)) {
      const record = this.texts.view(id);
      if (record[0] === f && record.length === bytes.length + 1 && sameBytes(record, 1, bytes)) {
        this.textHolders[id]!++;
        return id;
      }
    }
    if (!sameRequirement(requirementFromText(format, entry.text), entry.requirement)) {
      const i = this.freeOdd.pop() ?? this.odd.length;
      this.odd[i] = entry;
      return -(i + 1);
    }
    const id = this.texts.add(bytes.length + 1, (into) => {
      into[0] = f;
      into.set(bytes, 1);
      return bytes.length + 1;
    });
    if (id >= this.textHolders.length) {
      this.textHolders = grown(this.textHolders, id);
      this.textHashes = grown(this.textHashes, id);
    }
    this.textHolders[id] = 1;
    this.textHashes[id] = h;
    this.textsByHash.add(h, id);
    return id;
  }

  private release(ref: number): void {
    if (ref < 0) {
      this.odd[-ref - 1] = undefined;
      this.freeOdd.push(-ref - 1);
      return;
    }
    if (--this.textHolders[ref]! > 0) return;
    this.textsByHash.delete(this.textHashes[ref]!, ref);
    this.texts.delete(ref);
  }

  private textOf(id: number): string {
    const record = this.texts.view(id);
    return decodeField(record, 1, record.length - 1);
  }
}

/**
 * A package record: format (index in FORMATS, with OWN_LABEL set where the label is not the one
 * the key gives), Multi-Arch (index in MULTI_ARCH), architecture id (u16), then the UTF-8 lengths
 * (u32) of its four text fields, which follow: key, label (empty where the key gives it), packed
 * provides, packed paths. After the texts, one int32 per
 * requirement: a shared text's id, or -(i + 1) for `odd[i]`. Little-endian throughout.
 */
const PACKAGE_HEADER = 20;
const OWN_LABEL = 0x80;
const FORMATS: readonly PackageFormat[] = ['rpm', 'deb'];
const MULTI_ARCH: ReadonlyArray<MultiArch | undefined> = [undefined, 'no', 'same', 'foreign', 'allowed'];
const encoder = new TextEncoder();
const decoder = new TextDecoder();

function decodeField(record: Uint8Array, at: number, length: number): string {
  return length === 0 ? '' : decoder.decode(record.subarray(at, at + length));
}

function sameBytes(record: Uint8Array, at: number, bytes: Uint8Array): boolean {
  if (at + bytes.length > record.length) return false;
  for (let i = 0; i < bytes.length; i++) if (record[at + i] !== bytes[i]) return false;
  return true;
}

function readU16(b: Uint8Array, at: number): number {
  return b[at]! | (b[at + 1]! << 8);
}

function writeU16(b: Uint8Array, at: number, n: number): void {
  b[at] = n & 0xff;
  b[at + 1] = n >>> 8;
}

function readI32(b: Uint8Array, at: number): number {
  return b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24);
}

function readU32(b: Uint8Array, at: number): number {
  return readI32(b, at) >>> 0;
}

function writeU32(b: Uint8Array, at: number, n: number): void {
  b[at] = n & 0xff;
  b[at + 1] = (n >>> 8) & 0xff;
  b[at + 2] = (n >>> 16) & 0xff;
  b[at + 3] = (n >>> 24) & 0xff;
}

/** A copy of `array` long enough for index `id`. */
function grown(array: Int32Array<ArrayBuffer>, id: number): Int32Array<ArrayBuffer> {
  let length = array.length;
  while (length <= id) length *= 2;
  const out = new Int32Array(length);
  out.set(array);
  return out;
}

/**
 * A package as the index gives it out, decoded from its record. Lists are unpacked when read: a
 * check reads the provides and paths of a few candidates only. NUL ends strings in rpm headers and
 * is not text in a control file; U+0001 is a control character no packaging tool puts in a name,
 * version or path. Requirements are kept as their (shared) texts and parsed when read.
 */
class PackedPackage implements IndexedPackage {
  constructor(
    readonly key: string,
    /** The label where the key does not give it (an RPM with an epoch; any key made otherwise). */
    private readonly otherLabel: string | undefined,
    readonly format: PackageFormat,
    readonly arch: string,
    readonly multiArch: MultiArch | undefined,
    private readonly packedProvides: string,
    private readonly packedFiles: string,
    /** Each requirement as its text (see ProvidesIndex.keep) or as parsed. */
    private readonly kept: readonly KeptRequirement[],
  ) {}

  get label(): string {
    return this.otherLabel ?? labelFromKey(this.format, this.key)!;
  }

  get requires(): RequirementEntry[] {
    return this.kept.map((r) => (typeof r === 'string' ? { text: r, requirement: requirementFromText(this.format, r)! } : r));
  }

  get provides(): Capability[] {
    return unpackCapabilities(this.packedProvides);
  }

  get files(): string[] {
    return this.packedFiles === '' ? [] : this.packedFiles.split(SEPARATOR);
  }
}

/**
 * The label rpmCapabilities (NEVRA) and debCapabilities (name_version_arch) give a package, from its
 * index key (rpm-entry.ts, apt-entry.ts); null for a key of another shape. An RPM's epoch is not in
 * its key: a label with one differs, and is kept.
 */
function labelFromKey(format: PackageFormat, key: string): string | null {
  const fields = splitKey(key);
  if (fields.length !== 4) return null;
  if (format === 'rpm') {
    const [name, arch, version, release] = fields;
    return `${name}-${version}-${release}.${arch}`;
  }
  const [, name, arch, version] = fields;
  return `${name}_${version}_${arch}`;
}

const SEPARATOR = '\u0000';
const FIELD = '\u0001';
type KeptRequirement = string | RequirementEntry;

function packCapabilities(list: readonly Capability[]): string {
  const one = (c: Capability) =>
    c.relation === undefined ? c.name : c.version === undefined ? `${c.name}${FIELD}${c.relation}` : `${c.name}${FIELD}${c.relation}${FIELD}${c.version}`;
  return list.map(one).join(SEPARATOR);
}

function unpackCapabilities(packed: string): Capability[] {
  if (packed === '') return [];
  return packed.split(SEPARATOR).map((text) => {
    const [name, relation, version] = text.split(FIELD) as [string, Relation?, string?];
    if (relation === undefined) return { name };
    return version === undefined ? { name, relation } : { name, relation, version };
  });
}

function requiredNames(requires: readonly RequirementEntry[]): Set<string> {
  const names = new Set<string>();
  for (const r of requires) mentionedNames(r.requirement, names);
  return names;
}

/** FNV-1a over the UTF-16 units, kept to 30 bits (what IntMultimap holds). */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h & 0x3fffffff;
}

/** A requirement text's hash, told apart by format (the same text parses differently in each). */
function textHash(format: number, text: string): number {
  return Math.imul(hash(text) ^ format, 0x01000193) & 0x3fffffff;
}

/** The distinct hashes of some texts: a package is listed once under each. */
function hashes(texts: Iterable<string>): Set<number> {
  const out = new Set<number>();
  for (const text of texts) out.add(hash(text));
  return out;
}

/** The requirer's side of a check: its format and architecture. */
export interface Requirer {
  format: PackageFormat;
  arch: string;
}

/**
 * The architecture rule, kept simple on purpose:
 * - RPM: any package accepted in the distribution satisfies (its architectures are what the
 *   distribution serves together; multilib names carry their own `(64bit)` marks).
 * - Debian: a `:any` requirement accepts every architecture; a `Multi-Arch: foreign` provider
 *   satisfies every architecture; an `Architecture: all` requirer or provider matches every
 *   architecture; an explicit qualifier (`:amd64`, source fields only) wants that one; otherwise
 *   (`:native` included) the requirer's own.
 */
function archAccepts(requirer: Requirer, provider: IndexedPackage, qualifier: string | undefined): boolean {
  if (requirer.format === 'rpm') return true;
  if (qualifier === 'any' || provider.multiArch === 'foreign' || provider.arch === 'all') return true;
  if (qualifier !== undefined && qualifier !== 'native') return provider.arch === qualifier;
  return requirer.arch === 'all' || provider.arch === requirer.arch;
}

/** Whether `provider` satisfies a name or file requirement by itself. */
function providesOne(requirer: Requirer, provider: IndexedPackage, requirement: Requirement): boolean {
  if (requirement.kind === 'file') return provider.files.includes(requirement.path) || provider.provides.some((c) => c.name === requirement.path);
  if (requirement.kind !== 'name') return false;
  if (!archAccepts(requirer, provider, requirement.arch)) return false;
  const matches = requirer.format === 'rpm' ? rpmMatches : debMatches;
  return provider.provides.some((c) => c.name === requirement.name && matches(requirement, c));
}

/** Candidate providers of a name or file requirement across the sources (not yet version-checked). */
function* candidates(sources: ProviderSource[], requirement: Requirement): Generator<IndexedPackage> {
  if (requirement.kind !== 'name' && requirement.kind !== 'file') return;
  const name = requirement.kind === 'name' ? requirement.name : requirement.path;
  for (const { index, exclude } of sources) {
    // Candidates by hash: providesOne compares the names and paths.
    for (const p of index.namedCandidates(name)) if (!exclude?.has(p.key)) yield p;
    if (requirement.kind === 'file') for (const p of index.owningCandidates(name)) if (!exclude?.has(p.key)) yield p;
  }
}

/** Whether the sources satisfy a requirement of `requirer`. */
export function satisfied(sources: ProviderSource[], requirer: Requirer, requirement: Requirement): boolean {
  switch (requirement.kind) {
    case 'name':
    case 'file':
      for (const p of candidates(sources, requirement)) if (providesOne(requirer, p, requirement)) return true;
      return false;
    case 'or':
      return requirement.of.some((r) => satisfied(sources, requirer, r));
    case 'and':
      return requirement.of.every((r) => satisfied(sources, requirer, r));
    case 'with': {
      const [first, ...rest] = requirement.of;
      if (!first) return true;
      for (const p of candidates(sources, first)) if (providesOne(requirer, p, first) && rest.every((r) => providesOne(requirer, p, r))) return true;
      return false;
    }
    case 'without':
      for (const p of candidates(sources, requirement.base)) if (providesOne(requirer, p, requirement.base) && !providesOne(requirer, p, requirement.not)) return true;
      return false;
    case 'unchecked':
      return true;
    case 'invalid':
      return false;
  }
}
