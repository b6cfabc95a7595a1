/**
 * The sqlite build is bounded (REPOD_SQLITE_MAX_METADATA_BYTES): a view whose uncompressed XML is
 * larger than the bound is served without sqlite databases, and says so in the log; below the
 * bound the hashed variant lists all three.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { createApp } from '../../src/http/app.ts';
import { buildNodeCore } from '../../src/runtime/node-core.ts';
import { buildManyRpms } from '../helpers/rpmbuild.ts';

describe('bounded sqlite build', () => {
  let rpms: string[];
  before(async () => {
    rpms = await buildManyRpms(6, await mkdtemp(join(tmpdir(), 'repod-sqlite-bound-')), { prefix: 'bound' });
  });

  async function hashedRepomd(bound: string | undefined): Promise<{ repomd: string; logs: string[] }> {
    const logs: string[] = [];
    const env: Record<string, string> = { REPOD_STORAGE: `file:${await mkdtemp(join(tmpdir(), 'repod-sqlite-bound-store-'))}`, REPOD_ADMIN_TOKEN: 't' };
    if (bound !== undefined) env.REPOD_SQLITE_MAX_METADATA_BYTES = bound;
    const app = createApp((await buildNodeCore(env, (message) => logs.push(message))).core);
    for (const file of rpms) {
      const form = new FormData();
      form.append('file', new Blob([await readFile(file)]), file.slice(file.lastIndexOf('/') + 1));
      form.append('distribution', 'rocky9');
      const response = await app.request('/api/v1/upload', { method: 'POST', body: form, headers: { authorization: 'Bearer t' } });
      assert.equal(response.status, 201);
    }
    const response = await app.request('/hashed/rocky9/x86_64/repodata/repomd.xml');
    assert.equal(response.status, 200);
    return { repomd: await response.text(), logs };
  }

  it('lists the sqlite databases when the metadata is within the bound', async () => {
    const { repomd, logs } = await hashedRepomd(undefined);
    assert.equal((repomd.match(/type="(primary|filelists|other)_db"/g) ?? []).length, 3);
    assert.ok(!logs.some((m) => m.startsWith('sqlite databases left out')));
    const within = await hashedRepomd(String(64 * 1024 * 1024));
    assert.equal((within.repomd.match(/_db"/g) ?? []).length, 3);
  });

  it('leaves them out, and says so, when the metadata is larger', async () => {
    const { repomd, logs } = await hashedRepomd('1024');
    assert.match(repomd, /type="primary"/, 'the XML metadata is still there');
    assert.doesNotMatch(repomd, /_db"/);
    assert.ok(logs.some((m) => m.startsWith('sqlite databases left out')));
  });
});
