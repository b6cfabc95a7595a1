/**
 * Writes revisions/samples/v1/bucket: a small bucket as this version of repod writes it (three
 * fixture RPMs published into rocky9, two debs into bookworm, one render of each). Run it only when adding a new format version:
 * the samples of earlier versions must stay as they are, since tests prove later readers read them.
 *   npx tsx scripts/make-format-samples.ts [<corpus dir>]
 * It needs the third-party package corpus (test/helpers/corpus.ts): the directory given, else
 * REPOD_TEST_CORPUS, else ../shared/fixtures beside the repository.
 */
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createApp } from '../src/http/app.ts';
import { stagePackage } from '../src/ingest/stage.ts';
import { publishBatch } from '../src/revisions/publish.ts';
import { buildNodeCore } from '../src/runtime/node-core.ts';
import { bytesStream } from '../src/storage/objects.ts';
import { CORPUS, CORPUS_SKIP_MESSAGE } from '../test/helpers/corpus.ts';

const NEEDED = ['hello-2.0-1.x86_64.rpm', 'animaniacs-0.1-1.noarch.rpm', 'hello-1.0-1.src.rpm', 'hello_2.10-3_amd64.deb', 'cowsay_3.03+dfsg2-8_all.deb'];
const fixtures = process.argv[2] ? resolve(process.argv[2]) : CORPUS;
const missing = fixtures === null ? NEEDED : NEEDED.filter((name) => !existsSync(join(fixtures, name)));
if (fixtures === null || missing.length > 0) {
  console.error(
    `make-format-samples: the samples are made from the third-party package corpus, ${fixtures === null ? 'which is absent' : `and ${fixtures} lacks ${missing.join(', ')}`}.`,
  );
  console.error(`Pass its directory as the argument or ${CORPUS_SKIP_MESSAGE.replace(/^corpus tests skipped: /, '')}.`);
  process.exit(1);
}
const dir = await mkdtemp(join(tmpdir(), 'repod-samples-'));
const { core } = await buildNodeCore({ REPOD_STORAGE: `file:${dir}`, REPOD_ADMIN_TOKEN: 'sample' }, () => undefined);
for (const name of ['hello-2.0-1.x86_64.rpm', 'animaniacs-0.1-1.noarch.rpm']) {
  const staged = await stagePackage(core.caps, bytesStream(await readFile(join(fixtures, name))), { maxBytes: 1 << 30 });
  await publishBatch(core, 'rocky9', [staged], { author: 'sample', message: `upload ${name}` });
}
const staged = await stagePackage(core.caps, bytesStream(await readFile(join(fixtures, 'hello-1.0-1.src.rpm'))), { maxBytes: 1 << 30 });
await publishBatch(core, 'rocky9', [staged], { author: 'sample', message: 'upload a source package' });
for (const name of ['hello_2.10-3_amd64.deb', 'cowsay_3.03+dfsg2-8_all.deb']) {
  const deb = await stagePackage(core.caps, bytesStream(await readFile(join(fixtures, name))), { maxBytes: 1 << 30 });
  await publishBatch(core, 'bookworm', [deb], { author: 'sample', message: `upload ${name}` });
}
await (await createApp(core).request('/repos/rocky9/x86_64/repodata/repomd.xml')).text();
await (await createApp(core).request('/repos/dists/bookworm/InRelease')).text();
await core.tokens.issue({ subject: 'sample', role: 'uploader' });

const out = resolve('revisions/samples/v1/bucket');
await rm(out, { recursive: true, force: true });
await mkdir(out, { recursive: true });
for (const part of ['pool', 'packages', 'fragments', 'chunks', 'dists', 'renders', 'auth', 'apt-pool']) await cp(join(dir, part), join(out, part), { recursive: true });
await rm(dir, { recursive: true, force: true });
console.log(`wrote ${out}`);
