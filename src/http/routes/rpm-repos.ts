import { type Context, Hono } from 'hono';
import { layout } from '../../bucket/layout.ts';
import type { Revision } from '../../bucket/revision.ts';
import type { RpmDistribution } from '../../config/distributions.ts';
import type { Core } from '../../core/core.ts';
import { NotFoundError } from '../../errors.ts';
import type { RpmVariant } from '../../ingest/rpm-entry.ts';
import { emptyRevision, findRpmMetadataFile, findRpmPackage, rpmManifest, rpmViewArches } from '../../render/rpm-files.ts';
import { hasDebugRepo, type RpmRepoKind } from '../../render/rpm-view-selection.ts';
import { resolveRevision, resolveTag } from '../../revisions/resolve-revision.ts';
import { LruCache } from '../../util/lru-cache.ts';
import { requireReader } from '../auth.ts';
import { IMMUTABLE, REVALIDATE, type ReadyScope, readyAnswersOf, serveBlob, serveDocument, serveImmutable } from '../serve.ts';

/**
 * dnf, yum and zypper. One set of handlers serves every layout:
 *   /repos/<dist>/<arch>/...                      plain variant, current revision
 *   /hashed/<dist>/<arch>/...                     hashed variant (Packages/<letter>/<file>, sqlite)
 *   /revisions/<dist>/<id>/<arch>/...             plain variant of a pinned revision
 *   /revisions/<dist>/<id>/hashed/<arch>/...      hashed variant of a pinned revision
 * Below each: repodata/<file> and the package hrefs of primary.xml; and the same again below
 * <arch>/debug/, the arch's debuginfo repository (Fedora's layout).
 */
export function rpmRepoRoutes(
  core: Pick<Core, 'caps' | 'distributions' | 'extraRecords' | 'hotFiles' | 'keyring' | 'mirrorPackages' | 'renderer' | 'repository' | 'settings' | 'tokens'>,
): {
  repos: Hono;
  hashed: Hono;
  revisions: Hono;
  tags: Hono;
} {
  const distribution = (name: string): RpmDistribution => {
    const dist = core.distributions.get(name);
    if (dist?.kind !== 'rpm') throw new NotFoundError(`no RPM distribution ${JSON.stringify(name)}`, 'unknown_distribution');
    return dist;
  };
  const current = async (dist: RpmDistribution) => (await core.repository.current(dist.name)) ?? emptyRevision(dist.name, 'rpm');

  /**
   * dnf and zypper read repomd.xml, then repomd.xml.asc in a second request, and refuse the
   * signature of any other repomd.xml ("Bad GPG signature"; librepo checks only the first
   * signature of the file, so one .asc cannot sign several revisions). A publish between the two
   * requests, or behind a balancer a node that already sees a newer revision, would answer the
   * signature of another revision. So the signature follows the repomd.xml this client was last
   * given from this repository, for a minute: the client is its forwarded address (a balancer
   * routes a client's entry points to one node: infra/nginx/repod.conf) and its User-Agent.
   */
  const servedRepomd = new LruCache<string, { revision: string; at: number }>(8192);
  const SERVED_REPOMD_MS = 60_000;
  const clientKey = (header: (name: string) => string | undefined, path: string) =>
    `${header('x-forwarded-for') ?? header('cf-connecting-ip') ?? ''}|${header('user-agent') ?? ''}|${path.slice(0, path.lastIndexOf('/'))}`;
  const noteServedRepomd = (revision: string) => (header: (name: string) => string | undefined, path: string) =>
    servedRepomd.set(clientKey(header, path), { revision, at: Date.now() });
  const signedRevision = async (c: Context, dist: RpmDistribution, revision: Revision, name: string, pinned: boolean): Promise<Revision> => {
    if (pinned) return revision;
    if (name === 'repomd.xml') {
      if (c.req.method === 'GET') noteServedRepomd(revision.id)((n) => c.req.header(n), c.req.path);
      return revision;
    }
    if (name !== 'repomd.xml.asc') return revision;
    const served = servedRepomd.get(clientKey((n) => c.req.header(n), c.req.path));
    if (!served || served.revision === revision.id || Date.now() - served.at > SERVED_REPOMD_MS) return revision;
    return (await core.repository.revision(dist.name, served.revision)) ?? revision;
  };

  const checkArch = (dist: RpmDistribution, arch: string, repo: RpmRepoKind) => {
    if (!rpmViewArches(dist).includes(arch)) throw new NotFoundError(`distribution ${dist.name} has no ${arch} repository`, 'unknown_architecture');
    if (repo === 'debug' && !hasDebugRepo(dist, arch)) throw new NotFoundError(`distribution ${dist.name} has no ${arch} debug repository`, 'unknown_architecture');
  };

  /**
   * Answers of a public distribution's current revision may be sent again without the app while
   * that revision stays current (serve.ts, ReadyAnswers); a pinned or tagged view, a private
   * distribution and repomd.xml.asc (which follows what each client was given) never are.
   */
  const answers = readyAnswersOf(core);
  const readyScope = async (dist: RpmDistribution, revision: Revision, current: boolean, name?: string) => {
    if (!current || dist.private || name === 'repomd.xml.asc') return undefined;
    const scope: ReadyScope = { distribution: dist.name, settings: dist, revision: revision.id, keyset: (await core.keyring.signer(dist)).keysetId };
    if (name === 'repomd.xml') scope.onGet = noteServedRepomd(revision.id);
    return { answers, scope };
  };

  const metadata = async (
    c: Context,
    dist: RpmDistribution,
    latest: Revision,
    arch: string,
    name: string,
    variant: RpmVariant,
    pinned: boolean,
    repo: RpmRepoKind = 'main',
    current = false,
  ) => {
    await requireReader(core, c, dist);
    checkArch(dist, arch, repo);
    const revision = await signedRevision(c, dist, latest, name, pinned);
    const ready = revision === latest ? await readyScope(dist, revision, current, name) : undefined;
    const manifest = await rpmManifest(core, dist, revision, arch, variant, repo);
    const lastModified = new Date(revision.created);
    const document = manifest.documents[`repodata/${name}`];
    if (document !== undefined) {
      // An entry point (repomd.xml and its signature) moves with the distribution; a pinned one never does.
      const tag = repo === 'main' ? `${revision.id}-${variant}-${arch}-${name}` : `${revision.id}-${variant}-${arch}-${repo}-${name}`;
      return serveDocument(c, name, document, `"${tag}"`, lastModified, pinned ? IMMUTABLE : REVALIDATE, ready);
    }
    const file = await findRpmMetadataFile(core, dist, manifest, arch, name, variant, repo);
    if (!file) throw new NotFoundError(`no such metadata file: ${name}`);
    const bytes = await core.renderer.bytes(file);
    return serveImmutable(c, name, file.size, `"${file.checksums.sha256}"`, lastModified, bytes ?? (() => core.renderer.stream(file)), IMMUTABLE, ready);
  };

  const pkg = async (c: Context, dist: RpmDistribution, revision: Revision, arch: string, href: string, variant: RpmVariant, current = false, repo: RpmRepoKind = 'main') => {
    await requireReader(core, c, dist);
    checkArch(dist, arch, repo);
    const shown = { dist, repo };
    let entry = await findRpmPackage(core, revision, arch, href, variant, shown);
    // An on-demand mirror fetches what it lacks on each request: its answers always go through here.
    const ready = entry && !dist.mirror ? await readyScope(dist, revision, current) : undefined;
    if (!entry && current) {
      // Another node may have published a revision this one's cached view (REPOD_REF_TTL_MS) does
      // not have yet, and a client that read its repomd.xml there asks for its packages here.
      const { ref } = await core.repository.currentRef(dist.name, true);
      const newer = ref && ref.revision !== revision.id ? await core.repository.revision(dist.name, ref.revision) : null;
      if (newer) entry = await findRpmPackage(core, newer, arch, href, variant, shown);
    }
    if (!entry) throw new NotFoundError(`no package ${href} in ${dist.name}/${arch}`, 'package_not_found');
    if (dist.mirror) await core.mirrorPackages.ensure(entry.id);
    return serveBlob(c, core.caps.store, layout.pool(entry.id), entry.file, core.settings.presignSeconds, core.hotFiles, ready);
  };

  const repos = new Hono();
  repos.get('/:dist/:arch/repodata/:name', async (c) => {
    const dist = distribution(c.req.param('dist'));
    return metadata(c, dist, await current(dist), c.req.param('arch'), c.req.param('name'), 'plain', false, 'main', true);
  });
  repos.get('/:dist/:arch/Packages/:file', async (c) => {
    const dist = distribution(c.req.param('dist'));
    return pkg(c, dist, await current(dist), c.req.param('arch'), `Packages/${c.req.param('file')}`, 'plain', true);
  });
  repos.get('/:dist/:arch/debug/repodata/:name', async (c) => {
    const dist = distribution(c.req.param('dist'));
    return metadata(c, dist, await current(dist), c.req.param('arch'), c.req.param('name'), 'plain', false, 'debug', true);
  });
  repos.get('/:dist/:arch/debug/Packages/:file', async (c) => {
    const dist = distribution(c.req.param('dist'));
    return pkg(c, dist, await current(dist), c.req.param('arch'), `Packages/${c.req.param('file')}`, 'plain', true, 'debug');
  });

  const hashed = new Hono();
  hashed.get('/:dist/:arch/repodata/:name', async (c) => {
    const dist = distribution(c.req.param('dist'));
    return metadata(c, dist, await current(dist), c.req.param('arch'), c.req.param('name'), 'hashed', false, 'main', true);
  });
  hashed.get('/:dist/:arch/Packages/:letter/:file', async (c) => {
    const dist = distribution(c.req.param('dist'));
    return pkg(c, dist, await current(dist), c.req.param('arch'), `Packages/${c.req.param('letter')}/${c.req.param('file')}`, 'hashed', true);
  });
  hashed.get('/:dist/:arch/debug/repodata/:name', async (c) => {
    const dist = distribution(c.req.param('dist'));
    return metadata(c, dist, await current(dist), c.req.param('arch'), c.req.param('name'), 'hashed', false, 'debug', true);
  });
  hashed.get('/:dist/:arch/debug/Packages/:letter/:file', async (c) => {
    const dist = distribution(c.req.param('dist'));
    return pkg(c, dist, await current(dist), c.req.param('arch'), `Packages/${c.req.param('letter')}/${c.req.param('file')}`, 'hashed', true, 'debug');
  });

  const revisions = new Hono();
  revisions.get('/:dist/:rev/hashed/:arch/debug/repodata/:name', async (c) => {
    const dist = distribution(c.req.param('dist'));
    return metadata(c, dist, await resolveRevision(core, dist.name, c.req.param('rev')), c.req.param('arch'), c.req.param('name'), 'hashed', true, 'debug');
  });
  revisions.get('/:dist/:rev/hashed/:arch/debug/Packages/:letter/:file', async (c) => {
    const dist = distribution(c.req.param('dist'));
    return pkg(
      c,
      dist,
      await resolveRevision(core, dist.name, c.req.param('rev')),
      c.req.param('arch'),
      `Packages/${c.req.param('letter')}/${c.req.param('file')}`,
      'hashed',
      false,
      'debug',
    );
  });
  revisions.get('/:dist/:rev/:arch/debug/repodata/:name', async (c) => {
    const dist = distribution(c.req.param('dist'));
    return metadata(c, dist, await resolveRevision(core, dist.name, c.req.param('rev')), c.req.param('arch'), c.req.param('name'), 'plain', true, 'debug');
  });
  revisions.get('/:dist/:rev/:arch/debug/Packages/:file', async (c) => {
    const dist = distribution(c.req.param('dist'));
    return pkg(c, dist, await resolveRevision(core, dist.name, c.req.param('rev')), c.req.param('arch'), `Packages/${c.req.param('file')}`, 'plain', false, 'debug');
  });
  revisions.get('/:dist/:rev/hashed/:arch/repodata/:name', async (c) => {
    const dist = distribution(c.req.param('dist'));
    return metadata(c, dist, await resolveRevision(core, dist.name, c.req.param('rev')), c.req.param('arch'), c.req.param('name'), 'hashed', true);
  });
  revisions.get('/:dist/:rev/hashed/:arch/Packages/:letter/:file', async (c) => {
    const dist = distribution(c.req.param('dist'));
    return pkg(c, dist, await resolveRevision(core, dist.name, c.req.param('rev')), c.req.param('arch'), `Packages/${c.req.param('letter')}/${c.req.param('file')}`, 'hashed');
  });
  revisions.get('/:dist/:rev/:arch/repodata/:name', async (c) => {
    const dist = distribution(c.req.param('dist'));
    return metadata(c, dist, await resolveRevision(core, dist.name, c.req.param('rev')), c.req.param('arch'), c.req.param('name'), 'plain', true);
  });
  revisions.get('/:dist/:rev/:arch/Packages/:file', async (c) => {
    const dist = distribution(c.req.param('dist'));
    return pkg(c, dist, await resolveRevision(core, dist.name, c.req.param('rev')), c.req.param('arch'), `Packages/${c.req.param('file')}`, 'plain');
  });

  const tags = new Hono();
  const tagged = (c: Context) => resolveTag(core, c.req.param('dist')!, c.req.param('tag')!);
  tags.get('/:dist/:tag/hashed/:arch/debug/repodata/:name', async (c) => {
    const dist = distribution(c.req.param('dist'));
    return metadata(c, dist, await tagged(c), c.req.param('arch'), c.req.param('name'), 'hashed', false, 'debug');
  });
  tags.get('/:dist/:tag/hashed/:arch/debug/Packages/:letter/:file', async (c) => {
    const dist = distribution(c.req.param('dist'));
    return pkg(c, dist, await tagged(c), c.req.param('arch'), `Packages/${c.req.param('letter')}/${c.req.param('file')}`, 'hashed', false, 'debug');
  });
  tags.get('/:dist/:tag/:arch/debug/repodata/:name', async (c) => {
    const dist = distribution(c.req.param('dist'));
    return metadata(c, dist, await tagged(c), c.req.param('arch'), c.req.param('name'), 'plain', false, 'debug');
  });
  tags.get('/:dist/:tag/:arch/debug/Packages/:file', async (c) => {
    const dist = distribution(c.req.param('dist'));
    return pkg(c, dist, await tagged(c), c.req.param('arch'), `Packages/${c.req.param('file')}`, 'plain', false, 'debug');
  });
  tags.get('/:dist/:tag/hashed/:arch/repodata/:name', async (c) => {
    const dist = distribution(c.req.param('dist'));
    return metadata(c, dist, await tagged(c), c.req.param('arch'), c.req.param('name'), 'hashed', false);
  });
  tags.get('/:dist/:tag/hashed/:arch/Packages/:letter/:file', async (c) => {
    const dist = distribution(c.req.param('dist'));
    return pkg(c, dist, await tagged(c), c.req.param('arch'), `Packages/${c.req.param('letter')}/${c.req.param('file')}`, 'hashed');
  });
  tags.get('/:dist/:tag/:arch/repodata/:name', async (c) => {
    const dist = distribution(c.req.param('dist'));
    return metadata(c, dist, await tagged(c), c.req.param('arch'), c.req.param('name'), 'plain', false);
  });
  tags.get('/:dist/:tag/:arch/Packages/:file', async (c) => {
    const dist = distribution(c.req.param('dist'));
    return pkg(c, dist, await tagged(c), c.req.param('arch'), `Packages/${c.req.param('file')}`, 'plain');
  });

  return { repos, hashed, revisions, tags };
}
