import { Parser } from 'saxen';
import { RepodError } from '../../errors.ts';
import type { RpmDependency } from '../../formats/rpm/model.ts';
import type { RpmIndexLimits } from './limits.ts';
import type { UpstreamRpmPackage } from './upstream-package.ts';
import { decodeXmlText, localName } from './xml-text.ts';

type Limits = Pick<RpmIndexLimits, 'maxElementsPerPackage' | 'maxPackageChars' | 'maxTokenChars'>;

/** Fields filled from element text: `<package>` children, then `<format>` children. */
type TextField = 'name' | 'arch' | 'summary' | 'description' | 'packager' | 'url' | 'checksum' | 'license' | 'vendor' | 'group' | 'buildHost' | 'sourceRpm' | 'file';

type DependencyList = 'requires' | 'provides' | 'conflicts' | 'obsoletes' | 'recommends' | 'suggests' | 'supplements' | 'enhances';
const FLAGS = new Set(['EQ', 'LT', 'LE', 'GT', 'GE']);

/** A package being read: the fields as they arrive, checked and completed at `</package>`. */
interface Draft {
  text: Partial<Record<Exclude<TextField, 'file'>, string>>;
  checksumType?: string;
  epoch?: string;
  version?: string;
  release?: string;
  size?: string;
  installed?: string;
  build?: string;
  fileTime?: string;
  archive?: string;
  headerStart?: string;
  headerEnd?: string;
  location?: string;
  locationBase?: string;
  deps: Record<DependencyList, RpmDependency[]>;
  files: string[];
  /** Types of the listed paths that are not plain files. */
  fileTypes: Record<string, 'dir' | 'ghost'>;
  /** The `type` attribute of the `<file>` being read. */
  fileType?: string;
}

export interface PrimaryParseSummary {
  /** Packages read. */
  packages: number;
  /** The count `<metadata packages="N">` announces; the parser checked it equals `packages`. */
  declared: number | undefined;
}

/**
 * A push parser for primary.xml (the `common` namespace of createrepo_c and yum): text goes in
 * piece by piece, each complete `<package>` comes out as an UpstreamRpmPackage as soon as its end
 * tag is read. Memory is one package plus one incomplete token, both bounded by the limits.
 * Element names are matched without their prefix, since producers may bind the rpm namespace to
 * any prefix. Unknown elements are skipped, so extensions do not break the sync.
 */
export class PrimaryXmlParser {
  readonly #parser = new Parser();
  readonly #limits: Limits;
  readonly #onPackage: (pkg: UpstreamRpmPackage) => void;
  #depth = 0;
  #rootSeen = false;
  #rootClosed = false;
  #declared: number | undefined;
  #count = 0;
  #draft: Draft | null = null;
  #elements = 0;
  #chars = 0;
  /** Depth of `<format>` inside the current package, 0 outside it. */
  #formatDepth = 0;
  #deps: RpmDependency[] | null = null;
  #textField: TextField | null = null;
  #textElement = '';
  #text = '';
  /** Parse events so far, and characters written since the last one: an upper bound on saxen's buffered token. */
  #events = 0;
  #sinceEvent = 0;

  constructor(onPackage: (pkg: UpstreamRpmPackage) => void, limits: Limits) {
    this.#onPackage = onPackage;
    this.#limits = limits;
    this.#parser.on('openTag', (name, attrs) => {
      this.#events++;
      this.#open(localName(name), attrs);
    });
    this.#parser.on('closeTag', (name) => {
      this.#events++;
      this.#close(localName(name));
    });
    this.#parser.on('text', (raw) => {
      this.#events++;
      if (this.#textField !== null) this.#appendText(decodeXmlText(raw));
    });
    this.#parser.on('cdata', (raw) => {
      this.#events++;
      if (this.#textField !== null) this.#appendText(raw);
    });
    this.#parser.on('error', (error) => {
      throw invalid(`primary.xml is not well-formed XML: ${error.message}`);
    });
    // saxen's warnings are malformed attributes and text outside the root: refused as well.
    this.#parser.on('warn', (error) => {
      throw invalid(`primary.xml is not well-formed XML: ${error.message}`);
    });
  }

  /** Parses the next piece of the document; throws a RepodError on bad XML or a broken limit. */
  write(text: string): void {
    // Pieces no larger than a quarter of the token limit keep the check below close to the truth.
    const piece = Math.max(1024, this.#limits.maxTokenChars >> 2);
    for (let at = 0; at < text.length; at += piece) {
      const part = at === 0 && text.length <= piece ? text : text.slice(at, at + piece);
      const before = this.#events;
      this.#parser.write(part);
      this.#sinceEvent = this.#events === before ? this.#sinceEvent + part.length : part.length;
      if (this.#sinceEvent > this.#limits.maxTokenChars + piece) {
        throw tooLarge(`primary.xml holds a tag or text of more than ${this.#limits.maxTokenChars} characters`);
      }
    }
  }

  /** The document is complete: checks it was, and that it held as many packages as it announced. */
  end(): PrimaryParseSummary {
    this.#parser.end();
    if (!this.#rootSeen || !this.#rootClosed) throw invalid('primary.xml ends before its root element is closed (truncated)');
    if (this.#declared !== undefined && this.#declared !== this.#count) {
      throw invalid(`primary.xml holds ${this.#count} packages but announces ${this.#declared} (truncated or altered)`);
    }
    return { packages: this.#count, declared: this.#declared };
  }

  #open(name: string, getAttrs: () => Record<string, string> | false): void {
    const depth = this.#depth++;
    if (depth === 0) {
      if (this.#rootSeen) throw invalid('primary.xml has a second root element');
      if (name !== 'metadata') throw invalid(`primary.xml's root element is <${name}>, not <metadata>`);
      this.#rootSeen = true;
      const packages = this.#attrs(getAttrs).packages;
      if (packages !== undefined) this.#declared = count(packages, 'the packages attribute of <metadata>');
      return;
    }
    if (depth === 1) {
      if (name === 'package') this.#start();
      return;
    }
    const draft = this.#draft;
    if (draft === null) return; // inside an unknown top-level element
    if (++this.#elements > this.#limits.maxElementsPerPackage) {
      throw tooLarge(`package ${this.#count + 1} (${draft.text.name ?? 'unnamed'}) in primary.xml has more than ${this.#limits.maxElementsPerPackage} elements`);
    }
    if (depth === 2) {
      switch (name) {
        case 'name':
        case 'arch':
        case 'summary':
        case 'description':
        case 'packager':
        case 'url':
          this.#startText(name, name);
          return;
        case 'checksum':
          this.#startText(name, name);
          draft.checksumType = this.#attrs(getAttrs).type;
          return;
        case 'version': {
          const a = this.#attrs(getAttrs);
          draft.epoch = a.epoch;
          draft.version = a.ver;
          draft.release = a.rel;
          return;
        }
        case 'time': {
          const a = this.#attrs(getAttrs);
          draft.build = a.build;
          draft.fileTime = a.file;
          return;
        }
        case 'size': {
          const a = this.#attrs(getAttrs);
          draft.size = a.package;
          draft.installed = a.installed;
          draft.archive = a.archive;
          return;
        }
        case 'location': {
          const a = this.#attrs(getAttrs);
          draft.location = a.href;
          draft.locationBase = a['xml:base'];
          return;
        }
        case 'format':
          this.#formatDepth = depth;
          return;
        default:
          return;
      }
    }
    if (this.#formatDepth === 0) return;
    if (depth === this.#formatDepth + 1) {
      switch (name) {
        case 'license':
        case 'vendor':
        case 'group':
          this.#startText(name, name);
          return;
        case 'file':
          this.#startText(name, name);
          draft.fileType = this.#attrs(getAttrs).type;
          return;
        case 'header-range': {
          const a = this.#attrs(getAttrs);
          draft.headerStart = a.start;
          draft.headerEnd = a.end;
          return;
        }
        case 'buildhost':
          this.#startText(name, 'buildHost');
          return;
        case 'sourcerpm':
          this.#startText(name, 'sourceRpm');
          return;
        case 'requires':
        case 'provides':
        case 'conflicts':
        case 'obsoletes':
        case 'recommends':
        case 'suggests':
        case 'supplements':
        case 'enhances':
          this.#deps = draft.deps[name];
          return;
        default:
          return;
      }
    }
    if (depth === this.#formatDepth + 2 && name === 'entry' && this.#deps !== null) this.#deps.push(this.#dependency(this.#attrs(getAttrs)));
  }

  #close(name: string): void {
    const depth = --this.#depth;
    if (depth === 0) {
      this.#rootClosed = true;
      return;
    }
    const draft = this.#draft;
    if (draft === null) return;
    if (depth === 1) {
      this.#finish(draft);
      return;
    }
    if (this.#textField !== null && name === this.#textElement) {
      if (this.#textField === 'file') {
        draft.files.push(this.#text);
        if (draft.fileType === 'dir' || draft.fileType === 'ghost') draft.fileTypes[this.#text] = draft.fileType;
      } else draft.text[this.#textField] = this.#text;
      this.#textField = null;
    }
    if (depth === this.#formatDepth) this.#formatDepth = 0;
    else if (depth === this.#formatDepth + 1) this.#deps = null;
  }

  #start(): void {
    const deps = { requires: [], provides: [], conflicts: [], obsoletes: [], recommends: [], suggests: [], supplements: [], enhances: [] };
    this.#draft = { text: {}, deps, files: [], fileTypes: {} };
    this.#elements = 0;
    this.#chars = 0;
    this.#formatDepth = 0;
    this.#deps = null;
    this.#textField = null;
  }

  /** Collects the element's text until its end tag (saxen sends one for `<packager/>` too, which stores ''). */
  #startText(element: string, field: TextField): void {
    this.#textElement = element;
    this.#textField = field;
    this.#text = '';
  }

  #appendText(text: string): void {
    this.#text += text;
    this.#countChars(text.length);
  }

  #countChars(n: number): void {
    this.#chars += n;
    if (this.#chars > this.#limits.maxPackageChars) {
      throw tooLarge(`package ${this.#count + 1} in primary.xml holds more than ${this.#limits.maxPackageChars} characters of text and attributes`);
    }
  }

  /** The element's attributes, decoded, counted against the package's budget. */
  #attrs(getAttrs: () => Record<string, string> | false): Record<string, string | undefined> {
    const raw = getAttrs();
    if (raw === false) throw invalid('primary.xml holds a malformed attribute');
    // saxen builds a fresh object per element: decoded in place.
    for (const key in raw) {
      const value = raw[key];
      if (this.#draft !== null) this.#countChars(value.length);
      if (value.indexOf('&') !== -1) raw[key] = decodeXmlText(value);
    }
    return raw;
  }

  #dependency(a: Record<string, string | undefined>): RpmDependency {
    if (!a.name) throw invalid(`package ${this.#count + 1} in primary.xml has a dependency without a name`);
    const dep: RpmDependency = { name: a.name };
    if (a.flags !== undefined && a.flags !== '') {
      if (!FLAGS.has(a.flags)) throw invalid(`package ${this.#count + 1} in primary.xml has a dependency with flags "${a.flags}"`);
      dep.flags = a.flags as RpmDependency['flags'];
    }
    if (a.epoch) dep.epoch = a.epoch;
    if (a.ver) dep.version = a.ver;
    if (a.rel) dep.release = a.rel;
    if (a.pre === '1' || a.pre === 'true') dep.pre = true;
    return dep;
  }

  #finish(draft: Draft): void {
    this.#draft = null;
    this.#formatDepth = 0;
    this.#deps = null;
    this.#textField = null;
    const index = this.#count + 1;
    const t = draft.text;
    const name = t.name;
    if (!name) throw invalid(`package ${index} in primary.xml has no name`);
    const where = `package ${index} (${name}) in primary.xml`;
    if (!t.arch) throw invalid(`${where} has no arch`);
    if (!draft.version) throw invalid(`${where} has no version`);
    if (!draft.location) throw invalid(`${where} has no location`);
    if (!draft.checksumType || !t.checksum) throw invalid(`${where} has no checksum`);
    if (draft.size === undefined) throw invalid(`${where} has no package size`);
    const checksum = { type: draft.checksumType, value: t.checksum.trim().toLowerCase() };
    const pkg: UpstreamRpmPackage = {
      name,
      epoch: draft.epoch || '0',
      version: draft.version,
      release: draft.release ?? '',
      arch: t.arch,
      size: count(draft.size, `the package size of ${where}`),
      installedSize: draft.installed ? count(draft.installed, `the installed size of ${where}`) : 0,
      buildTime: draft.build ? count(draft.build, `the build time of ${where}`) : 0,
      checksum,
      location: draft.location,
      summary: t.summary ?? '',
      ...draft.deps,
      files: draft.files,
    };
    if (!/^\d+$/.test(pkg.epoch)) throw invalid(`${where} has the epoch "${pkg.epoch}"`);
    if (checksum.type === 'sha256') {
      if (!/^[0-9a-f]{64}$/.test(checksum.value)) throw invalid(`${where} has a malformed sha256 checksum`);
      pkg.sha256 = checksum.value;
    }
    if (draft.locationBase) pkg.locationBase = draft.locationBase;
    if (draft.fileTime) pkg.fileTime = count(draft.fileTime, `the file time of ${where}`);
    if (draft.archive) pkg.archiveSize = count(draft.archive, `the archive size of ${where}`);
    if (draft.headerStart && draft.headerEnd) {
      pkg.headerRange = { start: count(draft.headerStart, `the header start of ${where}`), end: count(draft.headerEnd, `the header end of ${where}`) };
    }
    if (Object.keys(draft.fileTypes).length > 0) pkg.fileTypes = draft.fileTypes;
    for (const key of ['description', 'url', 'license', 'vendor', 'group', 'packager', 'buildHost', 'sourceRpm'] as const) {
      const value = t[key];
      if (value) pkg[key] = value;
    }
    this.#count++;
    this.#onPackage(pkg);
  }
}

function count(value: string, what: string): number {
  const n = /^\s*\d{1,16}\s*$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n)) throw invalid(`${what} is "${value.slice(0, 40)}", not a whole number`);
  return n;
}

function invalid(message: string): RepodError {
  return new RepodError('upstream_index_invalid', message, { status: 422 });
}

function tooLarge(message: string): RepodError {
  return new RepodError('upstream_index_too_large', message, { status: 422 });
}
