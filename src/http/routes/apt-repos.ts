import { Hono } from 'hono';
import type { AptDistribution } from '../../config/distributions.ts';
import type { Core } from '../../core.ts';
import { NotFoundError } from '../../errors.ts';
import { aptManifest, aptPoolFile, findAptFile } from '../../revisions/apt-views.ts';
import { layout } from '../../revisions/layout.ts';
import { emptyRevision } from '../../revisions/rpm-views.ts';
import { pathAfter } from '../paths.ts';
import { serveBlob, serveDocument, serveImmutable } from '../serve.ts';

/**
 * apt: `deb [signed-by=...] http://HOST/repos <codename> <component>` reads
 * /repos/dists/<codename>/{InRelease,Release,Release.gpg,<component>/binary-<arch>/...} and
 * downloads /repos/pool/<component>/<prefix>/<source>/<file>.
 */
export function aptRepoRoutes(core: Core): Hono {
  const app = new Hono();

  app.get('/dists/:codename/*', async (c) => {
    const codename = c.req.param('codename');
    const dist = core.distributions.get(codename);
    if (!dist || dist.kind !== 'apt') throw new NotFoundError(`no APT distribution ${JSON.stringify(codename)}`, 'unknown_distribution');
    const path = pathAfter(c.req.path, `/dists/${codename}/`);
    const revision = (await core.repository.current(dist.name)) ?? emptyRevision(dist.name, 'apt');
    const manifest = await aptManifest(core, dist as AptDistribution, revision);
    const lastModified = new Date(revision.created);
    const document = manifest.documents[path];
    if (document !== undefined) return serveDocument(c, path, document, `"${revision.id}-${path}"`, lastModified);
    const file = await findAptFile(core, dist as AptDistribution, manifest, path);
    if (!file) throw new NotFoundError(`no such file: dists/${codename}/${path}`);
    return serveImmutable(c, file.path, file.size, `"${file.checksums.sha256}"`, lastModified, () => core.renderer.stream(file));
  });

  app.get('/pool/*', async (c) => {
    const path = `pool/${pathAfter(c.req.path, '/pool/')}`;
    const sha256 = await aptPoolFile(core, path);
    if (!sha256) throw new NotFoundError(`no package at ${path}`, 'package_not_found');
    return serveBlob(c, core.caps.store, layout.pool(sha256), path.slice(path.lastIndexOf('/') + 1), core.settings.presignSeconds);
  });

  return app;
}
