/**
 * Reading an upstream APT repository's index (src/import/apt): a real archive made with
 * dpkg-deb, apt-ftparchive and gpg, served on 127.0.0.1, read with the global fetch.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { RepodError } from '../../src/errors.ts';
import type { AptCatalogEntry } from '../../src/import/apt/catalog-entry.ts';
import { catalogEntryFromStanza } from '../../src/import/apt/catalog-entry.ts';
import { readAptPackages } from '../../src/import/apt/packages-index.ts';
import { parseAptRelease } from '../../src/import/apt/release-file.ts';
import { readAptRelease } from '../../src/import/apt/signed-release.ts';
import { StanzaSplitter } from '../../src/import/apt/stanza-splitter.ts';
import { createPackagerKey, type PackagerKey } from '../helpers/gpg.ts';
import { removeKey, serveDirectory, startUpstreamApt, type UpstreamApt } from '../helpers/upstream-apt.ts';

const fetcher = (url: string) => fetch(url);

async function collect(iterable: AsyncIterable<AptCatalogEntry>): Promise<AptCatalogEntry[]> {
  const out: AptCatalogEntry[] = [];
  for await (const entry of iterable) out.push(entry);
  return out;
}

async function rejectsWith(promise: Promise<unknown>, code: string, status: number, pattern?: RegExp): Promise<RepodError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof RepodError, `expected a RepodError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    assert.equal(error.status, status);
    if (pattern) assert.match(error.message, pattern);
    return error;
  }
  assert.fail(`expected ${code}`);
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

const PACKAGES = [
  {
    name: 'hello',
    version: '1.0-1',
    depends: 'libc6 (>= 2.36),\n libgreeting1 | libgreeting2',
    section: 'utils',
    description: { summary: 'says hello', long: ['A longer text', 'on two lines.'] },
  },
  { name: 'libgreeting1', version: '2:0.9~rc1-3', provides: 'libgreeting (= 0.9)', fields: [['Multi-Arch', 'same'] as [string, string]] },
  { name: 'hello-doc', version: '1.0-1', arch: 'all', fields: [['Source', 'hello'] as [string, string]] },
  { name: 'hello-tools', version: '1.0-1+b1', preDepends: 'dpkg (>= 1.19)', fields: [['Source', 'hello (1.0-1)'] as [string, string]] },
];

describe('upstream APT index', () => {
  let upstream: UpstreamApt;
  let otherKey: PackagerKey;

  before(async () => {
    [upstream, otherKey] = await Promise.all([startUpstreamApt({ suite: 'stable', codename: 'trixie', packages: PACKAGES }), createPackagerKey('repod test stranger')]);
  });
  after(async () => {
    await upstream?.close();
    if (otherKey) await removeKey(otherKey);
  });

  it('verifies InRelease with the source key and parses the Release', async () => {
    upstream.requests.length = 0;
    const release = await readAptRelease(fetcher, upstream.url, 'stable', upstream.publicKey);
    assert.equal(release.signedBy, 'InRelease');
    assert.equal(release.signers.length, 1);
    assert.deepEqual(upstream.requests, ['/dists/stable/InRelease']);
    assert.equal(release.suite, 'stable');
    assert.equal(release.codename, 'trixie');
    assert.equal(release.dist, 'stable');
    assert.deepEqual(release.architectures, ['amd64']);
    assert.deepEqual(release.components, ['main']);
    assert.ok(release.date instanceof Date && Math.abs(release.date.getTime() - Date.now()) < 3600_000);
    const onDisk = readFileSync(upstream.distPath('main/binary-amd64/Packages.xz'));
    assert.deepEqual(
      release.files.find((f) => f.path === 'main/binary-amd64/Packages.xz'),
      { path: 'main/binary-amd64/Packages.xz', size: onDisk.length, sha256: sha256(onDisk) },
    );
  });

  it('verifies Release with Release.gpg when there is no InRelease', async () => {
    const inRelease = readFileSync(upstream.distPath('InRelease'));
    rmSync(upstream.distPath('InRelease'));
    try {
      upstream.requests.length = 0;
      const release = await readAptRelease(fetcher, upstream.url, 'stable', upstream.publicKey);
      assert.equal(release.signedBy, 'Release.gpg');
      assert.deepEqual(upstream.requests, ['/dists/stable/InRelease', '/dists/stable/Release', '/dists/stable/Release.gpg']);
      assert.equal(release.codename, 'trixie');
      assert.ok(release.files.length >= 3);

      await rejectsWith(readAptRelease(fetcher, upstream.url, 'stable', await readKey(otherKey)), 'upstream_signature', 422, /Release\.gpg.*no signature is by the source's key/);
      // A Release changed after signing.
      const original = readFileSync(upstream.distPath('Release'));
      writeFileSync(
        upstream.distPath('Release'),
        Buffer.concat([original, Buffer.from('')])
          .toString()
          .replace('Origin: repod-test', 'Origin: evil'),
      );
      try {
        await rejectsWith(readAptRelease(fetcher, upstream.url, 'stable', upstream.publicKey), 'upstream_signature', 422, /does not verify/);
      } finally {
        writeFileSync(upstream.distPath('Release'), original);
      }
      // Unsigned, with a key: refused; without a key: read as it is.
      const signature = readFileSync(upstream.distPath('Release.gpg'));
      rmSync(upstream.distPath('Release.gpg'));
      try {
        await rejectsWith(readAptRelease(fetcher, upstream.url, 'stable', upstream.publicKey), 'upstream_signature', 422, /not signed/);
        const unsigned = await readAptRelease(fetcher, upstream.url, 'stable');
        assert.equal(unsigned.signedBy, null);
        assert.equal(unsigned.codename, 'trixie');
      } finally {
        writeFileSync(upstream.distPath('Release.gpg'), signature);
      }
    } finally {
      writeFileSync(upstream.distPath('InRelease'), inRelease);
    }
  });

  it('refuses an InRelease signed by another key or altered after signing (422 naming the source)', async () => {
    await rejectsWith(readAptRelease(fetcher, upstream.url, 'stable', await readKey(otherKey)), 'upstream_signature', 422, new RegExp(`${upstream.url}/dists/stable/InRelease`));
    const original = readFileSync(upstream.distPath('InRelease'), 'utf8');
    writeFileSync(upstream.distPath('InRelease'), original.replace('Origin: repod-test', 'Origin: evil'));
    try {
      await rejectsWith(readAptRelease(fetcher, upstream.url, 'stable', upstream.publicKey), 'upstream_signature', 422, /does not verify/);
    } finally {
      writeFileSync(upstream.distPath('InRelease'), original);
    }
    await rejectsWith(readAptRelease(fetcher, upstream.url, 'stable', 'not a key'), 'invalid_source_key', 422);
    await rejectsWith(readAptRelease(fetcher, upstream.url, 'nosuch', upstream.publicKey), 'upstream_release_missing', 404);
    await rejectsWith(readAptRelease(fetcher, 'http://127.0.0.1:9', 'stable'), 'upstream_unreachable', 502, /127\.0\.0\.1:9/);
  });

  it('streams the entries of Packages.xz, Packages.gz and Packages alike', async () => {
    const release = await readAptRelease(fetcher, upstream.url, 'stable', upstream.publicKey);
    const byCompression = new Map<string, AptCatalogEntry[]>();
    for (const compression of ['xz', 'gzip', 'none'] as const) {
      upstream.requests.length = 0;
      const iterator = readAptPackages(fetcher, upstream.url, release, 'main', 'amd64', { prefer: [compression] });
      const entries: AptCatalogEntry[] = [];
      let step = await iterator.next();
      while (!step.done) {
        entries.push(step.value);
        step = await iterator.next();
      }
      assert.equal(step.value.compression, compression);
      assert.equal(step.value.entries, 4);
      assert.deepEqual(upstream.requests, [`/dists/stable/main/binary-amd64/Packages${{ xz: '.xz', gzip: '.gz', none: '' }[compression]}`]);
      byCompression.set(compression, entries);
    }
    assert.deepEqual(byCompression.get('gzip'), byCompression.get('xz'));
    assert.deepEqual(byCompression.get('none'), byCompression.get('xz'));

    // The default takes xz.
    upstream.requests.length = 0;
    const entries = await collect(readAptPackages(fetcher, upstream.url, release, 'main', 'amd64'));
    assert.deepEqual(upstream.requests, ['/dists/stable/main/binary-amd64/Packages.xz']);
    const byName = new Map(entries.map((e) => [e.name, e]));
    const hello = byName.get('hello')!;
    const deb = readFileSync(join(upstream.dir, hello.filename));
    assert.deepEqual(hello, {
      name: 'hello',
      version: '1.0-1',
      architecture: 'amd64',
      size: deb.length,
      sha256: sha256(deb),
      filename: 'pool/main/hello_1.0-1_amd64.deb',
      description: 'says hello',
      depends: 'libc6 (>= 2.36), libgreeting1 | libgreeting2',
      section: 'utils',
    });
    assert.equal(byName.get('libgreeting1')!.version, '2:0.9~rc1-3');
    assert.equal(byName.get('libgreeting1')!.provides, 'libgreeting (= 0.9)');
    assert.equal(byName.get('libgreeting1')!.multiArch, 'same');
    assert.equal(byName.get('hello-doc')!.architecture, 'all');
    assert.equal(byName.get('hello-doc')!.source, 'hello');
    assert.equal(byName.get('hello-tools')!.source, 'hello');
    assert.equal(byName.get('hello-tools')!.sourceVersion, '1.0-1');
    assert.equal(byName.get('hello-tools')!.preDepends, 'dpkg (>= 1.19)');
    // Unknown component or architecture: named.
    await assert.rejects(
      collect(readAptPackages(fetcher, upstream.url, release, 'contrib', 'amd64')),
      (e: RepodError) => e.code === 'upstream_index_missing' && /contrib\/binary-amd64/.test(e.message),
    );
  });

  it('refuses an index that differs from the Release (422), whether it parses or not', async () => {
    const release = await readAptRelease(fetcher, upstream.url, 'stable', upstream.publicKey);
    const gz = upstream.distPath('main/binary-amd64/Packages.gz');
    const xz = upstream.distPath('main/binary-amd64/Packages.xz');
    const originalGz = readFileSync(gz);
    const originalXz = readFileSync(xz);
    try {
      // A valid index with a substituted checksum, recompressed: parses fine, differs from Release.
      const plain = readFileSync(upstream.distPath('main/binary-amd64/Packages'), 'utf8');
      const evil = plain.replace(/^SHA256: [0-9a-f]{64}$/m, `SHA256: ${'0'.repeat(64)}`);
      writeFileSync(gz.replace(/\.gz$/, '.evil'), evil);
      execFileSync('gzip', ['-n', '-f', gz.replace(/\.gz$/, '.evil')]);
      writeFileSync(gz, readFileSync(`${gz.replace(/\.gz$/, '.evil')}.gz`));
      rmSync(`${gz.replace(/\.gz$/, '.evil')}.gz`);
      let seen = 0;
      const error = await rejectsWith(
        (async () => {
          for await (const _ of readAptPackages(fetcher, upstream.url, release, 'main', 'amd64', { prefer: ['gzip'] })) seen++;
        })(),
        'upstream_hash_mismatch',
        422,
        /Packages\.gz/,
      );
      // Entries may stream before the hash is known (they are provisional); here the size differs, so it fails early.
      assert.ok(seen <= 4);
      assert.equal(error.details?.path, 'main/binary-amd64/Packages.gz');

      // A flipped byte in the xz stream: a decoding failure, reported as the hash mismatch it is.
      const corrupt = Buffer.from(originalXz);
      corrupt[Math.floor(corrupt.length / 2)]! ^= 0x55;
      writeFileSync(xz, corrupt);
      await rejectsWith(collect(readAptPackages(fetcher, upstream.url, release, 'main', 'amd64')), 'upstream_hash_mismatch', 422);
      // Truncated.
      writeFileSync(xz, originalXz.subarray(0, originalXz.length - 10));
      await rejectsWith(collect(readAptPackages(fetcher, upstream.url, release, 'main', 'amd64')), 'upstream_hash_mismatch', 422, /not \d+/);
    } finally {
      writeFileSync(gz, originalGz);
      writeFileSync(xz, originalXz);
    }
  });

  it('stops an endless body at the size the Release lists, and applies its limits', async () => {
    const release = await readAptRelease(fetcher, upstream.url, 'stable', upstream.publicKey);
    let sent = 0;
    upstream.override('/dists/stable/main/binary-amd64/Packages', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      const chunk = Buffer.alloc(64 * 1024, 'Package: x\n');
      const pump = () => {
        while (!res.destroyed && res.write(chunk)) sent += chunk.length;
        if (!res.destroyed) res.once('drain', pump);
      };
      res.on('close', () => undefined);
      pump();
    });
    try {
      await rejectsWith(collect(readAptPackages(fetcher, upstream.url, release, 'main', 'amd64', { prefer: ['none'] })), 'upstream_hash_mismatch', 422, /longer than/);
      assert.ok(sent < 64 * 1024 * 1024, `the reader stopped early (${sent} bytes sent)`);
    } finally {
      upstream.override('/dists/stable/main/binary-amd64/Packages', null);
    }
    await rejectsWith(collect(readAptPackages(fetcher, upstream.url, release, 'main', 'amd64', { limits: { maxStanzaBytes: 100 } })), 'upstream_index_too_large', 422, /stanza/);
    await rejectsWith(
      collect(readAptPackages(fetcher, upstream.url, release, 'main', 'amd64', { limits: { maxIndexBytes: 1000 } })),
      'upstream_index_too_large',
      422,
      /decompresses/,
    );
    await rejectsWith(collect(readAptPackages(fetcher, upstream.url, release, 'main', 'amd64', { limits: { maxCompressedBytes: 100 } })), 'upstream_index_too_large', 422);
  });

  it('a re-sync sees a version added upstream', async () => {
    const first = await collect(readAptPackages(fetcher, upstream.url, await readAptRelease(fetcher, upstream.url, 'stable', upstream.publicKey), 'main', 'amd64'));
    assert.deepEqual(
      first.filter((e) => e.name === 'hello').map((e) => e.version),
      ['1.0-1'],
    );
    upstream.add([{ name: 'hello', version: '1.1-1', description: 'says hello, better' }]);
    await upstream.publish();
    const release = await readAptRelease(fetcher, upstream.url, 'stable', upstream.publicKey);
    const second = await collect(readAptPackages(fetcher, upstream.url, release, 'main', 'amd64'));
    assert.deepEqual(
      second
        .filter((e) => e.name === 'hello')
        .map((e) => e.version)
        .sort(),
      ['1.0-1', '1.1-1'],
    );
    assert.equal(second.find((e) => e.version === '1.1-1')!.description, 'says hello, better');
  });
});

describe('upstream APT index: by-hash, expiry', () => {
  it('fetches by hash when the Release offers it, and refuses an expired Release', async () => {
    const upstream = await startUpstreamApt({
      byHash: true,
      compressions: ['gz'],
      packages: [{ name: 'one', version: '1' }],
      releaseFields: [['Valid-Until', 'Sat, 01 Jan 2000 00:00:00 UTC']],
    });
    try {
      const release = await readAptRelease(fetcher, upstream.url, 'stable', upstream.publicKey);
      assert.equal(release.acquireByHash, true);
      assert.equal(release.validUntil?.toISOString(), '2000-01-01T00:00:00.000Z');
      upstream.requests.length = 0;
      const entries = await collect(readAptPackages(fetcher, upstream.url, release, 'main', 'amd64'));
      assert.deepEqual(
        entries.map((e) => e.name),
        ['one'],
      );
      const file = release.files.find((f) => f.path === 'main/binary-amd64/Packages.gz')!;
      assert.deepEqual(upstream.requests, [`/dists/stable/main/binary-amd64/by-hash/SHA256/${file.sha256}`]);
      await rejectsWith(readAptRelease(fetcher, upstream.url, 'stable', upstream.publicKey, { now: new Date() }), 'upstream_release_expired', 422, /Valid-Until/);
    } finally {
      await upstream.close();
    }
  });
});

describe('deb822 stanzas', () => {
  it('cuts stanzas across any piece boundary', () => {
    const text = '\n\nPackage: a\nVersion: 1\n\n\n\nPackage: b\nDescription: x\n y\n\nPackage: c\nVersion: 3';
    for (let size = 1; size <= text.length; size++) {
      const out: string[] = [];
      const splitter = new StanzaSplitter(1000, (s) => out.push(s), 'test');
      for (let at = 0; at < text.length; at += size) splitter.push(text.slice(at, at + size));
      splitter.end();
      assert.deepEqual(out, ['Package: a\nVersion: 1\n', 'Package: b\nDescription: x\n y\n', 'Package: c\nVersion: 3\n'], `piece size ${size}`);
    }
  });

  it('refuses malformed stanzas and unsafe filenames, naming the stanza', () => {
    const good = `Package: a\nVersion: 1\nArchitecture: amd64\nFilename: pool/a.deb\nSize: 10\nSHA256: ${'a'.repeat(64)}\n`;
    assert.equal(catalogEntryFromStanza(good, 'here').name, 'a');
    for (const [bad, pattern] of [
      [good.replace('Filename: pool/a.deb', 'Filename: ../../etc/passwd'), /Filename/],
      [good.replace('Filename: pool/a.deb', 'Filename: /etc/passwd'), /absolute/],
      [good.replace('Filename: pool/a.deb', 'Filename: pool/%2e%2e/x.deb'), /Filename/],
      [good.replace(/SHA256: .*\n/, ''), /no SHA256/],
      [good.replace('Size: 10', 'Size: -1'), /Size/],
      [good.replace('Version: 1', 'Version: a b'), /version/],
      [`${good}garbage line\n`, /line 7/],
      [` continued\n${good}`, /continuation/],
    ] as const) {
      assert.throws(
        () => catalogEntryFromStanza(bad, 'Packages, stanza 9'),
        (e: RepodError) => e.code === 'upstream_index_invalid' && /stanza 9/.test(e.message) && pattern.test(e.message),
      );
    }
  });

  it('reads a Release with no SHA256 list as invalid', () => {
    assert.throws(
      () => parseAptRelease('Suite: x\nMD5Sum:\n 0123 1 main/binary-amd64/Packages\n', 'x'),
      (e: RepodError) => e.code === 'upstream_index_invalid',
    );
    assert.throws(() => parseAptRelease(`Suite: x\nSHA256:\n ${'a'.repeat(64)} 1 ../Packages\n`, 'x'), /index path/);
  });
});

async function readKey(key: PackagerKey): Promise<string> {
  return readFileSync(key.publicKeyPath, 'utf8');
}

// ---- scale: Debian bookworm main, as apt keeps it ------------------------------------------------

const LISTS = '/var/lib/apt/lists';
const bookworm = (() => {
  try {
    return readdirSync(LISTS)
      .filter((f) => /_bookworm_main_binary-amd64_Packages(\.lz4|\.gz|\.xz)?$/.test(f))
      .map((f) => join(LISTS, f))[0];
  } catch {
    return undefined;
  }
})();

describe('scale: Debian bookworm main amd64', () => {
  const why = !bookworm ? `no ${LISTS}/*_bookworm_main_binary-amd64_Packages* (run apt-get update)` : undefined;
  it('streams the whole index through readAptPackages', { skip: why, timeout: 300_000 }, async (t) => {
    const work = mkdtempSync(join(tmpdir(), 'repod-bookworm-'));
    const binDir = join(work, 'dists/bookworm/main/binary-amd64');
    let server: Awaited<ReturnType<typeof serveDirectory>> | undefined;
    try {
      execFileSync('mkdir', ['-p', binDir]);
      const plain = join(binDir, 'Packages');
      try {
        if (bookworm!.endsWith('.lz4')) execFileSync('sh', ['-c', 'lz4 -dc "$0" > "$1"', bookworm!, plain], { timeout: 120_000 });
        else if (bookworm!.endsWith('.gz')) execFileSync('sh', ['-c', 'gzip -dc "$0" > "$1"', bookworm!, plain], { timeout: 120_000 });
        else if (bookworm!.endsWith('.xz')) execFileSync('sh', ['-c', 'xz -dc "$0" > "$1"', bookworm!, plain], { timeout: 120_000 });
        else execFileSync('cp', [bookworm!, plain]);
      } catch (error) {
        t.skip(`cannot decompress ${bookworm}: ${(error as Error).message.split('\n')[0]}`);
        return;
      }
      execFileSync('gzip', ['-k', '-1', '-n', plain], { timeout: 120_000 });
      // xz -1 is quicker to make than Debian's -6 and decodes at the same speed.
      execFileSync('xz', ['-k', '-1', '-T2', plain], { timeout: 120_000 });
      // Hashed by sha256sum: reading 50 MB here would inflate the peak RSS measured below.
      const files = ['Packages', 'Packages.gz', 'Packages.xz'].map((name) => {
        const digest = execFileSync('sha256sum', [join(binDir, name)], { encoding: 'utf8' }).split(' ')[0];
        return ` ${digest} ${statSync(join(binDir, name)).size} main/binary-amd64/${name}`;
      });
      writeFileSync(join(work, 'dists/bookworm/Release'), `Suite: stable\nCodename: bookworm\nArchitectures: amd64\nComponents: main\nSHA256:\n${files.join('\n')}\n`);
      server = await serveDirectory(work);
      const release = await readAptRelease(fetcher, server.url, 'bookworm');
      for (const compression of ['xz', 'gzip', 'none'] as const) {
        const rssBefore = process.memoryUsage().rss;
        const started = performance.now();
        let count = 0;
        let names = 0;
        let peakHeap = 0;
        for await (const entry of readAptPackages(fetcher, server.url, release, 'main', 'amd64', { prefer: [compression], sha256: nodeSha256 })) {
          count++;
          names += entry.name.length;
          if ((count & 4095) === 0) peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
        }
        const seconds = (performance.now() - started) / 1000;
        const name = `Packages${{ xz: '.xz', gzip: '.gz', none: '' }[compression]}`;
        const size = statSync(join(binDir, name)).size;
        t.diagnostic(
          `bookworm main amd64 via ${name} (${(size / 1e6).toFixed(1)} MB): ${count} entries in ${seconds.toFixed(2)} s; ` +
            `RSS before ${(rssBefore / 2 ** 20).toFixed(0)} MiB, peak RSS of the process ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB, peak heap sampled ${(peakHeap / 2 ** 20).toFixed(0)} MiB`,
        );
        assert.ok(count > 60_000, `${count} entries`);
        assert.ok(names > 0);
      }
    } finally {
      await server?.close();
      rmSync(work, { recursive: true, force: true });
    }
  });
});

function nodeSha256() {
  const h = createHash('sha256');
  return { update: (d: Uint8Array) => void h.update(d), digest: async () => h.digest('hex') };
}
