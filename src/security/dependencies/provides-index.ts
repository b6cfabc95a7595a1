/**
 * Who provides what in one set of packages (a distribution revision, a change, a base source):
 * capability name → providers, file path → owners, and the reverse map requirement name →
 * requirers that finds the packages a removal may break. Packages are added and removed by key, so
 * a distribution's index follows its revisions change by change (distribution-provides.ts).
 *
 * Memory: an indexed package keeps its provides and the paths the index keeps, each list packed
 * into one string (PackedPackage), and its parsed requires; identical requirement texts
 * (`libc.so.6()(64bit)`, `libc6 (>= 2.34)`) are shared between packages. By default only
 * "primary" paths are kept (createrepo_c's: /etc/..., any .../bin/..., /usr/lib/sendmail), the
 * ones dnf reads from primary.xml and that distributions' guidelines keep file dependencies to;
 * dnf 5 resolves no other file dependency unless it loads filelists. `files: 'all'` keeps every
 * path (the size of a filelists.xml).
 */
import { splitKey } from '../../bucket/keys.ts';
import { isPrimaryFile } from '../../formats/rpm/dependencies.ts';
import { IntMultimap } from './int-multimap.ts';
import type { Capability, MultiArch, PackageCapabilities, PackageFormat, Relation, Requirement, RequirementEntry, Unsatisfied } from './model.ts';
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
  private readonly packages = new Map<string, PackedPackage>();
  /** Packages by slot: the multimaps below hold slots, not references (see int-multimap.ts). */
  private readonly slots: Array<PackedPackage | undefined> = [];
  private readonly freeSlots: number[] = [];
  /**
   * Capability name, path or required name (by its hash) → slots. Keyed by a hash, not the text:
   * the text is in the packages' packed lists already, and a map keeping it again as its key held a
   * fifth of the index (a string of 40-60 bytes per name and path of every package). Two texts may
   * share a hash, so readers compare the text itself.
   */
  private readonly byName = new IntMultimap();
  private readonly byPath = new IntMultimap();
  private readonly requiredBy = new IntMultimap();
  /** Requirement texts shared between packages (one map per format: the same text parses differently), with how many packages hold each. */
  private readonly requirements = { rpm: new Map<string, SharedText>(), deb: new Map<string, SharedText>() };
  private readonly archNames = new Map<string, string>();

  constructor(options: ProvidesIndexOptions = {}) {
    this.keepAllFiles = options.files === 'all';
  }

  get size(): number {
    return this.packages.size;
  }

  has(key: string): boolean {
    return this.packages.has(key);
  }

  get(key: string): IndexedPackage | undefined {
    return this.packages.get(key);
  }

  keys(): IterableIterator<string> {
    return this.packages.keys();
  }

  /** Adds a package, replacing the one with the same key. */
  add(pkg: PackageCapabilities): void {
    this.remove(pkg.key);
    const requires = pkg.requires.length === 0 ? NONE : pkg.requires.map((r) => this.keep(pkg.format, r));
    const files = this.keepAllFiles ? pkg.files : pkg.files.filter(isPrimaryFile);
    const slot = this.freeSlots.pop() ?? this.slots.length;
    const indexed = new PackedPackage(slot, pkg.key, pkg.label, pkg.format, this.intern(pkg.arch), pkg.multiArch, packCapabilities(pkg.provides), files.join(SEPARATOR), requires);
    this.packages.set(pkg.key, indexed);
    this.slots[slot] = indexed;
    for (const h of hashes(pkg.provides.map((c) => c.name))) this.byName.add(h, slot);
    for (const h of hashes(files)) this.byPath.add(h, slot);
    for (const h of hashes(requiredNames(pkg.requires))) this.requiredBy.add(h, slot);
  }

  /** One string per architecture name, instead of one per package read. */
  private intern(arch: string): string {
    const found = this.archNames.get(arch);
    if (found !== undefined) return found;
    this.archNames.set(arch, arch);
    return arch;
  }

  /** Removes the package with this key; false when there is none. */
  remove(key: string): boolean {
    const indexed = this.packages.get(key);
    if (!indexed) return false;
    this.packages.delete(key);
    const { slot } = indexed;
    for (const h of hashes(indexed.provides.map((c) => c.name))) this.byName.delete(h, slot);
    for (const h of hashes(indexed.files)) this.byPath.delete(h, slot);
    for (const h of hashes(requiredNames(indexed.requires))) this.requiredBy.delete(h, slot);
    this.slots[slot] = undefined;
    this.freeSlots.push(slot);
    for (const r of indexed.kept) if (typeof r === 'string') this.release(indexed.format, r);
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
    const out = new Set<IndexedPackage>();
    for (const h of hashes(wanted)) for (const p of this.at(this.requiredBy.get(h))) out.add(p);
    return [...out].filter((p) => [...requiredNames(p.requires)].some((n) => wanted.has(n)));
  }

  private at(slots: readonly number[]): IndexedPackage[] {
    return slots.map((slot) => this.slots[slot]!);
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

  /**
   * What a package keeps of a requirement: its text (one string shared by every package with that
   * text), read back when asked for, or the entry itself where the text alone does not give the
   * same requirement back.
   */
  private keep(format: PackageFormat, entry: RequirementEntry): KeptRequirement {
    const shared = this.requirements[format];
    const found = shared.get(entry.text);
    if (found) {
      found.holders++;
      return found.text;
    }
    if (!sameRequirement(requirementFromText(format, entry.text), entry.requirement)) return entry;
    shared.set(entry.text, { text: entry.text, holders: 1 });
    return entry.text;
  }

  private release(format: PackageFormat, text: string): void {
    const shared = this.requirements[format];
    const found = shared.get(text);
    if (found && --found.holders === 0) shared.delete(text);
  }
}

/**
 * An indexed package as it is held: a distribution of 100,000 packages keeps one of these each, and
 * a check reads the provides and paths of a few candidates only. So each list is one string,
 * decoded when read, instead of an array of objects and strings: a fifth less memory (950 → 760
 * bytes a package for the scale bench's small RPMs, 2,640 → 2,290 for the memory test's larger
 * ones). NUL ends strings in rpm headers and is not text in a control file; U+0001 is a control
 * character no packaging tool puts in a name, version or path. Requirements are kept as their
 * (shared) texts and parsed when read: the parsed form of a requirement only one package has
 * (`foo-libs = 1.2-3`) was more than half of what the memory test's packages held.
 */
class PackedPackage implements IndexedPackage {
  /** The label where the key does not give it (an RPM with an epoch; any key made otherwise). */
  private readonly otherLabel: string | undefined;

  constructor(
    /** Where the index's multimaps find it (ProvidesIndex.slots). */
    readonly slot: number,
    readonly key: string,
    label: string,
    readonly format: PackageFormat,
    readonly arch: string,
    readonly multiArch: MultiArch | undefined,
    private readonly packedProvides: string,
    private readonly packedFiles: string,
    /** Each requirement as its text (see ProvidesIndex.keep) or as parsed. */
    readonly kept: readonly KeptRequirement[],
  ) {
    this.otherLabel = label === labelFromKey(format, key) ? undefined : label;
  }

  /** Made from the key when asked (reports only), instead of a second string of it per package. */
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
const NONE: readonly KeptRequirement[] = Object.freeze([]);

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

interface SharedText {
  text: string;
  holders: number;
}

/** FNV-1a over the UTF-16 units, kept to 30 bits (what IntMultimap holds). */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h & 0x3fffffff;
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
