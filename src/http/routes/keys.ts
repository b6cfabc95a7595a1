import { type Context, Hono } from 'hono';
import * as openpgp from 'openpgp';
import { layout } from '../../bucket/layout.ts';
import type { Distribution } from '../../config/distributions.ts';
import type { Core } from '../../core/core.ts';
import { RepodError } from '../../errors.ts';
import type { KeyOptions } from '../../signing/keyring.ts';
import type { KeyAlgorithm } from '../../signing/signer.ts';
import { requireRole } from '../auth.ts';
import { describeRoute, type OperationDoc } from '../openapi/describe.ts';
import { serveDocument } from '../serve.ts';

/** What the OpenAPI document (/api/v1/openapi.json) says of each route below. */
const docs = {
  get: { summary: 'List the metadata signing keys', tags: ['Keys'], role: 'auditor' },
  post: {
    summary: 'Generate a new signing key',
    tags: ['Keys'],
    role: 'admin',
    body: {
      json: {
        type: 'object',
        properties: {
          algorithm: { type: 'string' },
          name: { type: 'string', description: 'what distributions call it in signing.keys' },
          dedicated: { type: 'boolean', description: 'signs only the distributions that name it, not the default set' },
        },
      },
      required: false,
    },
    responses: { 201: 'the key' },
  },
  postImport: {
    summary: 'Import an ASCII-armored private signing key',
    tags: ['Keys'],
    role: 'admin',
    body: {
      json: {
        type: 'object',
        required: ['armored'],
        properties: {
          armored: { type: 'string' },
          passphrase: { type: 'string' },
          status: { enum: ['active', 'retired'] },
          name: { type: 'string' },
          dedicated: { type: 'boolean' },
        },
      },
    },
    responses: { 201: 'the key' },
  },
  getTrusted: { summary: 'List the keys trusted to sign uploaded packages', tags: ['Keys'], role: 'auditor' },
  postTrusted: {
    summary: "Trust a packager's public key",
    tags: ['Keys'],
    role: 'admin',
    body: { json: { type: 'object', required: ['armored'], properties: { armored: { type: 'string' } } } },
    responses: { 201: 'the keys added' },
  },
  retire: { summary: 'Retire a signing key (it stops signing)', tags: ['Keys'], role: 'admin' },
  activate: { summary: 'Activate a signing key', tags: ['Keys'], role: 'admin' },
} satisfies Record<string, OperationDoc>;

/**
 * The public keyring clients import: /repos/gpg.key and /repos/dists/depot.gpg (where Repod puts
 * it) hold the default set; /repos/<dist>/gpg.key the keys that sign that distribution (its own
 * `signing.keys`, or the default set). During a rotation it holds the old and the new key.
 */
export function keyRoutes(core: Pick<Core, 'distributions' | 'keyring'>): Hono {
  const app = new Hono();
  const serveKey = async (c: Context, dist?: Distribution) => {
    const signer = await core.keyring.signer(dist);
    return serveDocument(c, 'gpg.key', signer.publicKeyArmored, `"${signer.keysetId}"`, new Date(0));
  };
  app.get('/gpg.key', (c) => serveKey(c));
  app.get('/dists/depot.gpg', (c) => serveKey(c));
  app.get('/:dist/gpg.key', (c) => {
    const dist = core.distributions.get(c.req.param('dist'));
    if (!dist) return c.json({ status: 'error', error: 'unknown_distribution', message: `no distribution ${c.req.param('dist')}` }, 404);
    return serveKey(c, dist);
  });
  return app;
}

function keyOptions(body: { name?: unknown; dedicated?: unknown }): KeyOptions {
  if ((body.name !== undefined && typeof body.name !== 'string') || (body.dedicated !== undefined && typeof body.dedicated !== 'boolean')) {
    throw new RepodError('invalid_request', 'name must be a string and dedicated a boolean', { status: 400 });
  }
  return { ...(body.name !== undefined ? { name: body.name as string } : {}), ...(body.dedicated ? { dedicated: true } : {}) };
}

const ALGORITHMS: KeyAlgorithm[] = ['ed25519', 'rsa4096', 'rsa3072', 'rsa2048'];

/**
 * Key management (admin): list, generate, import, retire and re-activate signing keys. A rotation
 * is: generate (or import) the new key, which signs beside the old one; publish its public key to
 * clients; retire the old key.
 */
export function keyApiRoutes(core: Pick<Core, 'caps' | 'keyring' | 'tokens'>): Hono {
  const app = new Hono();
  app.get('/', describeRoute(docs.get), async (c) => {
    await requireRole(core, c, 'auditor');
    return c.json({ external: core.keyring.external, keys: await core.keyring.list() });
  });
  app.post('/', describeRoute(docs.post), async (c) => {
    await requireRole(core, c, 'admin');
    const body = ((await c.req.json().catch(() => ({}))) ?? {}) as { algorithm?: unknown; name?: unknown; dedicated?: unknown };
    const algorithm = (body.algorithm ?? 'ed25519') as KeyAlgorithm;
    if (!ALGORITHMS.includes(algorithm)) throw new RepodError('invalid_request', `algorithm must be one of ${ALGORITHMS.join(', ')}`, { status: 400 });
    return c.json(await core.keyring.generate(algorithm, keyOptions(body)), 201);
  });
  app.post('/import', describeRoute(docs.postImport), async (c) => {
    await requireRole(core, c, 'admin');
    const body = (await c.req.json().catch(() => null)) as { armored?: unknown; passphrase?: unknown; status?: unknown; name?: unknown; dedicated?: unknown } | null;
    if (!body || typeof body.armored !== 'string' || (body.passphrase !== undefined && typeof body.passphrase !== 'string')) {
      throw new RepodError('invalid_request', 'the body must be JSON {"armored": "<private key>", "passphrase"?, "status"?: "active"|"retired"}', { status: 400 });
    }
    const status = body.status === 'retired' ? 'retired' : 'active';
    return c.json(await core.keyring.import(body.armored, body.passphrase as string | undefined, status, keyOptions(body)), 201);
  });
  // Public keys that package signatures may come from (a build system's signing keys).
  app.get('/trusted', describeRoute(docs.getTrusted), async (c) => {
    await requireRole(core, c, 'auditor');
    const keys: Array<{ fingerprint: string; publicKey: string }> = [];
    for await (const e of core.caps.store.list(layout.trustedKeysPrefix())) {
      const object = await core.caps.store.get(e.key);
      if (object) keys.push({ fingerprint: e.key.slice(layout.trustedKeysPrefix().length).replace(/\.asc$/, ''), publicKey: await new Response(object.body).text() });
    }
    return c.json({ keys });
  });
  app.post('/trusted', describeRoute(docs.postTrusted), async (c) => {
    await requireRole(core, c, 'admin');
    const body = (await c.req.json().catch(() => null)) as { armored?: unknown } | null;
    if (!body || typeof body.armored !== 'string') throw new RepodError('invalid_request', 'the body must be JSON {"armored": "<public key>"}', { status: 400 });
    let keys: openpgp.Key[];
    try {
      keys = await openpgp.readKeys({ armoredKeys: body.armored });
    } catch (cause) {
      throw new RepodError('invalid_key', `not an OpenPGP public key: ${(cause as Error).message}`, { status: 422, cause });
    }
    const added = [];
    for (const key of keys) {
      const fingerprint = key.getFingerprint().toUpperCase();
      await core.caps.store.put(layout.trustedKey(fingerprint), new TextEncoder().encode(key.toPublic().armor()), { contentType: 'application/pgp-keys' });
      added.push({ fingerprint, keyId: key.getKeyID().toHex().toUpperCase() });
    }
    return c.json({ added }, 201);
  });
  for (const [action, status] of [
    ['retire', 'retired'],
    ['activate', 'active'],
  ] as const) {
    app.post(`/:fingerprint/${action}`, describeRoute(docs[action]), async (c) => {
      await requireRole(core, c, 'admin');
      return c.json(await core.keyring.setStatus(c.req.param('fingerprint'), status));
    });
  }
  return app;
}
