/**
 * Compose documents of RPM distributions through the API of a running server: comps, modules and
 * updateinfo each make a revision, are listed in repomd.xml of every variant with the records
 * createrepo_c -g and modifyrepo_c write, stay with pinned revisions, come back with a rollback,
 * and bad documents are refused with the revision unchanged.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { TEST_MODULES as MODULES } from '../helpers/compose-documents.ts';
import { corpusFile, needsCorpus } from '../helpers/corpus.ts';
import { buildRpms } from '../helpers/rpmbuild.ts';
import { hasCommand, run } from '../helpers/run.ts';
import { type RunningServer, startServer, uploadFile } from '../helpers/server.ts';

const DIST = 'rocky9';
const sha256 = (bytes: Uint8Array | string) => createHash('sha256').update(bytes).digest('hex');

const COMPS = `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE comps PUBLIC "-//Red Hat, Inc.//DTD Comps info//EN" "comps.dtd">
<comps>
  <group>
    <id>repod-tools</id>
    <name>Repod tools</name>
    <name xml:lang="de">Repod-Werkzeuge</name>
    <description>Tools &amp; things</description>
    <default>true</default>
    <uservisible>true</uservisible>
    <packagelist>
      <packagereq type="mandatory">tool-a</packagereq>
      <packagereq type="default">tool-b</packagereq>
      <packagereq type="optional">tool-missing</packagereq>
    </packagelist>
  </group>
</comps>
`;

const advisory = (id: string, type: string, name: string, version: string) => `  <update from="security@example.com" status="final" type="${type}" version="1">
    <id>${id}</id>
    <title>${name} ${version}</title>
    <issued date="2024-01-01 00:00:00"/>
    <updated date="2024-01-01 00:00:00"/>
    <severity>Important</severity>
    <description>${name} ${version} fixes things</description>
    <references>
      <reference href="https://example.com/${id}" id="${id}" type="self" title="${id}"/>
    </references>
    <pkglist>
      <collection short="repod">
        <name>repod</name>
        <package name="${name}" version="${version}" release="1" epoch="0" arch="noarch" src="${name}-${version}-1.src.rpm">
          <filename>${name}-${version}-1.noarch.rpm</filename>
        </package>
        <package name="not-here" version="9" release="1" epoch="0" arch="noarch" src="not-here-9-1.src.rpm">
          <filename>not-here-9-1.noarch.rpm</filename>
        </package>
      </collection>
    </pkglist>
  </update>
`;
const UPDATEINFO = `<?xml version="1.0" encoding="UTF-8"?>\n<updates>\n${advisory('REPOD-2024:1', 'security', 'tool-a', '1.0')}</updates>\n`;

describe('compose documents API (comps, modules, updateinfo)', () => {
  let server: RunningServer;
  let rpms: string[];
  const api = (path: string) => `${server.url}/api/v1/distributions/${DIST}${path}`;
  const auth = () => ({ authorization: `Bearer ${server.adminToken}` });
  const send = async (method: string, path: string, body?: string | Uint8Array, type = 'application/xml') => {
    const r = await fetch(api(path), { method, headers: { ...auth(), 'content-type': type }, body: body as BodyInit | undefined });
    return { status: r.status, body: (await r.json()) as any };
  };
  const current = async () => ((await (await fetch(api('/revisions?limit=1'), { headers: auth() })).json()) as any).revisions[0];
  const repomd = async (base: string) => {
    const r = await fetch(`${base}/repodata/repomd.xml`);
    assert.equal(r.status, 200);
    return r.text();
  };
  const record = (xml: string, type: string) => {
    const m = new RegExp(`<data type="${type}">([\\s\\S]*?)</data>`).exec(xml);
    if (!m) return null;
    const field = (name: string) => new RegExp(`<${name}[^>]*>([^<]*)</${name}>`).exec(m[1])?.[1];
    return {
      block: m[0],
      href: /href="([^"]+)"/.exec(m[1])![1],
      checksum: field('checksum')!,
      openChecksum: field('open-checksum'),
      size: Number(field('size')),
      openSize: field('open-size') ? Number(field('open-size')) : undefined,
    };
  };

  before(async () => {
    const out = await mkdtemp(join(tmpdir(), 'repod-compose-api-'));
    rpms = await buildRpms(
      [
        { name: 'tool-a', version: '1.0', arch: 'noarch', files: [{ path: '/usr/share/tool-a/a' }], sourceDateEpoch: 1700000000 },
        { name: 'tool-b', version: '1.0', arch: 'noarch', files: [{ path: '/usr/share/tool-b/b' }], sourceDateEpoch: 1700000000 },
      ],
      out,
    );
    server = await startServer();
    for (const file of rpms) assert.equal((await uploadFile(server, DIST, file)).status, 201);
  });
  after(async () => {
    await server?.stop();
  });

  it('PUT comps publishes a revision with group and group_gz, and warns about packages the distribution lacks', async () => {
    const before = await current();
    const { status, body } = await send('PUT', '/comps', COMPS);
    assert.equal(status, 201, JSON.stringify(body));
    assert.equal(body.revision.number, before.number + 1);
    assert.equal(body.groups, 1);
    assert.equal(body.warnings.length, 1);
    assert.match(body.warnings[0], /tool-missing/);
    assert.doesNotMatch(body.warnings[0], /tool-a/);

    const xml = await repomd(`${server.url}/repos/${DIST}/x86_64`);
    const group = record(xml, 'group')!;
    const groupGz = record(xml, 'group_gz')!;
    assert.equal(group.checksum, sha256(COMPS));
    assert.equal(group.size, Buffer.byteLength(COMPS));
    assert.equal(groupGz.openChecksum, sha256(COMPS));
    const served = new Uint8Array(await (await fetch(`${server.url}/repos/${DIST}/x86_64/${group.href}`)).arrayBuffer());
    assert.equal(Buffer.from(served).toString(), COMPS, 'comps.xml is served as uploaded');
    const gz = new Uint8Array(await (await fetch(`${server.url}/repos/${DIST}/x86_64/${groupGz.href}`)).arrayBuffer());
    assert.equal(sha256(gz), groupGz.checksum);
    assert.equal(gunzipSync(gz).toString(), COMPS);
    // The API answers the document too, and the same PUT again changes nothing.
    assert.equal(await (await fetch(api('/comps'), { headers: auth() })).text(), COMPS);
    const again = await send('PUT', '/comps', COMPS);
    assert.equal(again.status, 200);
    assert.equal(again.body.status, 'unchanged');
  });

  it('PUT modules and POST updateinfo list modules and updateinfo; advisories keep only packages present', async () => {
    const m = await send('PUT', '/modules', MODULES, 'application/yaml');
    assert.equal(m.status, 201, JSON.stringify(m.body));
    assert.deepEqual(m.body.streams, ['repodmod:stable:20240101000000:c0ffee42:noarch']);
    const u = await send('POST', '/updateinfo', UPDATEINFO);
    assert.equal(u.status, 201, JSON.stringify(u.body));
    // JSON adds a second advisory beside the first.
    const j = await send(
      'POST',
      '/updateinfo',
      JSON.stringify({
        updates: [
          {
            id: 'REPOD-2024:2',
            type: 'bugfix',
            title: 'tool-b 1.0',
            issued: '2024-02-01 00:00:00',
            pkglist: [{ short: 'repod', name: 'repod', packages: [{ name: 'tool-b', version: '1.0', release: '1', arch: 'noarch', filename: 'tool-b-1.0-1.noarch.rpm' }] }],
          },
        ],
      }),
      'application/json',
    );
    assert.equal(j.status, 201, JSON.stringify(j.body));
    const list = (await (await fetch(api('/updateinfo'), { headers: auth() })).json()) as any;
    assert.deepEqual(list.advisories, ['REPOD-2024:1', 'REPOD-2024:2']);

    for (const base of [`${server.url}/repos/${DIST}/x86_64`, `${server.url}/hashed/${DIST}/x86_64`, `${server.url}/repos/${DIST}/noarch`]) {
      const xml = await repomd(base);
      for (const type of ['group', 'group_gz', 'modules', 'updateinfo']) assert.ok(record(xml, type), `${base} lists ${type}`);
      const modules = record(xml, 'modules')!;
      assert.equal(modules.openChecksum, sha256(MODULES));
      const gz = new Uint8Array(await (await fetch(`${base}/${modules.href}`)).arrayBuffer());
      assert.equal(gunzipSync(gz).toString(), MODULES);
      const ui = record(xml, 'updateinfo')!;
      const text = gunzipSync(new Uint8Array(await (await fetch(`${base}/${ui.href}`)).arrayBuffer())).toString();
      assert.equal(sha256(text), ui.openChecksum);
      assert.match(text, /<id>REPOD-2024:1<\/id>/);
      assert.match(text, /<id>REPOD-2024:2<\/id>/);
      assert.match(text, /name="tool-a"/);
      assert.doesNotMatch(text, /not-here/, 'packages the revision lacks are left out');
    }
    // The src view shows no package of the advisories: none of them is listed there.
    const src = record(await repomd(`${server.url}/repos/${DIST}/src`), 'updateinfo')!;
    const srcText = gunzipSync(new Uint8Array(await (await fetch(`${server.url}/repos/${DIST}/src/${src.href}`)).arrayBuffer())).toString();
    assert.doesNotMatch(srcText, /<update /);
  });

  it('a pinned revision keeps its documents after a later change; a rollback brings them back', async () => {
    const pinned = await current();
    const pinnedBase = `${server.url}/revisions/${DIST}/${pinned.id}/x86_64`;
    const before = await repomd(pinnedBase);
    const comps2 = COMPS.replace('Repod tools', 'Repod tools 2');
    assert.equal((await send('PUT', '/comps', comps2)).status, 201);
    assert.equal((await send('DELETE', '/updateinfo/REPOD-2024:1')).status, 200);
    assert.equal((await send('DELETE', '/modules')).status, 200);
    assert.equal(await repomd(pinnedBase), before, 'the pinned revision renders as before');
    assert.equal(record(before, 'group')!.checksum, sha256(COMPS));
    const now = await repomd(`${server.url}/repos/${DIST}/x86_64`);
    assert.equal(record(now, 'group')!.checksum, sha256(comps2));
    assert.equal(record(now, 'modules'), null);
    const pinnedComps = await (await fetch(api(`/comps?revision=${pinned.id}`), { headers: auth() })).text();
    assert.equal(pinnedComps, COMPS);

    const rolled = await fetch(api('/rollback'), { method: 'POST', headers: { ...auth(), 'content-type': 'application/json' }, body: JSON.stringify({ revision: pinned.id }) });
    assert.equal(rolled.status, 201);
    const after = await repomd(`${server.url}/repos/${DIST}/x86_64`);
    for (const type of ['group', 'group_gz', 'modules', 'updateinfo']) assert.equal(record(after, type)!.checksum, record(before, type)!.checksum, `${type} comes back`);
  });

  it('refuses malformed documents with a 4xx naming the problem, the revision unchanged', async () => {
    const before = await current();
    const cases: Array<[string, string, string, string, RegExp]> = [
      ['PUT', '/comps', '<comps><group><name>x</name></group></comps>', 'invalid_comps', /no <id>/],
      ['PUT', '/comps', '<comps><group><id>x</id></comps>', 'invalid_comps', /not well-formed/],
      ['PUT', '/comps', '<groups/>', 'invalid_comps', /<comps>/],
      ['PUT', '/modules', 'document: modulemd\nversion: 2\ndata:\n  name: x\n', 'invalid_modulemd', /stream/],
      ['PUT', '/modules', 'document: modulemd\nversion: 2\ndata: [1, 2\n', 'invalid_modulemd', /not valid YAML/],
      ['PUT', '/modules', 'document: modulemd-packager\nversion: 3\ndata: {}\n', 'invalid_modulemd', /unknown document type/],
      ['PUT', '/modules', MODULES.replace('modpkg-0:1.0-1.module_r1.noarch', 'garbage'), 'invalid_modulemd', /artifact/],
      ['POST', '/updateinfo', '<updates><update type="security"><title>x</title></update></updates>', 'invalid_updateinfo', /<id>/],
      ['POST', '/updateinfo', '<updates><update><id>A-1</id></update></updates>', 'invalid_updateinfo', /type attribute/],
      [
        'POST',
        '/updateinfo',
        '<updates><update type="bugfix"><id>A-1</id><pkglist><collection><package name="x"/></collection></pkglist></update></updates>',
        'invalid_updateinfo',
        /version/,
      ],
      ['POST', '/updateinfo', '{"id": "A-1"', 'invalid_updateinfo', /JSON/],
      ['POST', '/updateinfo', '<updates><update type="bugfix"><id>A-1</id></update><update type="bugfix"><id>A-1</id></update></updates>', 'invalid_updateinfo', /twice/],
    ];
    for (const [method, path, body, code, message] of cases) {
      const r = await send(method, path, body);
      assert.equal(r.status, 400, `${path} ${body}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.error, code, JSON.stringify(r.body));
      assert.match(r.body.message, message);
    }
    const missing = await send('DELETE', '/updateinfo/NO-SUCH');
    assert.equal(missing.status, 404);
    const apt = await fetch(`${server.url}/api/v1/distributions/bookworm/comps`, { method: 'PUT', headers: auth(), body: COMPS });
    assert.equal(apt.status, 400);
    const anonymous = await fetch(api('/comps'), { method: 'PUT', body: COMPS });
    assert.equal(anonymous.status, 401);
    assert.equal((await current()).id, before.id, 'no revision was made');
  });

  it('accepts the corpus documents (Fedora 19 comps, Pulp comps, modules and updateinfo)', { skip: needsCorpus() }, async () => {
    for (const name of ['Fedora-19-comps.xml', 'pulp-fixtures-comps.xml']) {
      const bytes = await readFile(corpusFile(name));
      const r = await send('PUT', '/comps', bytes);
      assert.equal(r.status, 201, `${name}: ${JSON.stringify(r.body).slice(0, 300)}`);
      assert.ok(r.body.warnings.length === 1, `${name} names packages rocky9 lacks`);
      const rec = record(await repomd(`${server.url}/repos/${DIST}/x86_64`), 'group')!;
      assert.equal(rec.checksum, sha256(bytes));
    }
    const modules = await readFile(corpusFile('pulp-fixtures-modularity-modules.yaml'));
    const m = await send('PUT', '/modules', modules, 'application/yaml');
    assert.equal(m.status, 201, JSON.stringify(m.body));
    assert.equal(m.body.count, 21);
    for (const name of ['pulp-fixtures-updateinfo.xml', 'pulp-fixtures-modular-updateinfo.xml']) {
      const r = await send('POST', '/updateinfo', await readFile(corpusFile(name)));
      assert.equal(r.status, 201, `${name}: ${JSON.stringify(r.body)}`);
    }
    const xml = await repomd(`${server.url}/repos/${DIST}/x86_64`);
    assert.equal(record(xml, 'modules')!.openChecksum, sha256(modules));
    // None of the corpus advisories' packages is in rocky9: they are left out, the file stays valid.
    const ui = record(xml, 'updateinfo')!;
    const text = gunzipSync(new Uint8Array(await (await fetch(`${server.url}/repos/${DIST}/x86_64/${ui.href}`)).arrayBuffer())).toString();
    assert.doesNotMatch(text, /RHEA-2012:0055/);
    assert.match(text, /REPOD-2024:2/);
  });

  it('repomd records match createrepo_c -g and modifyrepo_c on the same documents', {
    skip: hasCommand('createrepo_c') && hasCommand('modifyrepo_c') ? false : 'createrepo_c/modifyrepo_c missing',
  }, async () => {
    // 201 after the corpus test replaced them, 200 (unchanged) when it was skipped: either way these are the documents now.
    for (const r of [await send('PUT', '/comps', COMPS), await send('PUT', '/modules', MODULES, 'application/yaml')]) {
      assert.ok(r.status === 201 || (r.status === 200 && r.body.status === 'unchanged'), JSON.stringify(r.body));
    }
    const base = `${server.url}/repos/${DIST}/x86_64`;
    const ours = await repomd(base);
    const uiRecord = record(ours, 'updateinfo')!;
    const updateinfo = gunzipSync(new Uint8Array(await (await fetch(`${base}/${uiRecord.href}`)).arrayBuffer()));

    const dir = await mkdtemp(join(tmpdir(), 'repod-compose-ref-'));
    try {
      await mkdir(join(dir, 'repo'));
      for (const file of rpms) await copyFile(file, join(dir, 'repo', file.slice(file.lastIndexOf('/') + 1)));
      await writeFile(join(dir, 'comps.xml'), COMPS);
      await writeFile(join(dir, 'modules.yaml'), MODULES);
      await writeFile(join(dir, 'updateinfo.xml'), updateinfo);
      await run('createrepo_c', ['--no-database', '-g', join(dir, 'comps.xml'), join(dir, 'repo')], { timeoutMs: 60_000 });
      await run('modifyrepo_c', ['--mdtype=modules', join(dir, 'modules.yaml'), join(dir, 'repo/repodata')], { timeoutMs: 60_000 });
      await run('modifyrepo_c', ['--mdtype=updateinfo', join(dir, 'updateinfo.xml'), join(dir, 'repo/repodata')], { timeoutMs: 60_000 });
      const theirs = await readFile(join(dir, 'repo/repodata/repomd.xml'), 'utf8');
      // Same layout of each record, with hashes, sizes and times as placeholders...
      const shape = (block: string) => block.replace(/[0-9a-f]{64}/g, 'H').replace(/>\d+</g, '>N<');
      for (const type of ['group', 'group_gz', 'modules', 'updateinfo']) {
        const a = record(ours, type)!;
        const b = record(theirs, type)!;
        assert.equal(shape(a.block), shape(b.block), `${type} record`);
        // ...and the same content.
        assert.equal(a.openChecksum ?? a.checksum, b.openChecksum ?? b.checksum, `${type} content`);
        assert.equal(a.openSize ?? a.size, b.openSize ?? b.size, `${type} size`);
      }
      assert.equal(record(ours, 'group')!.checksum, record(theirs, 'group')!.checksum, 'comps.xml byte for byte');
      // The records sit in the same order as createrepo_c's.
      const order = (xml: string) => [...xml.matchAll(/<data type="([^"]+)">/g)].map((m) => m[1]).filter((t) => !t.endsWith('_db'));
      assert.deepEqual(order(ours), order(theirs));
      assert.ok((await readdir(join(dir, 'repo/repodata'))).some((f) => f.endsWith('-comps.xml')));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
