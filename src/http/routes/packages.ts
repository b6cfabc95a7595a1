import { Hono } from 'hono';
import { layout } from '../../bucket/layout.ts';
import type { PackageRecord } from '../../bucket/package-record.ts';
import type { Core } from '../../core/core.ts';
import { NotFoundError } from '../../errors.ts';
import { getJson } from '../../storage/objects.ts';
import { requireRole } from '../auth.ts';
import { describeRoute, type OperationDoc } from '../openapi/describe.ts';

/** What the OpenAPI document (/api/v1/openapi.json) says of each route below. */
const docs = {
  getSha256: { summary: 'A stored package by sha256, and its signature verification', tags: ['Packages'], role: 'reader' },
} satisfies Record<string, OperationDoc>;

/** `GET /api/v1/packages/<sha256>`: a stored package, and what its signature verification found. */
export function packageRoutes(core: Pick<Core, 'caps' | 'tokens'>): Hono {
  const app = new Hono();
  app.get('/:sha256', describeRoute(docs.getSha256), async (c) => {
    await requireRole(core, c, 'reader');
    const sha256 = c.req.param('sha256');
    const record = /^[0-9a-f]{64}$/.test(sha256) ? (await getJson<PackageRecord>(core.caps.store, layout.packageRecord(sha256)))?.value : null;
    if (!record) throw new NotFoundError(`no package with sha256 ${sha256}`, 'unknown_package');
    const signature = (await getJson<Record<string, unknown>>(core.caps.store, layout.packageSignature(sha256)))?.value ?? null;
    const summary =
      record.kind === 'rpm'
        ? { kind: 'rpm', name: record.package.name, epoch: record.package.epoch, version: record.package.version, release: record.package.release, arch: record.package.arch }
        : { kind: 'deb', control: record.control };
    return c.json({ sha256, size: record.facts.size, fileName: record.facts.fileName, ...summary, signature });
  });
  return app;
}
