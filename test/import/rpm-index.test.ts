/**
 * Reading an upstream RPM repository's index (repomd.xml, its signature, primary) against real
 * createrepo_c repositories of rpmbuild packages, served on 127.0.0.1 and fetched through repod's
 * SSRF-guarded outbound client; and the readers' limits against hostile answers.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { createGzip } from 'node:zlib';
import type { HashAlgorithm } from '../../src/capabilities.ts';
import { RepodError } from '../../src/errors.ts';
import { type PrimaryReadSummary, readPrimary, readRepomd, type UpstreamFetch, type UpstreamRpmPackage, upstreamPackageUrl } from '../../src/import/rpm/index.ts';
import { parseAllowList } from '../../src/outbound/address-policy.ts';
import { OutboundClient } from '../../src/outbound/outbound-client.ts';
import { nodeOutboundTransport } from '../../src/runtime/node-outbound.ts';
import { createPackagerKey, type PackagerKey } from '../helpers/gpg.ts';
import { buildRpms, type RpmSpec } from '../helpers/rpmbuild.ts';
import { run } from '../helpers/run.ts';
import { createUpstreamRpmRepo, type UpstreamRpmRepo } from '../helpers/upstream-rpm.ts';

const SPECS: RpmSpec[] = [
  {
    name: 'hello',
    version: '1.0',
    release: '1',
    epoch: 2,
    summary: 'Says hello & waves <politely>',
    description: 'A greeting tool.\nSecond line with ünïcode.',
    url: 'https://example.com/hello',
    license: 'MIT',
    requires: ['libgreet >= 1.2-3', 'coreutils'],
    requiresPre: ['shadow-utils'],
    provides: ['greeter = 2.0', 'hello-cli'],
    conflicts: ['goodbye < 1.0'],
    obsoletes: ['hello-old <= 0.9'],
    recommends: ['hello-doc'],
    files: [{ path: '/usr/bin/hello', mode: '0755', content: '#!/bin/sh\necho hello\n' }, { path: '/etc/hello.conf', kind: 'config' }, { path: '/usr/share/hello/readme.txt' }],
    scripts: { pre: 'exit 0' },
  },
  { name: 'libgreet', version: '1.2', release: '3', arch: 'noarch', provides: ['libgreet(api) = 1'], files: [{ path: '/usr/share/libgreet/data' }] },
];

const outbound = new OutboundClient(nodeOutboundTransport, { allow: parseAllowList('127.0.0.1') });
const guarded: UpstreamFetch = (url) => outbound.fetch(url);
const nodeHash = (algorithm: HashAlgorithm) => {
  const hash = createHash(algorithm);
  return { update: (data: Uint8Array) => void hash.update(data), digest: async () => hash.digest('hex') };
};

let work: string;
let built: string[];
let otherKey: PackagerKey;
const repos: UpstreamRpmRepo[] = [];

async function collect(iterable: AsyncGenerator<UpstreamRpmPackage, PrimaryReadSummary>): Promise<{ packages: UpstreamRpmPackage[]; summary: PrimaryReadSummary }> {
  const packages: UpstreamRpmPackage[] = [];
  for (;;) {
    const next = await iterable.next();
    if (next.done) return { packages, summary: next.value };
    packages.push(next.value);
  }
}

async function rejectsWith(promise: Promise<unknown>, code: string, pattern?: RegExp): Promise<RepodError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof RepodError, `expected a RepodError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    assert.equal(error.status, 422, error.message);
    if (pattern) assert.match(error.message, pattern);
    return error;
  }
  assert.fail(`expected ${code}`);
}

/** What rpm itself says of a package file, and the file's own size and sha256. */
async function rpmFacts(file: string) {
  const format = '%{NAME}\\t%{EPOCHNUM}\\t%{VERSION}\\t%{RELEASE}\\t%{ARCH}\\t%{LONGSIZE}\\t%{SOURCERPM}\\t%{SUMMARY}\\n';
  const [name, epoch, version, release, arch, installed, sourceRpm, summary] = (await run('rpm', ['-qp', '--nosignature', '--queryformat', format, file])).trim().split('\t');
  const provides = (await run('rpm', ['-qp', '--nosignature', '--provides', file])).trim().split('\n').filter(Boolean);
  const requires = (await run('rpm', ['-qp', '--nosignature', '--requires', file])).trim().split('\n').filter(Boolean);
  const size = (await stat(file)).size;
  const sha256 = (await run('sha256sum', [file])).split(' ')[0];
  return { name, epoch, version, release, arch, installedSize: Number(installed), sourceRpm, summary, provides, requires, size, sha256 };
}

/** rpm's spelling of a dependency: "name >= epoch:version-release" (epoch only when rpm has one). */
function rpmSpelling(dep: UpstreamRpmPackage['requires'][number]): string {
  if (!dep.flags) return dep.name;
  const op = { EQ: '=', LT: '<', LE: '<=', GT: '>', GE: '>=' }[dep.flags];
  const evr = (dep.epoch && dep.epoch !== '0' ? dep.epoch + ':' : '') + (dep.version ?? '') + (dep.release ? '-' + dep.release : '');
  return `${dep.name} ${op} ${evr}`;
}

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'repod-rpm-index-'));
  built = await buildRpms(SPECS, join(work, 'rpms'));
  otherKey = await createPackagerKey('repod some other key');
});

after(async () => {
  for (const repo of repos) await repo.close();
  await rm(work, { recursive: true, force: true });
  await rm(otherKey.home, { recursive: true, force: true });
});

async function upstream(options: Parameters<typeof createUpstreamRpmRepo>[0]): Promise<UpstreamRpmRepo> {
  const repo = await createUpstreamRpmRepo(options);
  repos.push(repo);
  return repo;
}

describe('an upstream RPM repository built with createrepo_c', () => {
  let repo: UpstreamRpmRepo;
  before(async () => {
    repo = await upstream({ rpms: built, path: '/el9/x86_64' });
  });

  it('reads a signed repomd.xml and yields every package as rpm describes it', async () => {
    const repomd = await readRepomd(guarded, repo.url, repo.publicKey);
    assert.equal(repomd.verified, true);
    assert.equal(repomd.url, repo.url + 'repodata/repomd.xml');
    const primary = repomd.data.find((d) => d.type === 'primary')!;
    assert.equal(primary.checksum.type, 'sha256');
    assert.match(primary.href, /^repodata\/[0-9a-f]{64}-primary\.xml\.gz$/);
    assert.equal(primary.size, (await stat(await repo.metadataPath('primary'))).size);
    assert.ok(primary.openSize! > primary.size!);
    assert.equal(primary.openChecksum?.type, 'sha256');
    assert.deepEqual(
      repomd.data.map((d) => d.type),
      ['primary', 'filelists', 'other'],
    );

    const { packages, summary } = await collect(readPrimary(guarded, repo.url, repomd));
    assert.equal(summary.packages, 2);
    assert.equal(summary.bytes, primary.size);
    assert.equal(summary.openBytes, primary.openSize);
    assert.equal(packages.length, built.length);
    for (const file of built) {
      const facts = await rpmFacts(file);
      const pkg = packages.find((p) => p.name === facts.name);
      assert.ok(pkg, `${facts.name} is in primary`);
      assert.deepEqual(
        { name: pkg.name, epoch: pkg.epoch, version: pkg.version, release: pkg.release, arch: pkg.arch, size: pkg.size, sha256: pkg.sha256 },
        { name: facts.name, epoch: facts.epoch, version: facts.version, release: facts.release, arch: facts.arch, size: facts.size, sha256: facts.sha256 },
      );
      assert.equal(pkg.installedSize, facts.installedSize);
      assert.equal(pkg.summary, facts.summary);
      assert.equal(pkg.sourceRpm, facts.sourceRpm);
      assert.deepEqual(pkg.checksum, { type: 'sha256', value: facts.sha256 });
      assert.deepEqual(pkg.provides.map(rpmSpelling).sort(), [...facts.provides].sort());
      // primary leaves out rpmlib() requirements and the package's own provides, as createrepo_c does.
      const listed = facts.requires.filter((r) => !r.startsWith('rpmlib(') && !facts.provides.includes(r));
      assert.deepEqual([...new Set(pkg.requires.map(rpmSpelling))].sort(), [...new Set(listed)].sort());
      // The package downloads from where primary says.
      const download = await guarded(upstreamPackageUrl(repo.url, pkg));
      assert.equal(download.status, 200);
      assert.equal(
        createHash('sha256')
          .update(new Uint8Array(await download.arrayBuffer()))
          .digest('hex'),
        facts.sha256,
      );
    }
    const hello = packages.find((p) => p.name === 'hello')!;
    assert.equal(hello.summary, 'Says hello & waves <politely>');
    assert.equal(hello.description, 'A greeting tool.\nSecond line with ünïcode.');
    assert.equal(hello.url, 'https://example.com/hello');
    assert.equal(hello.license, 'MIT');
    assert.equal(hello.location, 'hello-1.0-1.x86_64.rpm');
    assert.deepEqual(
      hello.requires.find((d) => d.name === 'libgreet'),
      { name: 'libgreet', flags: 'GE', epoch: '0', version: '1.2', release: '3' },
    );
    assert.deepEqual(
      hello.requires.find((d) => d.name === 'shadow-utils'),
      { name: 'shadow-utils', pre: true },
    );
    assert.deepEqual(hello.conflicts, [{ name: 'goodbye', flags: 'LT', epoch: '0', version: '1.0' }]);
    assert.deepEqual(hello.obsoletes, [{ name: 'hello-old', flags: 'LE', epoch: '0', version: '0.9' }]);
    assert.deepEqual(hello.recommends, [{ name: 'hello-doc' }]);
    // primary keeps /etc and bin paths only; the rest is in filelists.
    assert.deepEqual([...hello.files].sort(), ['/etc/hello.conf', '/usr/bin/hello']);
  });

  it('refuses a repomd.xml signed by another key than the source key (422)', async () => {
    const error = await rejectsWith(readRepomd(guarded, repo.url, await readFile(otherKey.publicKeyPath, 'utf8')), 'upstream_signature', /does not verify/);
    assert.match(error.message, /repomd\.xml/);
  });

  it('refuses a source key that is not a key, and reads unverified without a key', async () => {
    await rejectsWith(readRepomd(guarded, repo.url, 'not a key'), 'upstream_signature', /key cannot be read/);
    const repomd = await readRepomd(guarded, repo.url);
    assert.equal(repomd.verified, false);
  });

  it('a plain fetch works as well as the outbound client', async () => {
    const plain: UpstreamFetch = (url) => fetch(url);
    const repomd = await readRepomd(plain, repo.url, repo.publicKey);
    const { packages } = await collect(readPrimary(plain, repo.url, repomd, { hash: nodeHash }));
    assert.deepEqual(packages.map((p) => p.name).sort(), ['hello', 'libgreet']);
  });
});

describe('tampering upstreams', () => {
  it('refuses a repomd.xml changed after it was signed, and a missing signature', async () => {
    const repo = await upstream({ rpms: built });
    const path = join(repo.root, 'repodata', 'repomd.xml');
    await writeFile(path, (await readFile(path, 'utf8')).replace(/<revision>\d+/, '<revision>1'));
    await rejectsWith(readRepomd(guarded, repo.url, repo.publicKey), 'upstream_signature', /does not verify/);
    await rm(path + '.asc');
    await rejectsWith(readRepomd(guarded, repo.url, repo.publicKey), 'upstream_signature', /no signature \(HTTP 404/);
  });

  it('refuses a primary whose bytes differ from repomd (422) after a verified repomd', async () => {
    const repo = await upstream({ rpms: built });
    const repomd = await readRepomd(guarded, repo.url, repo.publicKey);
    const path = await repo.metadataPath('primary');
    // Same length, valid gzip, another package size: only the checksum can tell.
    const xml = (await run('sh', ['-c', 'gzip -dc "$0"', path])).replace(/<size package="(\d)/, '<size package="9');
    const tampered = join(work, 'tampered.xml');
    await writeFile(tampered, xml);
    await run('sh', ['-c', 'gzip -n -c "$0" > "$1"', tampered, path]);
    const sizeNow = (await stat(path)).size;
    const error = await rejectsWith(collect(readPrimary(guarded, repo.url, repomd)), 'upstream_hash_mismatch');
    if (sizeNow === repomd.data[0].size) assert.match(error.message, /sha256/);
  });

  it('refuses an endless primary as soon as it passes the size repomd gives', async () => {
    const repo = await upstream({ rpms: built });
    const repomd = await readRepomd(guarded, repo.url, repo.publicKey);
    const href = repomd.data.find((d) => d.type === 'primary')!.href;
    let sent = 0;
    repo.override((req, res) => {
      if (!req.url?.endsWith(href)) return false;
      res.writeHead(200);
      const chunk = new Uint8Array(64 * 1024).fill(0x41);
      const pump = () => {
        while (!res.destroyed && sent < 1024 ** 3) {
          sent += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      pump();
      return true;
    });
    await rejectsWith(collect(readPrimary(guarded, repo.url, repomd)), 'upstream_hash_mismatch', /larger than the \d+ bytes repomd\.xml gives/);
    assert.ok(sent < 64 * 1024 * 1024, `stopped reading after ${sent} bytes`);
    repo.override(null);
  });

  it('bounds a package with too many elements and a truncated document', async () => {
    const entries = Array.from({ length: 50 }, (_, i) => `<rpm:entry name="cap${i}"/>`).join('');
    const pkg = (name: string) =>
      `<package type="rpm"><name>${name}</name><arch>noarch</arch><version epoch="0" ver="1" rel="1"/><checksum type="sha256" pkgid="YES">${'a'.repeat(64)}</checksum><summary>s</summary><size package="10" installed="1" archive="1"/><location href="${name}.rpm"/><format><rpm:provides>${entries}</rpm:provides></format></package>`;
    const serve = async (xml: string, limits = {}) => {
      const bytes = new TextEncoder().encode(xml);
      const sha = createHash('sha256').update(bytes).digest('hex');
      const repomd = { url: 'mem:repomd.xml', data: [{ type: 'primary', href: 'repodata/primary.xml', checksum: { type: 'sha256', value: sha }, size: bytes.length }] };
      const memory: UpstreamFetch = async () => new Response(bytes);
      return collect(readPrimary(memory, 'http://upstream.invalid/', repomd, { limits }));
    };
    const doc = (count: number | string, body: string) =>
      `<?xml version="1.0"?><metadata xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="http://linux.duke.edu/metadata/rpm" packages="${count}">${body}</metadata>`;
    assert.equal((await serve(doc(2, pkg('a') + pkg('b')))).packages[1].provides.length, 50);
    await rejectsWith(serve(doc(2, pkg('a') + pkg('b')), { maxElementsPerPackage: 40 }), 'upstream_index_too_large', /more than 40 elements/);
    await rejectsWith(serve(doc(3, pkg('a') + pkg('b'))), 'upstream_index_invalid', /holds 2 packages but announces 3/);
    await rejectsWith(serve(doc(2, pkg('a') + pkg('b')).slice(0, -20)), 'upstream_index_invalid', /not well-formed|truncated/);
    await rejectsWith(serve(doc(1, `<package><name>${'x'.repeat(5000)}</name></package>`), { maxTokenChars: 1024 }), 'upstream_index_too_large', /more than 1024 characters/);
  });
});

describe('compressions and re-sync', () => {
  for (const compress of ['xz', 'zstd'] as const) {
    it(`reads a ${compress} primary`, async () => {
      const repo = await upstream({ rpms: built, compress });
      const repomd = await readRepomd(guarded, repo.url, repo.publicKey);
      const primary = repomd.data.find((d) => d.type === 'primary')!;
      assert.ok(primary.href.endsWith(compress === 'xz' ? '.xml.xz' : '.xml.zst'), primary.href);
      const { packages } = await collect(readPrimary(guarded, repo.url, repomd));
      const facts = await Promise.all(built.map(rpmFacts));
      assert.deepEqual(packages.map((p) => [p.name, p.version, p.size, p.sha256]).sort(), facts.map((f) => [f.name, f.version, f.size, f.sha256]).sort());
    });
  }

  it('a re-sync sees a version added with createrepo_c --update', async () => {
    const repo = await upstream({ rpms: built });
    const first = await readRepomd(guarded, repo.url, repo.publicKey);
    const before = (await collect(readPrimary(guarded, repo.url, first))).packages;
    assert.deepEqual(
      before.filter((p) => p.name === 'hello').map((p) => p.version),
      ['1.0'],
    );
    await repo.add({ specs: [{ ...SPECS[0], version: '1.1', release: '2' }] });
    const second = await readRepomd(guarded, repo.url, repo.publicKey);
    const primaryOf = (r: typeof first) => r.data.find((d) => d.type === 'primary')!.checksum.value;
    assert.notEqual(primaryOf(second), primaryOf(first), 'the primary checksum tells a sync that something changed');
    const after = (await collect(readPrimary(guarded, repo.url, second))).packages;
    assert.deepEqual(
      after
        .filter((p) => p.name === 'hello')
        .map((p) => `${p.epoch}:${p.version}-${p.release}`)
        .sort(),
      ['2:1.0-1', '2:1.1-2'],
    );
    const added = after.find((p) => p.version === '1.1')!;
    assert.equal(added.sha256, (await rpmFacts(join(repo.root, 'hello-1.1-2.x86_64.rpm'))).sha256);
  });
});

describe('scale (measured, not asserted)', () => {
  it('parses a synthetic primary.xml of 100,000 packages as a stream', async () => {
    const count = 100_000;
    const xmlPath = join(work, 'big-primary.xml');
    const gzPath = xmlPath + '.gz';
    // Written as a stream: the test never holds the document either.
    const out = createWriteStream(xmlPath);
    const write = (text: string) => (out.write(text) ? undefined : new Promise<void>((resolve) => out.once('drain', resolve)));
    await write(
      `<?xml version="1.0" encoding="UTF-8"?>\n<metadata xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="http://linux.duke.edu/metadata/rpm" packages="${count}">\n`,
    );
    for (let i = 0; i < count; i++) {
      const name = `pkg-${String(i).padStart(6, '0')}`;
      const sha = createHash('sha256').update(name).digest('hex');
      await write(
        `<package type="rpm">\n  <name>${name}</name>\n  <arch>x86_64</arch>\n  <version epoch="0" ver="1.${i % 97}" rel="${i % 7}.el9"/>\n  <checksum type="sha256" pkgid="YES">${sha}</checksum>\n  <summary>Synthetic package ${i}</summary>\n  <description>Synthetic package number ${i} &amp; its long description, which runs to a couple of lines as real descriptions do.\nSecond line.</description>\n  <packager>Bench</packager>\n  <url>https://example.com/${name}</url>\n  <time file="1700000000" build="1700000000"/>\n  <size package="${10000 + i}" installed="${40000 + i}" archive="${41000 + i}"/>\n  <location href="Packages/p/${name}-1.${i % 97}-${i % 7}.el9.x86_64.rpm"/>\n  <format>\n    <rpm:license>MIT</rpm:license>\n    <rpm:vendor>Bench</rpm:vendor>\n    <rpm:group>Unspecified</rpm:group>\n    <rpm:buildhost>bench.example.com</rpm:buildhost>\n    <rpm:sourcerpm>${name}-1.0-1.src.rpm</rpm:sourcerpm>\n    <rpm:header-range start="4504" end="9000"/>\n    <rpm:provides>\n      <rpm:entry name="${name}" flags="EQ" epoch="0" ver="1.0" rel="1"/>\n      <rpm:entry name="${name}(x86-64)" flags="EQ" epoch="0" ver="1.0" rel="1"/>\n      <rpm:entry name="lib${name}.so.1()(64bit)"/>\n    </rpm:provides>\n    <rpm:requires>\n      <rpm:entry name="libc.so.6(GLIBC_2.34)(64bit)"/>\n      <rpm:entry name="pkg-${String((i + 1) % count).padStart(6, '0')}" flags="GE" epoch="0" ver="1.0"/>\n      <rpm:entry name="/bin/sh" pre="1"/>\n    </rpm:requires>\n    <file>/usr/bin/${name}</file>\n    <file>/etc/${name}.conf</file>\n  </format>\n</package>\n`,
      );
    }
    await write('</metadata>\n');
    await new Promise<void>((resolve, reject) => out.end((error?: Error | null) => (error ? reject(error) : resolve())));
    await new Promise<void>((resolve, reject) => {
      const gz = createGzip({ level: 6 });
      createReadStream(xmlPath).pipe(gz).pipe(createWriteStream(gzPath)).on('finish', resolve).on('error', reject);
    });
    const xmlSize = (await stat(xmlPath)).size;
    const gzSize = (await stat(gzPath)).size;
    const sha = async (path: string) => {
      const hash = createHash('sha256');
      for await (const chunk of createReadStream(path)) hash.update(chunk as Uint8Array);
      return hash.digest('hex');
    };
    const repomd = {
      url: 'file:repomd.xml',
      data: [
        {
          type: 'primary',
          href: 'repodata/primary.xml.gz',
          checksum: { type: 'sha256', value: await sha(gzPath) },
          size: gzSize,
          openChecksum: { type: 'sha256', value: await sha(xmlPath) },
          openSize: xmlSize,
        },
      ],
    };
    const fromFile: UpstreamFetch = async () => new Response(Readable.toWeb(createReadStream(gzPath, { highWaterMark: 64 * 1024 })) as ReadableStream<Uint8Array>);

    const measure = async (label: string, hash: typeof nodeHash | undefined) => {
      globalThis.gc?.();
      const baseline = process.memoryUsage().rss;
      let peak = baseline;
      let seen = 0;
      const started = performance.now();
      const iterator = readPrimary(fromFile, 'file:///upstream/', repomd, hash ? { hash } : {});
      for await (const pkg of iterator) {
        if (++seen % 5000 === 0) peak = Math.max(peak, process.memoryUsage().rss);
        void pkg;
      }
      const seconds = (performance.now() - started) / 1000;
      peak = Math.max(peak, process.memoryUsage().rss);
      assert.equal(seen, count);
      console.log(
        `# scale [${label}]: ${count} packages, primary.xml ${(xmlSize / 1e6).toFixed(1)} MB (${(gzSize / 1e6).toFixed(1)} MB gz): ` +
          `${seconds.toFixed(2)} s, ${(xmlSize / 1e6 / seconds).toFixed(0)} MB/s; RSS ${(baseline / 2 ** 20).toFixed(0)} MiB before, peak ${(peak / 2 ** 20).toFixed(0)} MiB ` +
          `(+${((peak - baseline) / 2 ** 20).toFixed(0)} MiB); process max RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`,
      );
    };
    await measure('node:crypto hashes', nodeHash);
    await measure('pure-JS hashes', undefined);
  });
});
