import { RepodError } from '../../errors.ts';
import { XML_DECLARATION } from './namespaces.ts';
import { attr, childElements, parseXmlTree, textOf, writeXmlElement, type XmlElement, type XmlNode } from './xml-tree.ts';

/**
 * Advisories (errata) as yum's updateinfo.xml holds them: one `<update>` each, keyed by `<id>`.
 * An advisory is kept as the element tree it was uploaded as (XML) or built from (JSON), so
 * whatever a producer adds (Red Hat's rights and solution, SUSE's restart_suggested, modular
 * collections) reaches dnf unchanged; only the package lists are filtered when rendering.
 */
export interface Advisory {
  id: string;
  update: XmlElement;
}

/** The stored form (layout.composeDocument): every advisory of a revision, sorted by id. */
export interface AdvisorySet {
  format: 1;
  advisories: Advisory[];
}

const CODE = 'invalid_updateinfo';

function invalid(message: string): never {
  throw new RepodError(CODE, message, { status: 400 });
}

/** One package of a `<pkglist>` as dnf matches it against the repository (by name, version, release, arch). */
export interface AdvisoryPackage {
  name: string;
  epoch: string;
  version: string;
  release: string;
  arch: string;
}

function checkAdvisory(update: XmlElement, where: string): Advisory {
  if (update.name !== 'update') invalid(`${where}: expected <update>, found <${update.name}>`);
  const ids = childElements(update, 'id');
  if (ids.length !== 1 || textOf(ids[0]).trim() === '') invalid(`${where}: an <update> needs exactly one non-empty <id>`);
  const id = textOf(ids[0]).trim();
  if (id.length > 200 || /[\s/]/.test(id)) invalid(`advisory id ${JSON.stringify(id)} must be at most 200 characters without spaces or slashes`);
  const type = attr(update, 'type');
  if (!type) invalid(`advisory ${id}: the type attribute (security, bugfix, enhancement, newpackage) is missing`);
  for (const pkglist of childElements(update, 'pkglist')) {
    for (const collection of childElements(pkglist, 'collection')) {
      for (const pkg of childElements(collection, 'package')) {
        for (const field of ['name', 'version', 'release', 'arch']) {
          if (!attr(pkg, field)) invalid(`advisory ${id}: a <package> of its <pkglist> has no ${field} attribute`);
        }
      }
      for (const module of childElements(collection, 'module')) {
        for (const field of ['name', 'stream', 'version', 'context', 'arch']) {
          if (!attr(module, field)) invalid(`advisory ${id}: a <module> of its <pkglist> has no ${field} attribute`);
        }
      }
    }
  }
  return { id, update };
}

/** Advisories of an updateinfo.xml document (root `<updates>`); a repeated id is refused. */
export function parseUpdateinfoXml(text: string): Advisory[] {
  const root = parseXmlTree(text, CODE, 'the updateinfo');
  if (root.name !== 'updates') invalid(`the root element of an updateinfo must be <updates>, not <${root.name}>`);
  const out = childElements(root).map((u, i) => checkAdvisory(u, `element ${i + 1} of <updates>`));
  return unique(out);
}

function unique(advisories: Advisory[]): Advisory[] {
  const seen = new Set<string>();
  for (const a of advisories) {
    if (seen.has(a.id)) invalid(`advisory ${a.id} appears twice in the document`);
    seen.add(a.id);
  }
  return advisories;
}

const el = (name: string, attrs: Array<[string, string | undefined]> = [], children: XmlNode[] = []): XmlElement => ({
  name,
  attrs: attrs.filter((a): a is [string, string] => a[1] !== undefined && a[1] !== ''),
  children,
});

function str(value: unknown, field: string, id: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'number') return String(value);
  if (typeof value !== 'string') invalid(`advisory ${id}: ${field} must be a string`);
  return value;
}

function list(value: unknown, field: string, id: string): Record<string, unknown>[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'object' || v === null || Array.isArray(v))) invalid(`advisory ${id}: ${field} must be an array of objects`);
  return value as Record<string, unknown>[];
}

/**
 * The JSON form (POST with content-type application/json): `{"updates": [...]}`, an array, or one
 * advisory. Field names follow createrepo_c's UpdateRecord: id, type, status, from, version, title,
 * issued, updated, rights, release, pushcount, severity, summary, description, solution,
 * reboot_suggested, references [{href, id, type, title}], pkglist [{short, name, module {name,
 * stream, version, context, arch}, packages [{name, epoch, version, release, arch, src, filename,
 * sum {type, value}, reboot_suggested}]}]. The elements are written in createrepo_c's order.
 */
export function parseUpdateinfoJson(value: unknown): Advisory[] {
  const items = Array.isArray(value)
    ? value
    : value && typeof value === 'object' && Array.isArray((value as { updates?: unknown }).updates)
      ? (value as { updates: unknown[] }).updates
      : [value];
  return unique(
    items.map((item, i) => {
      if (!item || typeof item !== 'object' || Array.isArray(item)) invalid(`advisory ${i + 1}: not a JSON object`);
      const a = item as Record<string, unknown>;
      const id = str(a.id, 'id', `#${i + 1}`) ?? invalid(`advisory ${i + 1}: id is missing`);
      const s = (field: string) => str(a[field], field, id);
      const text = (name: string, field = name) => (s(field) === undefined ? [] : [el(name, [], [s(field)!])]);
      const date = (name: string) => (s(name) === undefined ? [] : [el(name, [['date', s(name)]])]);
      const references = list(a.references, 'references', id).map((r) =>
        el('reference', [
          ['href', str(r.href, 'references.href', id)],
          ['id', str(r.id, 'references.id', id)],
          ['type', str(r.type, 'references.type', id)],
          ['title', str(r.title, 'references.title', id)],
        ]),
      );
      const collections = list(a.pkglist, 'pkglist', id).map((c) => {
        const module = c.module as Record<string, unknown> | undefined;
        const packages = list(c.packages, 'pkglist.packages', id).map((p) => {
          const sum = p.sum as { type?: unknown; value?: unknown } | undefined;
          return el(
            'package',
            [
              ['name', str(p.name, 'package name', id)],
              ['version', str(p.version, 'package version', id)],
              ['release', str(p.release, 'package release', id)],
              ['epoch', str(p.epoch, 'package epoch', id) ?? '0'],
              ['arch', str(p.arch, 'package arch', id)],
              ['src', str(p.src, 'package src', id)],
            ],
            [
              ...(p.filename !== undefined ? [el('filename', [], [str(p.filename, 'package filename', id)!])] : []),
              ...(sum ? [el('sum', [['type', str(sum.type, 'sum type', id)]], [str(sum.value, 'sum value', id) ?? ''])] : []),
              ...(p.reboot_suggested === true ? [el('reboot_suggested', [], ['True'])] : []),
            ],
          );
        });
        return el(
          'collection',
          [['short', str(c.short, 'pkglist.short', id)]],
          [
            ...(c.name !== undefined ? [el('name', [], [str(c.name, 'pkglist.name', id)!])] : []),
            ...(module
              ? [
                  el('module', [
                    ['name', str(module.name, 'module name', id)],
                    ['stream', str(module.stream, 'module stream', id)],
                    ['version', str(module.version, 'module version', id)],
                    ['context', str(module.context, 'module context', id)],
                    ['arch', str(module.arch, 'module arch', id)],
                  ]),
                ]
              : []),
            ...packages,
          ],
        );
      });
      const update = el(
        'update',
        [
          ['from', s('from')],
          ['status', s('status') ?? 'final'],
          ['type', s('type')],
          ['version', s('version') ?? '1'],
        ],
        [
          el('id', [], [id]),
          ...text('title'),
          ...date('issued'),
          ...date('updated'),
          ...text('rights'),
          ...text('release'),
          ...text('pushcount'),
          ...text('severity'),
          ...text('summary'),
          ...text('description'),
          ...text('solution'),
          ...(a.reboot_suggested === true ? [el('reboot_suggested', [], ['True'])] : []),
          el('references', [], references),
          el('pkglist', [], collections),
        ],
      );
      return checkAdvisory(update, `advisory ${id}`);
    }),
  );
}

/** Adds or replaces advisories by id; the result is sorted by id, so the same set is the same bytes. */
export function mergeAdvisories(existing: readonly Advisory[], incoming: readonly Advisory[]): Advisory[] {
  const byId = new Map(existing.map((a) => [a.id, a]));
  for (const a of incoming) byId.set(a.id, a);
  return [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** Every package an advisory names. */
export function advisoryPackages(advisory: Advisory): AdvisoryPackage[] {
  const out: AdvisoryPackage[] = [];
  for (const pkglist of childElements(advisory.update, 'pkglist'))
    for (const collection of childElements(pkglist, 'collection'))
      for (const p of childElements(collection, 'package'))
        out.push({ name: attr(p, 'name')!, epoch: attr(p, 'epoch') ?? '0', version: attr(p, 'version')!, release: attr(p, 'release')!, arch: attr(p, 'arch')! });
  return out;
}

/**
 * The advisory with only the packages `present` accepts, or null when it named packages and
 * none is left. dnf (libdnf's hy_advisory and `updateinfo list`) shows an advisory through its
 * packages: one whose packages are all absent would only be noise listed under no package, and
 * Pulp publishes a repository version's advisories the same way (pkglists cut to its packages).
 * An advisory that names no package at all (references only) is kept as it came. A collection
 * left with no package is dropped with its module, if it names one.
 */
export function filterAdvisory(advisory: Advisory, present: (pkg: AdvisoryPackage) => boolean): Advisory | null {
  if (advisoryPackages(advisory).length === 0) return advisory;
  let kept = 0;
  const children = advisory.update.children.map((child) => {
    if (typeof child === 'string' || child.name !== 'pkglist') return child;
    return {
      ...child,
      children: child.children.flatMap((collection) => {
        if (typeof collection === 'string' || collection.name !== 'collection') return [collection];
        const packages = childElements(collection, 'package').filter((p) =>
          present({ name: attr(p, 'name')!, epoch: attr(p, 'epoch') ?? '0', version: attr(p, 'version')!, release: attr(p, 'release')!, arch: attr(p, 'arch')! }),
        );
        kept += packages.length;
        if (packages.length === 0) return [];
        return [{ ...collection, children: collection.children.filter((c) => typeof c === 'string' || c.name !== 'package' || packages.includes(c)) }];
      }),
    };
  });
  return kept === 0 ? null : { id: advisory.id, update: { ...advisory.update, children } };
}

/** updateinfo.xml of the given advisories, laid out as createrepo_c writes it. */
export function renderUpdateinfo(advisories: readonly Advisory[]): string {
  let out = `${XML_DECLARATION}<updates>\n`;
  for (const a of advisories) out += writeXmlElement(a.update, 1);
  return `${out}</updates>\n`;
}

/** Reads the stored form back, refusing anything that is not it. */
export function decodeAdvisorySet(bytes: Uint8Array): AdvisorySet {
  const value = JSON.parse(new TextDecoder().decode(bytes)) as AdvisorySet;
  if (value?.format !== 1 || !Array.isArray(value.advisories)) throw new RepodError('invalid_object', 'a stored updateinfo is not an advisory set of format 1', { status: 500 });
  return value;
}

export function encodeAdvisorySet(advisories: Advisory[]): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({ format: 1, advisories } satisfies AdvisorySet));
}
