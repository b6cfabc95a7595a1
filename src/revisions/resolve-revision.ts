import type { Revision } from '../bucket/revision.ts';
import { NotFoundError } from '../errors.ts';
import type { Repository } from './repository.ts';

/**
 * A pinned revision named by its id ("000042-AbCd1234") or its number ("42"), as URLs and the
 * command line name them. A number is looked up along the distribution's history (orphans of
 * lost publish races share numbers but are never in it).
 */
export async function resolveRevision(core: { repository: Repository }, dist: string, name: string): Promise<Revision> {
  if (/^\d+$/.test(name)) {
    const wanted = Number(name);
    const { ref } = await core.repository.currentRef(dist);
    let revision = ref ? await core.repository.revision(dist, ref.revision) : null;
    while (revision && revision.number > wanted && revision.parent) revision = await core.repository.revision(dist, revision.parent);
    if (revision && revision.number === wanted) return revision;
  } else if (/^\d{6,}-[A-Za-z0-9_-]{1,16}$/.test(name)) {
    const revision = await core.repository.revision(dist, name);
    if (revision) return revision;
  }
  throw new NotFoundError(`distribution ${dist} has no revision ${JSON.stringify(name)}`, 'unknown_revision');
}

/** The revision a named ref (tag) points at. */
export async function resolveTag(core: { repository: Repository }, dist: string, tag: string): Promise<Revision> {
  const ref = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(tag) && tag !== 'current' ? await core.repository.tag(dist, tag) : null;
  const revision = ref ? await core.repository.revision(dist, ref.revision) : null;
  if (!revision) throw new NotFoundError(`distribution ${dist} has no tag ${JSON.stringify(tag)}`, 'unknown_tag');
  return revision;
}
