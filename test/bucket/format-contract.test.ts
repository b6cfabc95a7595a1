/**
 * The storage format contract (revisions/): every stored object of the v1 sample bucket matches
 * its JSON Schema, and this version of repod reads, serves and builds on that bucket.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cp, mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { before, describe, it } from 'node:test';
import Ajv2020Module from 'ajv/dist/2020.js';
import { decodeChunk } from '../../src/bucket/chunk.ts';
import { layout } from '../../src/bucket/layout.ts';
import type { RenderManifest } from '../../src/bucket/render-manifest.ts';
import type { Ref, Revision } from '../../src/bucket/revision.ts';
import { decodeSegmented } from '../../src/bucket/segmented.ts';
import type { RpmDistribution } from '../../src/config/distributions.ts';
import type { Core } from '../../src/core/core.ts';
import { XzDecoder } from '../../src/formats/xz/decoder.ts';
import { createApp } from '../../src/http/app.ts';
import { stagePackage } from '../../src/ingest/stage.ts';
import { renderRpmView } from '../../src/render/rpm-view.ts';
import { summary } from '../../src/revisions/history.ts';
import { publishBatch } from '../../src/revisions/publish.ts';
import { buildNodeCore } from '../../src/runtime/node-core.ts';
import { bytesStream } from '../../src/storage/objects.ts';
import { selfBuilt } from '../helpers/packages.ts';
import { REPO_ROOT } from '../helpers/paths.ts';

// ajv ships CommonJS: under NodeNext the class is the default export's `default`.
const Ajv2020 = Ajv2020Module.default;
const SAMPLES = join(REPO_ROOT, 'revisions/samples/v1/bucket');
const SCHEMAS = join(REPO_ROOT, 'revisions/schemas');
/** The sha256 of the packages the samples were made from (rpm's and Debian's hello, from the corpus). */
const HELLO_RPM_SHA256 = 'e05a5191e214b1f05ae2448ebe493e55c6313ab68eaf040b83baa80e25f15d54';
const HELLO_DEB_SHA256 = '2e6e2f1a0007dc43bc91c273fd36e91e40a4f1c2765a03eca68b70a42103878a';
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** The one stored render of a view (its file name carries the signing key set). */
async function storedRender(dir: string, viewDir: string, view: string): Promise<RenderManifest> {
  const name = (await readdir(join(dir, viewDir))).find((f) => f.startsWith(`${view}@`) && f.endsWith('.json'));
  assert.ok(name, `a stored render of ${viewDir}/${view}`);
  return JSON.parse(await readFile(join(dir, viewDir, name), 'utf8')) as RenderManifest;
}

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await walk(path)));
    else out.push(path);
  }
  return out;
}

const SCHEMA_FOR: Array<[RegExp, string]> = [
  [/^dists\/[^/]+\/refs\/[^/]+\.json$/, 'ref'],
  [/^dists\/[^/]+\/revisions\/[^/]+\.json$/, 'revision'],
  [/^packages\/[0-9a-f]{2}\/[0-9a-f]{64}\.json$/, 'package-record'],
  [/^packages\/[0-9a-f]{2}\/[0-9a-f]{64}\.signature\.json$/, 'package-signature'],
  [/^renders\/[^/]+\/by-hash\/[0-9a-f]{2}\/[0-9a-f]{64}\.json$/, 'by-hash'],
  [/^renders\/[^/]+\/[^/]+\/.+\.json$/, 'render'],
  [/^auth\/tokens\/[0-9a-f]{64}\.json$/, 'token'],
  [/^apt-pool\/pool\/.+\.json$/, 'apt-pool'],
];

describe('storage format v1', () => {
  let ajv: InstanceType<typeof Ajv2020>;
  let files: string[];
  let core: Core;
  let dir: string;

  before(async () => {
    ajv = new Ajv2020({ strict: false, validateFormats: false });
    for (const name of await readdir(SCHEMAS)) ajv.addSchema(JSON.parse(await readFile(join(SCHEMAS, name), 'utf8')), name);
    dir = await mkdtemp(join(tmpdir(), 'repod-format-'));
    await cp(SAMPLES, dir, { recursive: true });
    files = (await walk(dir)).map((f) => relative(dir, f));
    ({ core } = await buildNodeCore({ REPOD_STORAGE: `file:${dir}`, REPOD_ADMIN_TOKEN: 't' }, () => undefined));
  });

  it('every JSON object matches its schema', async () => {
    let checked = 0;
    for (const file of files.filter((f) => f.endsWith('.json'))) {
      const schema = SCHEMA_FOR.find(([re]) => re.test(file))?.[1];
      assert.ok(schema, `a schema covers ${file}`);
      const valid = ajv.validate(`${schema}.schema.json`, JSON.parse(await readFile(join(dir, file), 'utf8')));
      assert.ok(valid, `${file}: ${ajv.errorsText()}`);
      checked++;
    }
    assert.ok(checked >= 10);
  });

  it('a grouped revision (group commit) keeps each change as a part, and matches the schema without it too', async () => {
    const grouped = JSON.parse(await readFile(join(REPO_ROOT, 'revisions/samples/v1/group-commit/revision.json'), 'utf8')) as Revision;
    assert.ok(ajv.validate('revision.schema.json', grouped), ajv.errorsText());
    // A reader that predates parts sees a whole revision: the sums are its author, message and changes.
    const { parts, ...older } = grouped;
    assert.ok(ajv.validate('revision.schema.json', older), ajv.errorsText());
    assert.deepEqual(
      parts?.map((p) => p.author),
      ['ci-builder', 'alice'],
    );
    assert.deepEqual(summary(grouped).parts, [
      { author: 'ci-builder', message: 'upload hello-doc-2.1-1.noarch', added: 1, removed: 0 },
      { author: 'alice', message: 'remove animaniacs', added: 0, removed: 1 },
    ]);
  });

  it('segmented objects have valid headers; chunk groups are gzip members of package elements', async () => {
    const { gunzipSync } = await import('node:zlib');
    for (const file of files.filter((f) => f.endsWith('.seg'))) {
      const bytes = new Uint8Array(await readFile(join(dir, file)));
      const { header } = decodeSegmented<unknown>(bytes);
      const part = /\.(xz|provides)\.seg$/.exec(file)?.[1];
      const schema = part ? `${part}-part-header` : file.startsWith('chunks/') ? 'chunk-header' : 'fragment-header';
      assert.ok(ajv.validate(`${schema}.schema.json`, header), `${file}: ${ajv.errorsText()}`);
      if (part) continue;
      if (file.startsWith('chunks/')) {
        assert.equal(createHash('sha256').update(bytes).digest('hex'), file.slice(-68, -4), 'a chunk is named by its sha256');
        const index = decodeChunk(bytes);
        const items = index.withSegments(bytes, (d) => new Uint8Array(gunzipSync(d)));
        for (const item of items) {
          for (let s = 0; s < index.streams.length; s++) {
            const text = new TextDecoder().decode(item.segments[s]);
            if (index.streams[s].name === 'contents.gz') assert.match(text, /^\S+\s+\S+\/\S+\n/);
            else assert.match(text, item.entry.component ? /^Package: / : /^<package/);
            assert.equal(item.segments[s].length, item.entry.rawLengths[s]);
          }
        }
        for (const g of index.groups) assert.ok(g.length > 0 && g.rawLength > 0);
      }
    }
  });

  it('serves the stored render and every file it names, byte for byte', async () => {
    const app = createApp(core);
    const ref = JSON.parse(await readFile(join(dir, 'dists/rocky9/refs/current.json'), 'utf8')) as Ref;
    const render = await storedRender(dir, `renders/rocky9/${ref.revision}/rpm`, 'x86_64');
    assert.equal(await (await app.request('/repos/rocky9/x86_64/repodata/repomd.xml')).text(), render.documents['repodata/repomd.xml']);
    for (const file of render.files) {
      const body = new Uint8Array(await (await app.request(`/repos/rocky9/x86_64/${file.path}`)).arrayBuffer());
      assert.equal(createHash('sha256').update(body).digest('hex'), file.checksums.sha256);
    }
    const pkg = new Uint8Array(await (await app.request('/repos/rocky9/x86_64/Packages/hello-2.0-1.x86_64.rpm')).arrayBuffer());
    assert.equal(sha256(pkg), HELLO_RPM_SHA256);
    const aptRef = JSON.parse(await readFile(join(dir, 'dists/bookworm/refs/current.json'), 'utf8')) as Ref;
    const aptRender = await storedRender(dir, `renders/bookworm/${aptRef.revision}`, 'apt');
    assert.equal(await (await app.request('/repos/dists/bookworm/Release')).text(), aptRender.documents.Release);
    for (const file of aptRender.files) {
      const body = new Uint8Array(await (await app.request(`/repos/dists/bookworm/${file.path}`)).arrayBuffer());
      assert.equal(createHash('sha256').update(body).digest('hex'), file.checksums.sha256, file.path);
    }
    // Packages.xz (blocks from the chunks' xz parts) holds exactly the text of Packages.
    const served = async (path: string) => new Uint8Array(await (await app.request(`/repos/dists/bookworm/${path}`)).arrayBuffer());
    const parts: Uint8Array[] = [];
    const decoder = new XzDecoder((chunk) => parts.push(chunk.slice()));
    decoder.push(await served('main/binary-amd64/Packages.xz'));
    decoder.end();
    assert.deepEqual(Buffer.concat(parts), Buffer.from(await served('main/binary-amd64/Packages')));
    assert.ok(
      aptRender.files.some((f) => f.segments.some((s) => 'part' in s && s.part === 'xz')),
      'the render takes Packages.xz from xz parts',
    );
    const deb = new Uint8Array(await (await app.request('/repos/pool/main/h/hello/hello_2.10-3_amd64.deb')).arrayBuffer());
    assert.equal(sha256(deb), HELLO_DEB_SHA256);
  });

  it('the capabilities the dependencies step stores beside each chunk match their schema', async () => {
    const parts: string[] = [];
    for (const dist of ['rocky9', 'bookworm']) {
      const revision = await core.repository.current(dist);
      if (!revision) continue;
      const index = (await core.installedProviders(dist))[0]!;
      assert.ok(index.size > 0, `${dist}: packages indexed`);
      for (const chunk of revision.chunks) parts.push(layout.chunkPart(chunk.id, 'provides'));
    }
    assert.ok(parts.length >= 2);
    for (const key of parts) {
      const bytes = new Uint8Array(await readFile(join(dir, key)));
      const { header, bodyOffset } = decodeSegmented<{ packages: number }>(bytes);
      assert.ok(ajv.validate('provides-part-header.schema.json', header), `${key}: ${ajv.errorsText()}`);
      const { gunzipSync } = await import('node:zlib');
      assert.equal((JSON.parse(gunzipSync(bytes.subarray(bodyOffset)).toString()) as unknown[]).length, header.packages);
    }
  });

  it('renders the stored revision again to the same metadata files', async () => {
    const ref = JSON.parse(await readFile(join(dir, 'dists/rocky9/refs/current.json'), 'utf8')) as Ref;
    const revision = JSON.parse(await readFile(join(dir, `dists/rocky9/revisions/${ref.revision}.json`), 'utf8')) as Revision;
    const stored = await storedRender(dir, `renders/rocky9/${ref.revision}/rpm`, 'x86_64');
    const fresh = await renderRpmView({ ...core, signer: await core.keyring.signer() }, core.distributions.get('rocky9') as RpmDistribution, revision, 'x86_64');
    assert.deepEqual(
      fresh.files.map((f) => f.checksums.sha256),
      stored.files.map((f) => f.checksums.sha256),
    );
    assert.equal(fresh.documents['repodata/repomd.xml'], stored.documents['repodata/repomd.xml']);
  });

  it('publishes on top of a v1 revision', async () => {
    const staged = await stagePackage(core.caps, bytesStream(new Uint8Array(await readFile(await selfBuilt('Archer-3.4.5-6.x86_64.rpm')))), { maxBytes: 1 << 30 });
    const result = await publishBatch(core, 'rocky9', [staged], { author: 'test' });
    assert.equal(result.revision?.number, 4);
    const revision = (await core.repository.current('rocky9'))!;
    assert.equal(revision.packageCount, 4);
  });
});
