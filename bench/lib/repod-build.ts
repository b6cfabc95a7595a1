/**
 * Child process of the benchmark: the repod side of "initial build". Opens a fresh file store,
 * stages every package of a directory (bounded concurrency), publishes them as one revision with
 * publishBatch, then GETs repomd.xml and primary/filelists/other through app.request() so the
 * metadata is rendered and servable. Prints one JSON line (timings in ms, peak RSS) on stdout.
 *
 *   node --import tsx bench/lib/repod-build.ts <packages dir> <store dir> <concurrency>
 */
import { createReadStream } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { createApp } from '../../src/http/app.ts';
import { type StagedPackage, stagePackage } from '../../src/ingest/stage.ts';
import { publishBatch } from '../../src/revisions/publish.ts';
import { buildNodeCore } from '../../src/runtime/node-core.ts';
import { ADMIN_TOKEN, ARCH, DIST } from './common.ts';
import { procStatus } from './proc.ts';

const [dir, storeDir, concurrencyArg] = process.argv.slice(2);
if (!dir || !storeDir) throw new Error('usage: repod-build.ts <packages dir> <store dir> [concurrency]');
const concurrency = Number(concurrencyArg ?? 8);

const t0 = performance.now();
const { core } = await buildNodeCore({ REPOD_STORAGE: `file:${storeDir}`, REPOD_ADMIN_TOKEN: ADMIN_TOKEN }, () => undefined);
const app = createApp(core);
const setupMs = performance.now() - t0;

const files = (await readdir(dir)).filter((f) => f.endsWith('.rpm')).sort();

// 1. stage: stream every file into the store and parse its header
const tStage = performance.now();
const staged: StagedPackage[] = new Array(files.length);
let next = 0;
await Promise.all(
  Array.from({ length: Math.min(concurrency, files.length) }, async () => {
    while (next < files.length) {
      const i = next++;
      const body = Readable.toWeb(createReadStream(join(dir, files[i]), { highWaterMark: 256 * 1024 })) as ReadableStream<Uint8Array>;
      staged[i] = await stagePackage(core.caps, body, { maxBytes: core.settings.maxUploadBytes });
    }
  }),
);
const stageMs = performance.now() - tStage;

// 2. publish: one revision holding every package
const tPublish = performance.now();
const result = await publishBatch(core, DIST, staged, { author: 'bench' });
const publishMs = performance.now() - tPublish;
if (result.status !== 'published' || result.packages.length !== files.length) throw new Error(`publishBatch: ${result.status}, ${result.packages.length} packages`);

// 3. first repomd.xml (renders the revision) and the three metadata files, read to the last byte
const base = `/repos/${DIST}/${ARCH}/repodata/`;
const tRender = performance.now();
const repomdResponse = await app.request(`${base}repomd.xml`);
if (repomdResponse.status !== 200) throw new Error(`repomd.xml: ${repomdResponse.status}`);
const repomd = await repomdResponse.text();
const repomdMs = performance.now() - tRender;
const hrefs = [...repomd.matchAll(/href="repodata\/([^"]+)"/g)].map((m) => m[1]);
const sizes: Record<string, number> = {};
let primaryGz: Uint8Array | null = null;
for (const name of hrefs) {
  const response = await app.request(`${base}${name}`);
  if (response.status !== 200) throw new Error(`${name}: ${response.status}`);
  const bytes = new Uint8Array(await response.arrayBuffer());
  sizes[name.replace(/^[0-9a-f]{64}-/, '').replace(/\.xml\.gz$/, '')] = bytes.length;
  if (name.endsWith('-primary.xml.gz')) primaryGz = bytes;
}
const serveMs = performance.now() - tRender;

// Checked after timing: the primary lists every package.
const head = gunzipSync(primaryGz!).subarray(0, 400).toString();
const count = Number(/packages="(\d+)"/.exec(head)?.[1]);
if (count !== files.length) throw new Error(`primary.xml lists ${count} packages, expected ${files.length}`);

const status = await procStatus(process.pid);
process.stdout.write(
  JSON.stringify({
    packages: files.length,
    concurrency,
    setupMs,
    stageMs,
    publishMs,
    repomdMs,
    serveMs,
    totalMs: stageMs + publishMs + serveMs,
    metadataBytes: sizes,
    peakRssKiB: status?.VmHWM ?? null,
  }) + '\n',
);
