import { Hono } from 'hono';
import type { RpmDistribution } from '../../config/distributions.ts';
import type { Core } from '../../core.ts';
import { NotFoundError } from '../../errors.ts';
import { layout } from '../../revisions/layout.ts';
import { emptyRevision, findRpmMetadataFile, findRpmPackage, rpmManifest, rpmViewArches } from '../../revisions/rpm-views.ts';
import { serveBlob, serveDocument, serveImmutable } from '../serve.ts';

/** dnf, yum and zypper: /repos/<dist>/<arch>/repodata/... and /repos/<dist>/<arch>/Packages/<file>. */
export function rpmRepoRoutes(core: Core): Hono {
  const app = new Hono();

  const resolve = async (distName: string, arch: string) => {
    const dist = core.distributions.get(distName);
    if (!dist || dist.kind !== 'rpm') throw new NotFoundError(`no RPM distribution ${JSON.stringify(distName)}`, 'unknown_distribution');
    if (!rpmViewArches(dist).includes(arch)) throw new NotFoundError(`distribution ${dist.name} has no ${arch} repository`, 'unknown_architecture');
    const revision = (await core.repository.current(dist.name)) ?? emptyRevision(dist.name, 'rpm');
    return { dist: dist as RpmDistribution, revision };
  };

  app.get('/:dist/:arch/repodata/:name', async (c) => {
    const { dist: distName, arch, name } = c.req.param();
    const { dist, revision } = await resolve(distName, arch);
    const manifest = await rpmManifest(core, dist, revision, arch);
    const lastModified = new Date(revision.created);
    const document = manifest.documents[`repodata/${name}`];
    if (document !== undefined) return serveDocument(c, name, document, `"${revision.id}-${arch}-${name}"`, lastModified);
    const file = await findRpmMetadataFile(core, dist, manifest, arch, name);
    if (!file) throw new NotFoundError(`no such metadata file: ${name}`);
    return serveImmutable(c, name, file.size, `"${file.checksums.sha256}"`, lastModified, () => core.renderer.stream(file));
  });

  app.get('/:dist/:arch/Packages/:file', async (c) => {
    const { dist: distName, arch, file } = c.req.param();
    const { revision } = await resolve(distName, arch);
    const entry = await findRpmPackage(core, revision, arch, file);
    if (!entry) throw new NotFoundError(`no package ${file} in ${distName}/${arch}`, 'package_not_found');
    return serveBlob(c, core.caps.store, layout.pool(entry.id), entry.file, core.settings.presignSeconds);
  });

  return app;
}
