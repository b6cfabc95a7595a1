import { RepodError } from '../../errors.ts';
import { childElements, parseXmlTree, textOf, type XmlElement } from './xml-tree.ts';

/** What a comps.xml holds, as far as publishing needs to know: counts and the packages it names. */
export interface CompsSummary {
  groups: string[];
  categories: string[];
  environments: string[];
  /** Every package name a group's packagelist requires (any type), sorted, each once. */
  packages: string[];
}

const CODE = 'invalid_comps';

function invalid(message: string): never {
  throw new RepodError(CODE, message, { status: 400 });
}

function idOf(element: XmlElement, kind: string, n: number): string {
  const ids = childElements(element, 'id');
  const id = ids.length === 1 ? textOf(ids[0]).trim() : '';
  if (!id) invalid(`${kind} ${n} of the comps has no <id>`);
  return id;
}

/**
 * Checks a comps.xml (groups, categories, environments, langpacks) the way libcomps and dnf read it:
 * root `<comps>`, an `<id>` in every group, category and environment, unique per kind, and a package
 * name in every `<packagereq>`. The document itself is published as uploaded (createrepo_c -g
 * copies it too), so translations and anything dnf reads and this does not are kept.
 */
export function parseComps(text: string): CompsSummary {
  const root = parseXmlTree(text, CODE, 'the comps');
  if (root.name !== 'comps') invalid(`the root element of a comps must be <comps>, not <${root.name}>`);
  const ids = (kind: string): string[] => {
    const seen = new Set<string>();
    return childElements(root, kind).map((e, i) => {
      const id = idOf(e, kind, i + 1);
      if (seen.has(id)) invalid(`${kind} ${JSON.stringify(id)} is defined twice in the comps`);
      seen.add(id);
      return id;
    });
  };
  const groups = ids('group');
  const categories = ids('category');
  const environments = ids('environment');
  const packages = new Set<string>();
  for (const group of childElements(root, 'group')) {
    for (const list of childElements(group, 'packagelist')) {
      for (const req of childElements(list, 'packagereq')) {
        const name = textOf(req).trim();
        if (!name) invalid(`group ${JSON.stringify(textOf(childElements(group, 'id')[0]).trim())} has a <packagereq> without a package name`);
        packages.add(name);
      }
    }
  }
  if (groups.length + categories.length + environments.length === 0) invalid('the comps defines no group, category or environment');
  return { groups, categories, environments, packages: [...packages].sort() };
}
