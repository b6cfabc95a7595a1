import { type Context, Hono } from 'hono';
import { layout } from '../../bucket/layout.ts';
import type { Revision } from '../../bucket/revision.ts';
import type { AptDistribution } from '../../config/distributions.ts';
import type { Core } from '../../core/core.ts';
import { NotFoundError } from '../../errors.ts';
import { aptManifest, aptPoolFile, findAptFile } from '../../render/apt-files.ts';
import { emptyRevision } from '../../render/rpm-files.ts';
import { resolveRevision, resolveTag } from '../../revisions/resolve-revision.ts';
import { requireReader } from '../auth.ts';
import { pathAfter } from '../paths.ts';
import { IMMUTABLE, REVALIDATE, readyAnswersOf, serveBlob, serveDocument, serveImmutable } from '../serve.ts';

/**
 * apt: `deb [signed-by=...] http://HOST/repos <codename> <component>` reads
 * /repos/dists/<codename>/{InRelease,Release,Release.gpg,<component>/binary-<arch>/...} and
 * downloads /repos/pool/<component>/<prefix>/<source>/<file>. A pinned revision is
 * `deb http://HOST/revisions/<dist>/<id> <codename> main`, a tag `deb http://HOST/tags/<dist>/<tag> ...`.
 */
export function aptRepoRoutes(core: Pick<Core, 'caps' | 'distributions' | 'hotFiles' | 'keyring' | 'mirrorPackages' | 'renderer' | 'repository' | 'settings' | 'tokens'>): {
  repos: Hono;
  revisions: Hono;
  tags: Hono;
} {
  const distribution = (name: string): AptDistribution => {
    const dist = core.distributions.get(name);
    if (dist?.kind !== 'apt') throw new NotFoundError(`no APT distribution ${JSON.stringify(name)}`, 'unknown_distribution');
    return dist;
  };

  // Answers of a public distribution's current revision may be sent again without the app while that
  // revision stays current (serve.ts, ReadyAnswers). Pool paths are shared by every APT
  // distribution, so their answers always go through the app.
  const answers = readyAnswersOf(core);

  const index = async (c: Context, dist: AptDistribution, revision: Revision, prefix: string, pinned: boolean, current = false) => {
    await requireReader(core, c, dist);
    const ready =
      current && !dist.private
        ? { answers, scope: { distribution: dist.name, settings: dist, revision: revision.id, keyset: (await core.keyring.signer(dist)).keysetId } }
        : undefined;
    const path = pathAfter(c.req.path, prefix);
    const manifest = await aptManifest(core, dist, revision);
    const lastModified = new Date(revision.created);
    const document = manifest.documents[path];
    if (document !== undefined) {
      // InRelease, Release, Release.gpg move with the distribution; a pinned revision's never do.
      return serveDocument(c, path, document, `"${revision.id}-${path}"`, lastModified, pinned ? IMMUTABLE : REVALIDATE, ready);
    }
    const file = await findAptFile(core, dist, manifest, path);
    if (!file) throw new NotFoundError(`no such file: dists/${dist.name}/${path}`);
    const etag = file.checksums.sha256 ? `"${file.checksums.sha256}"` : `"${revision.id}-${file.path}"`;
    const bytes = await core.renderer.bytes(file);
    // Only by-hash paths (and pinned revisions) never change; .../Packages.gz does with every revision.
    const cacheControl = pinned || path.includes('/by-hash/') ? IMMUTABLE : REVALIDATE;
    return serveImmutable(c, file.path, file.size, etag, lastModified, bytes ?? (() => core.renderer.stream(file)), cacheControl, ready);
  };

  // An on-demand mirror's packages may not be in the pool yet (pool paths are shared by every APT distribution).
  const mirrors = core.distributions.all().some((d) => d.kind === 'apt' && d.mirror);
  // Pool paths are shared by every APT distribution; a private one makes the shared pool private.
  const pool = async (c: Context, prefix: string) => {
    for (const d of core.distributions.all()) if (d.kind === 'apt' && d.private) await requireReader(core, c, d);
    const path = `pool/${pathAfter(c.req.path, prefix)}`;
    const sha256 = await aptPoolFile(core, path);
    if (!sha256) throw new NotFoundError(`no package at ${path}`, 'package_not_found');
    if (mirrors) await core.mirrorPackages.ensure(sha256);
    return serveBlob(c, core.caps.store, layout.pool(sha256), path.slice(path.lastIndexOf('/') + 1), core.settings.presignSeconds, core.hotFiles);
  };

  const repos = new Hono();
  repos.get('/dists/:codename/*', async (c) => {
    const dist = distribution(c.req.param('codename'));
    const revision = (await core.repository.current(dist.name)) ?? emptyRevision(dist.name, 'apt');
    return index(c, dist, revision, `/dists/${dist.name}/`, false, true);
  });
  repos.get('/pool/*', (c) => pool(c, '/pool/'));

  const revisions = new Hono();
  revisions.get('/:dist/:rev/dists/:codename/*', async (c) => {
    const dist = distribution(c.req.param('dist'));
    if (c.req.param('codename') !== dist.name) throw new NotFoundError(`distribution ${dist.name} has no codename ${c.req.param('codename')}`, 'unknown_distribution');
    const revision = await resolveRevision(core, dist.name, c.req.param('rev'));
    return index(c, dist, revision, `/dists/${dist.name}/`, true);
  });
  revisions.get('/:dist/:rev/pool/*', (c) => pool(c, '/pool/'));

  const tags = new Hono();
  tags.get('/:dist/:tag/dists/:codename/*', async (c) => {
    const dist = distribution(c.req.param('dist'));
    if (c.req.param('codename') !== dist.name) throw new NotFoundError(`distribution ${dist.name} has no codename ${c.req.param('codename')}`, 'unknown_distribution');
    return index(c, dist, await resolveTag(core, dist.name, c.req.param('tag')), `/dists/${dist.name}/`, false);
  });
  tags.get('/:dist/:tag/pool/*', (c) => pool(c, '/pool/'));

  return { repos, revisions, tags };
}
