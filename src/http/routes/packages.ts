import { Hono } from 'hono';
import type * as openpgp from 'openpgp';
import { layout } from '../../bucket/layout.ts';
import type { PackageRecord } from '../../bucket/package-record.ts';
import type { Core } from '../../core/core.ts';
import { NotFoundError, RepodError } from '../../errors.ts';
import { rpmKey } from '../../ingest/rpm-entry.ts';
import { signStoredRpm } from '../../ingest/signature-policy.ts';
import { recordDsc } from '../../ingest/source-entry.ts';
import type { RingFile } from '../../signing/keyring.ts';
import { readSignatureVerdict } from '../../signing/signature-verdict.ts';
import { listSignedCopies, normalizeKeyId } from '../../signing/signed-copies.ts';
import { readPrivateKey } from '../../signing/signer.ts';
import { getJson } from '../../storage/objects.ts';
import { requireRole } from '../auth.ts';
import { describeRoute, type OperationDoc } from '../openapi/describe.ts';

/** What the OpenAPI document (/api/v1/openapi.json) says of each route below. */
const docs = {
  getSha256: {
    summary: 'A stored package by sha256 (an RPM, a .deb, or a source package by the sha256 of its .dsc, with the files it names), and its signature verification',
    tags: ['Packages'],
    role: 'reader',
  },
  getSha256Signatures: {
    summary: "The signed copies of a stored RPM's build (Koji's sigs): each copy's sha256 and signing key ids",
    tags: ['Packages'],
    role: 'reader',
  },
  postSha256Signatures: {
    summary: 'Write a copy of a stored RPM signed by a keyring key (published nowhere until a dist-repo or upload prefers it)',
    tags: ['Packages'],
    role: 'maintainer',
    body: { json: { type: 'object', required: ['key'], properties: { key: { type: 'string', description: 'fingerprint or key id of a keyring key' } } } },
    responses: { 201: 'the copy was written', 200: 'the package already carried that signature', 404: 'no such package or key', 422: 'not an RPM' },
  },
} satisfies Record<string, OperationDoc>;

const SHA256 = /^[0-9a-f]{64}$/;

async function storedRecord(core: Pick<Core, 'caps'>, sha256: string): Promise<PackageRecord> {
  const record = SHA256.test(sha256) ? (await getJson<PackageRecord>(core.caps.store, layout.packageRecord(sha256)))?.value : null;
  if (!record) throw new NotFoundError(`no package with sha256 ${sha256}`, 'unknown_package');
  return record;
}

/**
 * The private key of a keyring key named by fingerprint or key id. The newest active key comes from
 * the keyring as on-ingest signing does; another one only when it is stored unencrypted (the
 * keyring keeps its passphrase to itself).
 */
async function keyringKey(core: Pick<Core, 'caps' | 'keyring'>, wanted: string): Promise<openpgp.PrivateKey> {
  const want = normalizeKeyId(wanted);
  const info = (await core.keyring.list()).find((k) => {
    const fpr = k.fingerprint.toUpperCase();
    return want.length >= 8 && (fpr.endsWith(want) || (want.length > 16 && want.endsWith(k.keyId.toUpperCase())));
  });
  if (!info) throw new NotFoundError(`no keyring key ${JSON.stringify(wanted)} (GET /api/v1/keys lists them)`, 'unknown_key');
  const newest = await core.keyring.packageSigningKey();
  if (newest.getFingerprint().toUpperCase() === info.fingerprint.toUpperCase()) return newest;
  const stored = (await getJson<RingFile>(core.caps.store, layout.keyring()))?.value.keys.find((k) => k.fingerprint.toUpperCase() === info.fingerprint.toUpperCase());
  if (!stored || stored.encrypted) {
    throw new RepodError('key_unavailable', `key ${info.fingerprint} is encrypted in the keyring: only the newest active key signs packages`, { status: 409 });
  }
  return readPrivateKey(stored.private);
}

/** What the package answer says of each kind of record. */
function recordSummary(record: PackageRecord): Record<string, unknown> {
  if (record.kind === 'rpm') {
    const p = record.package;
    return { kind: 'rpm', name: p.name, epoch: p.epoch, version: p.version, release: p.release, arch: p.arch };
  }
  if (record.kind === 'deb') return { kind: 'deb', control: record.control };
  // A source package: the .dsc (this sha256) and every file it names, each under its own sha256 in the pool.
  const dsc = recordDsc(record);
  const self = { name: record.facts.fileName, size: record.facts.size, md5: record.facts.md5, sha1: record.facts.sha1, sha256: record.facts.sha256, sha512: record.facts.sha512 };
  return {
    kind: 'dsc',
    name: dsc.source,
    version: dsc.version,
    arch: 'source',
    format: dsc.format,
    signed: record.signed,
    control: record.control,
    files: [self, ...record.files],
  };
}

/** `/api/v1/packages/<sha256>`: a stored package, what its signature verification found, and its signed copies. */
export function packageRoutes(core: Pick<Core, 'caps' | 'tokens' | 'keyring' | 'settings'>): Hono {
  const app = new Hono();
  app.get('/:sha256', describeRoute(docs.getSha256), async (c) => {
    await requireRole(core, c, 'reader');
    const sha256 = c.req.param('sha256');
    const record = await storedRecord(core, sha256);
    const signature = await readSignatureVerdict(core.caps.store, sha256, record);
    const summary = recordSummary(record);
    return c.json({ sha256, size: record.facts.size, fileName: record.facts.fileName, ...summary, signature });
  });

  app.get('/:sha256/signatures', describeRoute(docs.getSha256Signatures), async (c) => {
    await requireRole(core, c, 'reader');
    const sha256 = c.req.param('sha256');
    const record = await storedRecord(core, sha256);
    if (record.kind !== 'rpm') return c.json({ sha256, copies: [] });
    const all = await listSignedCopies(core.caps.store, rpmKey(record.package));
    const self = all.find((x) => x.sha256 === sha256);
    const copies = self ? all.filter((x) => x.identity === self.identity) : [];
    const present = await Promise.all(copies.map((x) => core.caps.store.head(layout.pool(x.sha256))));
    return c.json({
      sha256,
      copies: copies.filter((_, i) => present[i]).map(({ sha256, keyIds, verified, recorded }) => ({ sha256, keyIds, verified, recorded })),
    });
  });

  app.post('/:sha256/signatures', describeRoute(docs.postSha256Signatures), async (c) => {
    await requireRole(core, c, 'maintainer');
    const sha256 = c.req.param('sha256');
    const body = (await c.req.json().catch(() => null)) as { key?: unknown } | null;
    if (!body || typeof body.key !== 'string' || body.key.trim() === '') {
      throw new RepodError('invalid_request', 'the body must be JSON {"key": "<fingerprint or key id of a keyring key>"}', { status: 400 });
    }
    const record = await storedRecord(core, sha256);
    if (record.kind !== 'rpm') throw new RepodError('not_an_rpm', `package ${sha256} is a Debian package: only RPMs carry signed copies`, { status: 422 });
    const key = await keyringKey(core, body.key);
    const { copy, changed } = await signStoredRpm({ caps: core.caps, maxUploadBytes: core.settings.maxUploadBytes }, sha256, key);
    const { sha256: copySha, keyIds, verified, recorded } = copy;
    return c.json({ source: sha256, sha256: copySha, fileName: record.facts.fileName, keyIds, verified, recorded, changed }, changed ? 201 : 200);
  });
  return app;
}
