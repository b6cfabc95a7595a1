/**
 * Child process of the APT benchmark: fills a fresh file store with one APT distribution
 * (bookworm, component main) as one revision, then GETs InRelease and main/binary-amd64/Packages.gz
 * through app.request() so the revision is rendered once. Prints one JSON line on stdout.
 *
 *   node --import tsx bench/lib/apt-build.ts debs <.deb dir> <store dir> <concurrency>
 *       stages every .deb (stagePackage) and publishes them with one publishBatch, as uploads do;
 *   node --import tsx bench/lib/apt-build.ts debian <Packages file (.lz4, .gz or plain)> <store dir> [limit]
 *       index entries straight from the stanzas of a real Packages file (no .deb files: the stanza
 *       is the Packages text, Contents empty, id = the stanza's SHA256), one Repository.publish.
 */
import { execFile } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import type { EntryWithSegments } from '../../src/bucket/chunk.ts';
import { createApp } from '../../src/http/app.ts';
import { APT_STREAMS, aptKey } from '../../src/ingest/apt-entry.ts';
import { type StagedPackage, stagePackage } from '../../src/ingest/stage.ts';
import { publishBatch } from '../../src/revisions/publish.ts';
import { buildNodeCore } from '../../src/runtime/node-core.ts';
import { APT_DIST, type AptFillResult, APT_COMPONENT as COMPONENT, countStanzas, fetchPath, releaseFiles } from './apt-common.ts';
import { ADMIN_TOKEN } from './common.ts';
import { procStatus } from './proc.ts';

async function readPackagesText(file: string): Promise<Buffer> {
  if (file.endsWith('.lz4')) {
    const { stdout } = await promisify(execFile)('lz4', ['-dc', file], { encoding: 'buffer', maxBuffer: 1024 * 1024 * 1024 });
    return stdout;
  }
  const bytes = await readFile(file);
  return file.endsWith('.gz') ? gunzipSync(bytes) : bytes;
}

/** Entries from a Packages text: one per stanza, sorted and de-duplicated by key. */
function debianEntries(text: string, limit: number): { entries: EntryWithSegments[]; duplicates: number } {
  const encoder = new TextEncoder();
  const empty = new Uint8Array(0);
  const byKey = new Map<string, EntryWithSegments>();
  let duplicates = 0;
  for (const raw of text.split(/\n\n+/)) {
    if (limit > 0 && byKey.size >= limit) break;
    const stanza = raw.trim();
    if (stanza === '') continue;
    const field = (name: string) => new RegExp(`^${name}:[ \\t]*(.*)$`, 'm').exec(stanza)?.[1].trim();
    const name = field('Package');
    const arch = field('Architecture');
    const version = field('Version');
    const sha256 = field('SHA256');
    const file = field('Filename');
    if (!name || !arch || !version || !file || !sha256 || !/^[0-9a-f]{64}$/.test(sha256))
      throw new Error(`stanza without Package/Architecture/Version/Filename/SHA256:\n${stanza.slice(0, 300)}`);
    const key = aptKey(COMPONENT, name, arch, version);
    if (byKey.has(key)) {
      duplicates++;
      continue;
    }
    const bytes = encoder.encode(`${stanza}\n\n`);
    const segments = [bytes, bytes, empty];
    byKey.set(key, {
      entry: { key, id: sha256, arch, file, label: `${name}_${version}_${arch}`, component: COMPONENT, rawLengths: segments.map((s) => s.length) },
      segments,
    });
  }
  return { entries: [...byKey.values()], duplicates };
}

const [mode, source, storeDir, concurrencyArg] = process.argv.slice(2);
if ((mode !== 'debs' && mode !== 'debian') || !source || !storeDir) throw new Error('usage: apt-build.ts debs|debian <source> <store dir> [concurrency | stanza limit]');

const { core } = await buildNodeCore({ REPOD_STORAGE: `file:${storeDir}`, REPOD_ADMIN_TOKEN: ADMIN_TOKEN }, () => undefined);
const app = createApp(core);

let packages = 0;
let duplicates = 0;
const tPrepare = performance.now();
let publish: () => Promise<void>;
if (mode === 'debs') {
  const concurrency = Number(concurrencyArg ?? 8);
  const files = (await readdir(source)).filter((f) => f.endsWith('.deb')).sort();
  const staged: StagedPackage[] = new Array(files.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, files.length) }, async () => {
      while (next < files.length) {
        const i = next++;
        const body = Readable.toWeb(createReadStream(join(source, files[i]), { highWaterMark: 256 * 1024 })) as ReadableStream<Uint8Array>;
        staged[i] = await stagePackage(core.caps, body, { maxBytes: core.settings.maxUploadBytes });
      }
    }),
  );
  packages = files.length;
  publish = async () => {
    const result = await publishBatch(core, APT_DIST, staged, { author: 'bench' });
    if (result.status !== 'published' || result.packages.length !== files.length) throw new Error(`publishBatch: ${result.status}, ${result.packages.length} packages`);
  };
} else {
  const parsed = debianEntries((await readPackagesText(source)).toString('utf8'), Number(concurrencyArg ?? 0));
  packages = parsed.entries.length;
  duplicates = parsed.duplicates;
  publish = async () => {
    const result = await core.repository.publish(APT_DIST, 'apt', APT_STREAMS, () => ({ add: parsed.entries, remove: [] }), {
      author: 'bench',
      message: `${packages} stanzas of ${source}`,
    });
    if (!result.changed || result.compose.added.length !== packages) throw new Error(`publish: ${result.compose.added.length} of ${packages} entries added`);
  };
}
const prepareMs = performance.now() - tPrepare;

const tPublish = performance.now();
await publish();
const publishMs = performance.now() - tPublish;

// First InRelease renders the revision; then the amd64 Packages.gz the way apt fetches it.
const base = `/repos/dists/${APT_DIST}/`;
const tRender = performance.now();
const inRelease = await app.request(`${base}InRelease`);
if (inRelease.status !== 200) throw new Error(`InRelease: ${inRelease.status}`);
const releaseText = await inRelease.text();
const inReleaseMs = performance.now() - tRender;
const entry = releaseFiles(releaseText).get(`${COMPONENT}/binary-amd64/Packages.gz`);
if (!entry) throw new Error('InRelease lists no main/binary-amd64/Packages.gz');
const tGz = performance.now();
const gzResponse = await app.request(base + fetchPath(releaseText, entry));
if (gzResponse.status !== 200) throw new Error(`Packages.gz: ${gzResponse.status}`);
const gz = new Uint8Array(await gzResponse.arrayBuffer());
const packagesGzMs = performance.now() - tGz;
if (gz.length !== entry.size) throw new Error(`Packages.gz: ${gz.length} bytes, InRelease says ${entry.size}`);
const amd64Stanzas = countStanzas(gunzipSync(gz).toString('utf8'));

const status = await procStatus(process.pid);
const result: AptFillResult = {
  mode,
  packages,
  prepareMs,
  publishMs,
  inReleaseMs,
  packagesGzMs,
  packagesGzBytes: gz.length,
  amd64Stanzas,
  totalMs: prepareMs + publishMs + inReleaseMs + packagesGzMs,
  duplicates,
  peakRssKiB: status?.VmHWM ?? null,
};
process.stdout.write(JSON.stringify(result) + '\n');
