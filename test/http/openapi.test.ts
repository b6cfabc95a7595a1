/**
 * The OpenAPI document is generated from the routes: it validates against the OpenAPI 3.1
 * schema, every /api/v1 route of the app is in it, and /api/docs lists each operation.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import type { Hono } from 'hono';
import { createApp } from '../../src/http/app.ts';
import { documentHas, openApiPath } from '../../src/http/openapi/document.ts';
import { buildNodeCore } from '../../src/runtime/node-core.ts';

describe('OpenAPI document', () => {
  let app: Hono;
  let dataDir: string;
  let document: Record<string, any>;

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'repod-openapi-'));
    const { core } = await buildNodeCore({ REPOD_STORAGE: `file:${dataDir}`, REPOD_ADMIN_TOKEN: 'openapi-test-token-0123456789' }, () => undefined);
    app = createApp(core);
    const response = await app.request('/api/v1/openapi.json');
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /application\/json/);
    document = (await response.json()) as Record<string, any>;
  });

  after(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('validates against the OpenAPI 3.1 schema', async () => {
    assert.equal(document.openapi, '3.1.0');
    const validator = new Validator();
    const result = await validator.validate(structuredClone(document));
    assert.equal(validator.version, '3.1');
    assert.ok(result.valid, JSON.stringify(result.errors, null, 2));
  });

  it('the validator refuses a broken document (the check is real)', async () => {
    const broken = structuredClone(document);
    broken.paths['/api/v1/distributions'].get.responses = { 200: { content: {} } }; // a response without its required description
    const result = await new Validator().validate(broken);
    assert.equal(result.valid, false);
  });

  it('covers every /api/v1 route of the app', () => {
    const routes = app.routes.filter((r) => r.method !== 'ALL' && r.path.startsWith('/api/v1'));
    assert.ok(routes.length > 50, `the app has its API routes (${routes.length})`);
    const missing = routes.filter((r) => !documentHas(document, r.method, r.path)).map((r) => `${r.method} ${r.path}`);
    assert.deepEqual(missing, [], `routes without a describeRoute(...) next to them:\n${missing.join('\n')}`);
  });

  it('names path parameters and gives each operation a unique id and security', () => {
    const ids = new Set<string>();
    for (const [path, methods] of Object.entries(document.paths as Record<string, Record<string, any>>)) {
      const names = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
      for (const op of Object.values(methods)) {
        assert.ok(!ids.has(op.operationId), `operationId ${op.operationId} is unique`);
        ids.add(op.operationId);
        assert.deepEqual(op.parameters?.filter((p: any) => p.in === 'path').map((p: any) => p.name) ?? [], names, `${path} declares its path parameters`);
        assert.ok(Array.isArray(op.security), `${path} says who may call it`);
      }
    }
    assert.deepEqual(openApiPath('/api/v1/distributions/:dist/revisions/:a/diff/:b'), { path: '/api/v1/distributions/{dist}/revisions/{a}/diff/{b}', params: ['dist', 'a', 'b'] });
    const upload = document.paths['/api/v1/upload'].post;
    assert.deepEqual(upload.security, [{ bearerAuth: [] }]);
    assert.ok(upload.requestBody.content['multipart/form-data'].schema.properties.file, 'the upload names its multipart file field');
    assert.deepEqual(document.paths['/api/v1/auth/token'].post.security, [], 'sign-in needs no token');
  });

  it('/api/docs is a readable page listing every operation, with no outside assets', async () => {
    const response = await app.request('/api/docs');
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /text\/html/);
    const html = await response.text();
    for (const [path, methods] of Object.entries(document.paths as Record<string, Record<string, any>>)) {
      assert.ok(html.includes(`<code>${path}</code>`), `${path} is on the page`);
      for (const op of Object.values(methods)) assert.ok(html.includes(`id="${op.operationId}"`), `${op.operationId} is on the page`);
    }
    assert.doesNotMatch(html, /<script|https?:\/\/(?!localhost)[^"]*\.(js|css)/, 'no script and no outside asset');
  });
});
