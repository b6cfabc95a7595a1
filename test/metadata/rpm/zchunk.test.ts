/**
 * The zchunk writer against Debian's zchunk tools and createrepo_c --zck on the same packages:
 * a primary.xml.zck assembled from per-package chunks must read back (unzck) to the exact XML,
 * zck_read_header must verify it (-f) and show the header checksum, header size, data checksum
 * and chunks the writer reports, and its layout must be createrepo_c's (an empty dictionary, the
 * XML header alone in the first data chunk, one chunk per package) except that repod's XML footer
 * is a chunk of its own where createrepo_c appends it to the last package's chunk.
 */

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseRpm } from '../../../src/formats/rpm/index.ts';
import { zchunkChunk } from '../../../src/formats/zchunk/chunk.ts';
import { compressedInt, zchunkHeader } from '../../../src/formats/zchunk/header.ts';
import { primaryFooter, primaryHeader, renderPrimaryPackage } from '../../../src/metadata/rpm/primary.ts';
import { renderRepomd } from '../../../src/metadata/rpm/repomd.ts';
import { nodeCapabilities } from '../../../src/runtime/node-core.ts';
import { memoryStore } from '../../../src/storage/memory.ts';
import { corpusFile, needsCorpus } from '../../helpers/corpus.ts';
import { run } from '../../helpers/run.ts';
import { ensureZchunkTools, parseZckHeader } from '../../helpers/zchunk-tools.ts';

const PACKAGES = ['animaniacs-0.1-1.noarch.rpm', 'Archer-3.4.5-6.x86_64.rpm', 'complex-package-2.3.4-5.el8.x86_64.rpm'];

const sha256 = (bytes: Uint8Array | string) => createHash('sha256').update(bytes).digest('hex');

describe('zchunk writer', { skip: ensureZchunkTools() || needsCorpus() }, () => {
  let dir: string;
  const caps = nodeCapabilities(memoryStore());
  const fragments: string[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'repod-zck-'));
    await mkdir(join(dir, 'repo'));
    for (const name of PACKAGES) {
      await copyFile(corpusFile(name), join(dir, 'repo', name));
      const bytes = new Uint8Array(await readFile(corpusFile(name)));
      const { pkg } = parseRpm(bytes);
      const fileTime = Math.floor((await stat(join(dir, 'repo', name))).mtimeMs / 1000);
      fragments.push(renderPrimaryPackage(pkg, { fileName: name, sha256: sha256(bytes), size: bytes.length, fileTime }, name));
    }
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('compressed integers: seven bits a byte, the last byte marked', () => {
    assert.deepEqual(compressedInt(0), [0x80]);
    assert.deepEqual(compressedInt(127), [0xff]);
    assert.deepEqual(compressedInt(128), [0x00, 0x81]);
    assert.deepEqual(compressedInt(300), [0x2c, 0x82]);
  });

  test('a file made of per-package chunks reads back to the XML, with the checksums written', async () => {
    const parts = [primaryHeader(fragments.length), ...fragments, primaryFooter()];
    const xml = parts.join('');
    const chunks = [];
    for (const p of parts) chunks.push(await zchunkChunk(new TextEncoder().encode(p), caps.zstd!, () => caps.hash('sha512')));
    const data = Buffer.concat(chunks.map((c) => c.bytes));
    const header = await zchunkHeader(chunks, sha256(data), () => caps.hash('sha256'));
    const file = join(dir, 'primary.xml.zck');
    await writeFile(file, Buffer.concat([header.bytes, data]));

    const out = await run('unzck', ['-c', file], { timeoutMs: 30_000 });
    assert.equal(out, xml);

    const shown = parseZckHeader(await run('zck_read_header', ['-c', '-f', file], { timeoutMs: 30_000 }));
    assert.equal(shown.fields.get('Overall checksum type'), 'SHA-256');
    assert.equal(shown.fields.get('Header checksum'), header.checksum);
    assert.equal(shown.fields.get('Header size'), String(header.size));
    assert.equal(shown.fields.get('Data checksum'), sha256(data));
    assert.equal(shown.fields.get('Chunk checksum type'), 'SHA-512/128');
    assert.equal(shown.fields.get('Chunk count'), String(parts.length + 1));
    assert.deepEqual(shown.chunks, [
      { checksum: '0'.repeat(32), comp: 0, size: 0 },
      ...chunks.map((c) => ({ checksum: Buffer.from(c.checksum).toString('hex'), comp: c.length, size: c.openLength })),
    ]);

    // Laid out as createrepo_c lays out its own, on the same packages.
    const cr = spawnSync('createrepo_c', ['--quiet', '--zck', '--no-database', join(dir, 'repo')], { encoding: 'utf8', timeout: 120_000 });
    assert.equal(cr.status, 0, cr.stderr);
    const names = await readdir(join(dir, 'repo', 'repodata'));
    const theirs = join(dir, 'repo', 'repodata', names.find((n) => n.endsWith('-primary.xml.zck'))!);
    const theirXml = await run('unzck', ['-c', theirs], { timeoutMs: 30_000 });
    const theirHeader = parseZckHeader(await run('zck_read_header', ['-c', theirs], { timeoutMs: 30_000 }));
    // Same XML (createrepo_c orders packages its own way: compare as sets of package fragments).
    assert.equal(theirXml.length, xml.length);
    assert.deepEqual(
      theirXml
        .split('<package ')
        .slice(1)
        .map((p) => p.replace('</metadata>\n', ''))
        .sort(),
      xml
        .split('<package ')
        .slice(1)
        .map((p) => p.replace('</metadata>\n', ''))
        .sort(),
    );
    // Empty dictionary, the XML header alone, one chunk per package; repod adds the footer chunk.
    assert.deepEqual(theirHeader.chunks[0], { checksum: '0'.repeat(32), comp: 0, size: 0 });
    assert.equal(theirHeader.chunks[1].size, Buffer.byteLength(primaryHeader(fragments.length)));
    assert.equal(theirHeader.chunks.length, fragments.length + 2);
    assert.equal(shown.chunks.length, fragments.length + 3);
  });

  test('repomd.xml lists a zck record with the fields createrepo_c writes, in its order', () => {
    const xml = renderRepomd({
      revision: '1',
      records: [
        { type: 'primary_zck', href: 'repodata/x-primary.xml.zck', checksum: 'a', openChecksum: 'b', headerChecksum: 'c', size: 1, openSize: 2, headerSize: 3, timestamp: 4 },
      ],
    });
    assert.match(
      xml,
      /<data type="primary_zck">\n {4}<checksum type="sha256">a<\/checksum>\n {4}<open-checksum type="sha256">b<\/open-checksum>\n {4}<header-checksum type="sha256">c<\/header-checksum>\n {4}<location href="repodata\/x-primary.xml.zck"\/>\n {4}<timestamp>4<\/timestamp>\n {4}<size>1<\/size>\n {4}<open-size>2<\/open-size>\n {4}<header-size>3<\/header-size>\n {2}<\/data>/,
    );
  });
});
