/**
 * The antivirus step over a real ClamAV daemon (test/helpers/clamd.ts: clamd with a one-line
 * custom database, never the official one), with packages built by rpmbuild and dpkg-deb:
 * - a file carrying a marker string inside an RPM or a .deb (data.tar.xz) is found, and only
 *   thanks to the payload scan for the .deb (clamd does not see it in the .deb as it is);
 * - the payload streams are byte-for-byte what rpm2cpio and dpkg-deb --fsys-tarfile produce;
 * - a daemon that hangs (SIGSTOP), is stopped, or dies mid-scan gives `unavailable` in bounded
 *   time, without the input being read ahead of the socket;
 * - clamd's StreamMaxLength and our own limit give `too_large`;
 * - the tcp: connector works like the unix: one.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { RepodError } from '../../src/errors.ts';
import { clamdConnector, parseClamdSpec } from '../../src/runtime/node-clamd.ts';
import { END_OF_STREAM, frameChunk, INSTREAM_COMMAND, parseReply, ReplyCollector } from '../../src/security/antivirus/clamd-protocol.ts';
import { ClamdScanner, type ScannerConnection } from '../../src/security/antivirus/clamd-scanner.ts';
import { PayloadError, packagePayload } from '../../src/security/antivirus/package-payload.ts';
import { scanPackage } from '../../src/security/antivirus/scan-package.ts';
import { type Clamd, clamdSkipReason, ndbSignature, startClamd } from '../helpers/clamd.ts';
import { dpkgDebBuild } from '../helpers/debs.ts';
import { REPO_ROOT } from '../helpers/paths.ts';
import { freePort } from '../helpers/ports.ts';
import { pseudoRandomBytes } from '../helpers/prng.ts';
import { buildRpms, renderSpec } from '../helpers/rpmbuild.ts';
import { run } from '../helpers/run.ts';

const MARKER = 'REPOD-AV-TEST-MARKER-4c1d9e';
const SIGNATURE = 'Repod.Test.Marker';
const FOUND = `${SIGNATURE}.UNOFFICIAL`;
const skip = clamdSkipReason();

/** Text with the marker in the middle, compressible so no compressor stores the marker verbatim. */
const infectedText = `${'lorem ipsum dolor sit amet\n'.repeat(200)}${MARKER}\n${'consectetur adipiscing elit\n'.repeat(200)}`;
const cleanText = `${'lorem ipsum dolor sit amet\n'.repeat(400)}`;

function fileStream(path: string): ReadableStream<Uint8Array> {
  return Readable.toWeb(createReadStream(path, { highWaterMark: 64 * 1024 })) as ReadableStream<Uint8Array>;
}

function bytesStream(bytes: Uint8Array, chunk = 64 * 1024): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (at >= bytes.length) return controller.close();
      controller.enqueue(bytes.slice(at, at + chunk));
      at += chunk;
    },
  });
}

async function collect(stream: ReadableStream<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const part of stream as unknown as AsyncIterable<Uint8Array>) parts.push(part);
  return Buffer.concat(parts);
}

/** An RPM with one file, built with the given payload macro (e.g. "w6.xzdio", "w.ufdio"). */
async function buildRpmWithPayload(outDir: string, name: string, content: string | Uint8Array, payload: string): Promise<string> {
  const top = await mkdtemp(join(tmpdir(), 'repod-av-rpm-'));
  try {
    const path = '/usr/share/av/payload.txt';
    await mkdir(join(top, 'SOURCES/root', dirname(path)), { recursive: true });
    await writeFile(join(top, 'SOURCES/root', path), content);
    const spec = join(top, `${name}.spec`);
    await writeFile(spec, renderSpec({ name, arch: 'noarch', autoReqProv: false, files: [{ path }] }));
    await run('rpmbuild', [
      '-bb',
      '--nodeps',
      '--quiet',
      '--define',
      `_topdir ${top}`,
      '--define',
      `_rpmdir ${outDir}`,
      '--define',
      '_build_name_fmt %%{NAME}.rpm',
      '--define',
      `_binary_payload ${payload}`,
      spec,
    ]);
    return join(outDir, `${name}.rpm`);
  } finally {
    await rm(top, { recursive: true, force: true });
  }
}

// ---- pure parts -----------------------------------------------------------------------------

describe('clamd protocol', () => {
  test('INSTREAM framing: command, 4-byte big-endian lengths, zero-length end', () => {
    assert.deepEqual(Buffer.from(INSTREAM_COMMAND), Buffer.from('zINSTREAM\0'));
    assert.deepEqual(Buffer.from(frameChunk(new Uint8Array([7, 8, 9]))), Buffer.from([0, 0, 0, 3, 7, 8, 9]));
    const big = frameChunk(new Uint8Array(0x010203));
    assert.deepEqual([...big.subarray(0, 4)], [0, 1, 2, 3]);
    assert.deepEqual([...END_OF_STREAM], [0, 0, 0, 0]);
    assert.throws(() => frameChunk(new Uint8Array(0)), RangeError);
  });

  test('replies', () => {
    assert.deepEqual(parseReply('stream: OK'), { kind: 'ok' });
    assert.deepEqual(parseReply('stream: Repod.Test.Marker.UNOFFICIAL FOUND\0'), { kind: 'found', signature: 'Repod.Test.Marker.UNOFFICIAL' });
    assert.deepEqual(parseReply('12: stream: Win.Test.EICAR_HDB-1 FOUND'), { kind: 'found', signature: 'Win.Test.EICAR_HDB-1' });
    assert.deepEqual(parseReply('INSTREAM size limit exceeded. ERROR'), { kind: 'error', message: 'INSTREAM size limit exceeded.', tooLarge: true });
    assert.deepEqual(parseReply('stream: Can not allocate memory ERROR'), { kind: 'error', message: 'Can not allocate memory', tooLarge: false });
    assert.deepEqual(parseReply('UNKNOWN COMMAND'), { kind: 'unexpected', text: 'UNKNOWN COMMAND' });
  });

  test('a reply is collected up to its NUL, across chunks, and bounded', () => {
    const c = new ReplyCollector();
    assert.equal(c.push(new TextEncoder().encode('stream: ')), false);
    assert.equal(c.push(new TextEncoder().encode('OK\0junk')), true);
    assert.equal(c.text(), 'stream: OK');
    const long = new ReplyCollector();
    assert.throws(() => long.push(new Uint8Array(5000).fill(65)), RangeError);
  });

  test('REPOD_CLAMD specs', () => {
    assert.deepEqual(parseClamdSpec('unix:/run/clamav/clamd.ctl'), { path: '/run/clamav/clamd.ctl' });
    assert.deepEqual(parseClamdSpec('tcp:clamav.internal:3310'), { host: 'clamav.internal', port: 3310 });
    assert.deepEqual(parseClamdSpec('tcp:[::1]:3310'), { host: '::1', port: 3310 });
    for (const bad of ['', 'unix:', 'tcp:host', 'tcp:host:0', 'tcp:host:70000', 'http://x:1', '/run/clamd.ctl', 'tcp::3310']) {
      assert.throws(
        () => clamdConnector(bad),
        (e: unknown) => e instanceof RepodError && e.code === 'invalid_config',
        bad,
      );
    }
  });
});

// ---- payload extraction against the reference tools -----------------------------------------

describe('package payloads', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'repod-av-payload-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  for (const payload of ['w19.zstdio', 'w6.xzdio', 'w9.gzdio', 'w.ufdio']) {
    test(`RPM payload ${payload} is what rpm2cpio writes`, async () => {
      const name = `payload-${payload.replace(/\W/g, '')}`;
      const rpm = await buildRpmWithPayload(dir, name, Buffer.concat([Buffer.from(infectedText), pseudoRandomBytes(300_000, 7)]), payload);
      const ours = await collect(packagePayload('rpm', fileStream(rpm), { sliceBytes: 1000 }));
      const reference = execFileSync('rpm2cpio', [rpm], { maxBuffer: 64 << 20, timeout: 60_000 });
      assert.ok(reference.length > 300_000);
      assert.ok(ours.equals(reference), `${ours.length} bytes vs rpm2cpio's ${reference.length}`);
    });
  }

  for (const compression of ['xz', 'zstd', 'gzip', 'none'] as const) {
    test(`.deb data.tar (${compression}) is what dpkg-deb --fsys-tarfile writes`, async () => {
      const deb = dpkgDebBuild(
        {
          name: `payload-${compression}`,
          version: '1.0',
          files: [
            { path: 'usr/share/av/a.bin', content: pseudoRandomBytes(200_000, 3) },
            { path: 'usr/share/av/b.txt', content: infectedText },
          ],
        },
        dir,
        { compression },
      );
      const ours = await collect(packagePayload('deb', fileStream(deb)));
      const reference = execFileSync('dpkg-deb', ['--fsys-tarfile', deb], { maxBuffer: 64 << 20, timeout: 60_000 });
      assert.ok(ours.equals(reference), `${ours.length} bytes vs dpkg-deb's ${reference.length}`);
    });
  }

  test('a payload that cannot be decompressed errors the stream with PayloadError', async () => {
    const rpm = await buildRpmWithPayload(dir, 'payload-bzip2', cleanText, 'w9.bzdio');
    await assert.rejects(collect(packagePayload('rpm', fileStream(rpm))), (e: unknown) => e instanceof PayloadError && /bzip2/.test(e.message));
    await assert.rejects(collect(packagePayload('deb', bytesStream(new TextEncoder().encode('not a deb at all')))), PayloadError);
    const deb = await readFile(dpkgDebBuild({ name: 'cut', version: '1.0', files: [{ path: 'usr/share/a', content: pseudoRandomBytes(100_000, 5) }] }, dir));
    await assert.rejects(collect(packagePayload('deb', bytesStream(deb.subarray(0, deb.length - 5000)))), PayloadError);
  });

  test('the payload is produced on demand: a consumer that stops reading stops the decompression', async () => {
    // 64 MiB of zeros compress to about 13 KB: decompressing a whole read at once would queue all of it.
    const deb = dpkgDebBuild({ name: 'zeros', version: '1.0', files: [{ path: 'usr/share/zeros', content: new Uint8Array(64 << 20) }] }, dir, { compression: 'xz', level: 1 });
    // Measured in a fresh process, where nothing else allocates.
    const script = `
      import { createReadStream } from 'node:fs';
      import { Readable } from 'node:stream';
      import { packagePayload } from ${JSON.stringify(join(REPO_ROOT, 'src/security/antivirus/package-payload.ts'))};
      const baseline = process.memoryUsage().arrayBuffers;
      const reader = packagePayload('deb', Readable.toWeb(createReadStream(${JSON.stringify(deb)}))).getReader();
      let got = 0;
      while (got < 1 << 20) got += (await reader.read()).value.length;
      await new Promise((r) => setTimeout(r, 100));
      console.log(process.memoryUsage().arrayBuffers - baseline);
      await reader.cancel();`;
    const grown = Number(await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: REPO_ROOT, timeoutMs: 60_000 }));
    // A few LZMA2 chunks (2 MiB each) and the xz dictionary, not 64 MiB.
    assert.ok(grown < 16 << 20, `array buffers grew by ${grown} bytes after reading 1 MiB of 64 MiB`);
  });
});

// ---- over a real clamd ------------------------------------------------------------------------

describe('ClamAV scans over a real clamd', { skip }, () => {
  let clamd: Clamd;
  let dir: string;
  const files: Record<string, string> = {};
  const signatures = { ndb: ndbSignature(SIGNATURE, MARKER) };

  before(async () => {
    clamd = await startClamd(signatures);
    dir = await mkdtemp(join(tmpdir(), 'repod-av-'));
    const [rpmInfected, rpmClean] = await buildRpms(
      [
        { name: 'av-infected', arch: 'noarch', autoReqProv: false, files: [{ path: '/usr/share/av/payload.txt', content: infectedText }] },
        { name: 'av-clean', arch: 'noarch', autoReqProv: false, files: [{ path: '/usr/share/av/payload.txt', content: cleanText }] },
      ],
      dir,
    );
    files.rpmInfected = rpmInfected!;
    files.rpmClean = rpmClean!;
    files.debInfected = dpkgDebBuild({ name: 'av-infected', version: '1.0', files: [{ path: 'usr/share/av/payload.txt', content: infectedText }] }, dir, { compression: 'xz' });
    files.debClean = dpkgDebBuild({ name: 'av-clean', version: '1.0', files: [{ path: 'usr/share/av/payload.txt', content: cleanText }] }, dir, { compression: 'xz' });
    files.rpmBzip2 = await buildRpmWithPayload(dir, 'av-bzip2', infectedText, 'w9.bzdio');
  });
  after(async () => {
    await clamd?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const scanner = () => new ClamdScanner(clamdConnector(clamd.spec), { timeoutMs: 10_000 });
  const opener = (path: string) => async () => fileStream(path);

  test('the signature is found in the payload of an RPM and of a .deb (data.tar.xz)', async () => {
    const rpm = await scanPackage(scanner(), 'rpm', opener(files.rpmInfected!));
    assert.deepEqual(rpm.verdict, { status: 'infected', signature: FOUND });
    assert.deepEqual(rpm.scanned, ['package', 'cpio']);
    const deb = await scanPackage(scanner(), 'deb', opener(files.debInfected!));
    assert.deepEqual(deb.verdict, { status: 'infected', signature: FOUND });
    assert.deepEqual(deb.scanned, ['package', 'data.tar']);
    assert.ok(deb.ms >= 0 && deb.ms < 10_000);
  });

  test('the .deb sent as it is would not be detected: the payload scan is what finds it', async () => {
    assert.deepEqual(await scanner().scan(fileStream(files.debInfected!)), { status: 'clean' });
    const payload = await scanner().scan(packagePayload('deb', fileStream(files.debInfected!)));
    assert.deepEqual(payload, { status: 'infected', signature: FOUND });
  });

  test('clean packages are clean, both scans done', async () => {
    const rpm = await scanPackage(scanner(), 'rpm', opener(files.rpmClean!));
    assert.deepEqual(rpm, { ...rpm, verdict: { status: 'clean' }, scanned: ['package', 'cpio'] });
    const deb = await scanPackage(scanner(), 'deb', opener(files.debClean!));
    assert.deepEqual(deb, { ...deb, verdict: { status: 'clean' }, scanned: ['package', 'data.tar'] });
    assert.equal(deb.payloadError, undefined);
  });

  test('a payload that cannot be decompressed: the package is scanned as it is, and the result says so', async () => {
    const result = await scanPackage(scanner(), 'rpm', opener(files.rpmBzip2!));
    assert.deepEqual(result.scanned, ['package']);
    assert.match(result.payloadError ?? '', /bzip2/);
    assert.equal(result.verdict.status, 'clean');
  });

  test('hash (.hdb) signatures match a file inside the payload', async () => {
    const content = Buffer.from(infectedText);
    const hash = execFileSync('md5sum', { input: content }).toString().split(' ')[0];
    const own = await startClamd({ hdb: `${hash}:${content.length}:Repod.Test.Hash` });
    try {
      const result = await scanPackage(new ClamdScanner(clamdConnector(own.spec)), 'deb', opener(files.debInfected!));
      assert.deepEqual(result.verdict, { status: 'infected', signature: 'Repod.Test.Hash.UNOFFICIAL' });
    } finally {
      await own.stop();
    }
  });

  test('one connection serves scan after scan as a clamd session; a closed one is replaced, an idle one closed', async () => {
    const opened: ScannerConnection[] = [];
    const connect = clamdConnector(clamd.spec);
    const counting = new ClamdScanner(async () => {
      const connection = await connect();
      opened.push(connection);
      return connection;
    });
    const infected = () => bytesStream(Buffer.from(infectedText));
    const clean = () => bytesStream(Buffer.from(cleanText));
    for (let i = 0; i < 3; i++) {
      assert.deepEqual(await counting.scan(clean()), { status: 'clean' });
      assert.deepEqual(await counting.scan(infected()), { status: 'infected', signature: FOUND });
    }
    assert.equal(opened.length, 1, 'six scans one after another share one connection');
    // A package and its payload of one upload, four uploads at once: a session each, reused after.
    const four = () => Promise.all([infected(), clean(), infected(), clean()].map((s) => counting.scan(s)));
    const expected = [{ status: 'infected', signature: FOUND }, { status: 'clean' }, { status: 'infected', signature: FOUND }, { status: 'clean' }];
    assert.deepEqual(await four(), expected);
    assert.equal(opened.length, 4);
    assert.deepEqual(await four(), expected);
    assert.equal(opened.length, 4, 'the second round reuses the four sessions');
    // Sessions closed while idle, the scan already under way on one (a clamd restart looks the
    // same): the scan goes again on a new connection, with the same verdict.
    for (const c of opened) c.close();
    assert.deepEqual(await counting.scan(infected()), { status: 'infected', signature: FOUND });
    assert.equal(opened.length, 5);
    // An idle session is closed after a second without scans.
    await new Promise((r) => setTimeout(r, 1200));
    assert.deepEqual(await counting.scan(clean()), { status: 'clean' });
    assert.equal(opened.length, 6);
    counting.close();
  });

  test('the tcp: connector works too', async () => {
    const port = await freePort();
    const own = await startClamd(signatures, { tcpPort: port });
    try {
      const result = await scanPackage(new ClamdScanner(clamdConnector(own.tcpSpec!)), 'deb', opener(files.debInfected!));
      assert.deepEqual(result.verdict, { status: 'infected', signature: FOUND });
      assert.deepEqual(await new ClamdScanner(clamdConnector(own.tcpSpec!)).scan(bytesStream(Buffer.from(cleanText))), { status: 'clean' });
    } finally {
      await own.stop();
    }
  });

  test("over clamd's StreamMaxLength: too_large", async () => {
    const own = await startClamd(signatures, { streamMaxLength: '1M', tcpPort: await freePort() });
    try {
      for (const spec of [own.spec, own.tcpSpec!]) {
        for (let i = 0; i < 3; i++) {
          const verdict = await new ClamdScanner(clamdConnector(spec)).scan(bytesStream(pseudoRandomBytes(3 << 20, i)));
          assert.equal(verdict.status, 'too_large', JSON.stringify(verdict));
        }
      }
      // Under the limit, the same daemon still scans.
      assert.deepEqual(await new ClamdScanner(clamdConnector(own.spec)).scan(bytesStream(Buffer.from(infectedText))), { status: 'infected', signature: FOUND });
    } finally {
      await own.stop();
    }
  });

  test('with AlertExceedsMax, a stream clamd scanned only in part is too_large, not clean', async () => {
    const own = await startClamd(signatures, { config: ['AlertExceedsMax yes', 'MaxFileSize 1M', 'MaxScanSize 1M'] });
    try {
      const verdict = await new ClamdScanner(clamdConnector(own.spec)).scan(bytesStream(pseudoRandomBytes(3 << 20, 9)));
      assert.equal(verdict.status, 'too_large', JSON.stringify(verdict));
      assert.match((verdict as { message: string }).message, /Heuristics\.Limits\.Exceeded/);
    } finally {
      await own.stop();
    }
  });

  test('over our own limit: too_large, and nothing is opened when the size is known', async () => {
    let opened = 0;
    const open = async () => {
      opened++;
      return fileStream(files.debInfected!);
    };
    const known = await scanPackage(scanner(), 'deb', open, { maxBytes: 100, size: 5000 });
    assert.equal(known.verdict.status, 'too_large');
    assert.deepEqual(known.scanned, []);
    assert.equal(opened, 0);
    const cut = await scanPackage(scanner(), 'deb', open, { maxBytes: 100 });
    assert.equal(cut.verdict.status, 'too_large');
    assert.equal(opened, 1);
    // The payload (about 11 KB) is over a limit the package (about 1 KB) is under.
    const payload = await scanPackage(scanner(), 'deb', open, { maxBytes: 4000 });
    assert.equal(payload.verdict.status, 'too_large', JSON.stringify(payload));
    assert.deepEqual(payload.scanned, ['package']);
  });

  test('a daemon that accepts and never answers: unavailable at the deadline, the input not read ahead', async () => {
    const own = await startClamd(signatures);
    try {
      process.kill(own.pid, 'SIGSTOP');
      // A lazy 1 GiB source: only what the socket takes may be pulled from it.
      let pulled = 0;
      let cancelled = false;
      const source = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (pulled >= 1 << 30) return controller.close();
          pulled += 64 * 1024;
          controller.enqueue(new Uint8Array(64 * 1024));
        },
        cancel() {
          cancelled = true;
        },
      });
      const started = Date.now();
      const verdict = await new ClamdScanner(clamdConnector(own.spec), { timeoutMs: 800 }).scan(source);
      const took = Date.now() - started;
      assert.equal(verdict.status, 'unavailable');
      assert.match((verdict as { message: string }).message, /did not answer within 800 ms/);
      // Not before the deadline; the upper bound only says it did not wait for the 1 GiB (that is
      // `pulled`'s to prove), with room for a loaded machine's timers.
      assert.ok(took >= 750 && took < 10_000, `took ${took} ms`);
      assert.ok(pulled < 32 << 20, `pulled ${pulled} bytes from the source`);
      assert.ok(cancelled, 'the source was cancelled');
      // A small scan against the stopped daemon times out too (the reply never comes).
      const small = await new ClamdScanner(clamdConnector(own.spec), { timeoutMs: 300 }).scan(bytesStream(Buffer.from('hi')));
      assert.equal(small.status, 'unavailable');
    } finally {
      process.kill(own.pid, 'SIGCONT');
      await own.stop();
    }
  });

  test('a stopped daemon: unavailable at once', async () => {
    const own = await startClamd(signatures);
    await own.stop();
    const started = Date.now();
    const verdict = await new ClamdScanner(clamdConnector(own.spec)).scan(bytesStream(Buffer.from('hi')));
    assert.equal(verdict.status, 'unavailable');
    assert.match((verdict as { message: string }).message, /cannot connect to clamd/);
    assert.ok(Date.now() - started < 1000);
    const result = await scanPackage(new ClamdScanner(clamdConnector(own.spec)), 'deb', opener(files.debInfected!));
    assert.equal(result.verdict.status, 'unavailable');
    assert.deepEqual(result.scanned, []);
  });

  test('a daemon that dies in the middle of a scan: unavailable, not too_large', async () => {
    const own = await startClamd(signatures);
    try {
      let chunks = 0;
      const source = new ReadableStream<Uint8Array>({
        async pull(controller) {
          chunks++;
          if (chunks === 4) process.kill(own.pid, 'SIGKILL');
          if (chunks > 4) await new Promise((r) => setTimeout(r, 100));
          if (chunks > 40) return controller.close();
          controller.enqueue(new Uint8Array(16 * 1024));
        },
      });
      const verdict = await new ClamdScanner(clamdConnector(own.spec), { timeoutMs: 10_000 }).scan(source);
      assert.equal(verdict.status, 'unavailable', JSON.stringify(verdict));
      assert.ok(chunks < 40, `the scan went on for ${chunks} chunks after the daemon died`);
    } finally {
      await own.stop();
    }
  });

  test('an error of the input stream is not a verdict: it is thrown', async () => {
    const boom = new Error('storage broke');
    let n = 0;
    const source = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (n++ === 2) controller.error(boom);
        else controller.enqueue(new Uint8Array(1000));
      },
    });
    await assert.rejects(scanner().scan(source), (e) => e === boom);
    // The daemon is fine afterwards.
    assert.deepEqual(await scanner().scan(bytesStream(Buffer.from('hi'))), { status: 'clean' });
  });
});
