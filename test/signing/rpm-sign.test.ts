/**
 * RPM header signatures made in TypeScript (src/signing/rpm-sign.ts), checked by the real rpm 4.18:
 * rpmkeys --checksig verifies every signature and digest of fixtures and freshly built packages
 * signed with RSA and Ed25519 keys, reports NOKEY without the key and BAD after tampering; the
 * signature header is byte for byte what rpmsign writes for the same signature packets; our
 * parser still reads the package; and dnf with gpgcheck=1 installs what we signed.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import * as openpgp from 'openpgp';
import { InvalidPackageError, RepodError } from '../../src/errors.ts';
import { parseRpm, type RpmParseResult } from '../../src/formats/rpm/index.ts';
import { SigTag } from '../../src/formats/rpm/tags.ts';
import { needsPayloadSignature, type SignedRpmPrefix, type SignRpmOptions, signRpmHeader } from '../../src/signing/rpm-sign.ts';
import { assemblePrefix, editSignatureEntries, originalPrefix, packetEntry, SIGNATURE_TAGS, SigTagExtra } from '../../src/signing/rpm-sign-header.ts';
import { CORPUS, corpusFile, needsCorpus } from '../helpers/corpus.ts';
import { createPackagerKey, signRpms } from '../helpers/gpg.ts';
import { rpmVariety, selfBuilt } from '../helpers/packages.ts';
import { dnfClient } from '../helpers/rpm-clients.ts';
import { buildRpms } from '../helpers/rpmbuild.ts';
import { run } from '../helpers/run.ts';

/** Runs a command and hands back its exit code and output, failing or not. */
function exec(cmd: string, args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { env: { ...process.env, LC_ALL: 'C' }, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code ?? 1) : 0, output: stdout + stderr });
    });
  });
}

interface TestKey {
  key: openpgp.PrivateKey;
  publicPath: string;
  /** rpm's short key id (last 8 hex digits, lower case). */
  short: string;
}

async function makeKey(dir: string, name: string, type: 'rsa' | 'ed25519'): Promise<TestKey> {
  const { privateKey } = await openpgp.generateKey({
    ...(type === 'rsa' ? { type: 'rsa' as const, rsaBits: 2048 } : { type: 'ecc' as const, curve: 'curve25519Legacy' as const }),
    userIDs: [{ name, email: `${type}@example.com` }],
    format: 'object',
    date: new Date(Date.now() - 24 * 3600 * 1000),
  });
  const publicPath = join(dir, `${name.replace(/\W+/g, '-')}.asc`);
  await writeFile(publicPath, privateKey.toPublic().armor());
  return { key: privateKey, publicPath, short: privateKey.getKeyID().toHex().slice(-8) };
}

interface Signed {
  path: string;
  before: RpmParseResult;
  after: RpmParseResult;
  result: SignedRpmPrefix;
}

/** Signs a package file into `outDir` (prefix + the original bytes from the main header on). */
async function signFile(src: string, key: openpgp.PrivateKey, outDir: string, options: SignRpmOptions = {}): Promise<Signed> {
  const bytes = new Uint8Array(await readFile(src));
  const parsed = parseRpm(bytes);
  const start = parsed.signature.headerRange.start;
  // Packages without a payload digest get rpmsign's header+payload signature too: stream the bytes.
  const payload = needsPayloadSignature(parsed) ? (Readable.toWeb(createReadStream(src, { start })) as ReadableStream<Uint8Array>) : undefined;
  const result = await signRpmHeader(parsed, key, { payload, ...options });
  const out = join(outDir, basename(src));
  const signed = new Uint8Array(result.prefix.length + bytes.length - start);
  signed.set(result.prefix, 0);
  signed.set(bytes.subarray(start), result.prefix.length);
  await writeFile(out, signed);
  return { path: out, before: parsed, after: parseRpm(signed), result };
}

function checksig(db: string, file: string) {
  return exec('rpmkeys', ['--dbpath', db, '--checksig', '-v', file]);
}

/** Every line after the file name, trimmed. */
function checksigLines(output: string): string[] {
  return output
    .split('\n')
    .slice(1)
    .map((l) => l.trim())
    .filter(Boolean);
}

/** Self-built: unsigned ones by rpm 4.18 (payload digest, reserved space), and one signed with a gpg key (replaced). */
const VARIETY = await rpmVariety();
const SELF_BUILT = ['hello-2.0-1.x86_64.rpm', 'weak-deps-1.2.3~rc1-4.el9.x86_64.rpm', 'many-files-0.9-1.noarch.rpm', 'signed-pkg-3.1-1.noarch.rpm'].map(
  (name) => VARIETY.find((path) => basename(path) === name)!,
);
const HELLO = await selfBuilt('hello-2.0-1.x86_64.rpm');
const SIGNED = SELF_BUILT[3];

/** From the third-party corpus (helpers/corpus.ts). */
const FIXTURES = [
  // signed by rpm's test key (RSAHEADER + legacy PGP): replaced
  'hello-2.0-1.x86_64-signed.rpm',
  // rpm 6 "v6" format: no SHA1/MD5, SHA3-256, reserved space 999, RSA signatures
  'hlinktest-1.0-1.noarch-v3sig.rpm',
  // IMA file signatures in the signature header: kept
  'imatest-1.0-1.fc34.noarch.rpm',
  // no payload digest (so a header+payload signature is added), EdDSA-signed, no reserved space
  'empty-signed-eddsa-0-0.x86_64.rpm',
  // a real EL8 package signed with V3 signature packets
  'crypto-policies-20210617-1.gitc776d3e.el8.noarch.rpm',
];

describe('RPM header signing (rpmsign --addsign in TypeScript)', () => {
  let dir: string;
  let db: string;
  let emptyDb: string;
  let rsa: TestKey;
  let ed: TestKey;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'repod-rpm-sign-'));
    db = join(dir, 'db');
    emptyDb = join(dir, 'empty-db');
    await mkdir(db);
    await mkdir(emptyDb);
    [rsa, ed] = await Promise.all([makeKey(dir, 'repod rsa', 'rsa'), makeKey(dir, 'repod ed25519', 'ed25519')]);
    for (const k of [rsa, ed]) await run('rpmkeys', ['--dbpath', db, '--import', k.publicPath]);
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const packages = [
    ...SELF_BUILT.map((path) => ({ name: basename(path), file: () => path, skip: false as const })),
    ...FIXTURES.map((name) => ({ name, file: () => corpusFile(name), skip: needsCorpus() })),
  ];
  for (const { name, file, skip } of packages) {
    for (const which of ['rsa', 'ed25519'] as const) {
      it(`${name} with ${which}: rpmkeys verifies every signature and digest, rpm and our parser read it`, { skip }, async () => {
        const k = which === 'rsa' ? rsa : ed;
        const out = join(dir, `fixtures-${which}`);
        await mkdir(out, { recursive: true });
        const { path, before: old, after: signed, result } = await signFile(file(), k.key, out);
        const algorithm = which === 'rsa' ? 'RSA/SHA256' : 'EdDSA/SHA512';
        assert.equal(result.algorithm, algorithm);
        assert.equal(result.keyId, k.key.getKeyID().toHex().toUpperCase());
        assert.equal(result.headerTag, which === 'rsa' ? SigTag.RSA : SigTag.DSA);
        assert.equal(result.changed, true);
        assert.equal(result.payloadSigned, needsPayloadSignature(old));

        const { code, output } = await checksig(db, path);
        const lines = checksigLines(output);
        assert.equal(code, 0, output);
        assert.ok(
          lines.every((l) => l.endsWith(': OK')),
          output,
        );
        assert.ok(lines.includes(`Header V4 ${algorithm} Signature, key ID ${k.short}: OK`), output);
        const digests = [
          old.signature.sha256 && 'Header SHA256 digest: OK',
          old.signature.sha1 && 'Header SHA1 digest: OK',
          old.payloadDigest && 'Payload SHA256 digest: OK',
          old.signature.md5 && 'MD5 digest: OK',
          result.payloadSigned && `V4 ${algorithm} Signature, key ID ${k.short}: OK`,
        ].filter(Boolean);
        for (const line of digests) assert.ok(lines.includes(line as string), `${line} missing:\n${output}`);
        assert.equal(lines.length, digests.length + 1, output);

        const query = await run('rpm', ['--dbpath', db, '-qp', '--qf', '%{SIGPGP:pgpsig}|%{RSAHEADER:pgpsig}|%{DSAHEADER:pgpsig}|%{SIGGPG:pgpsig}', path]);
        const [sigpgp, rsaheader, dsaheader, siggpg] = query.trim().split('|');
        const mentions = (s: string) => s.toLowerCase().includes(`key id ${k.key.getKeyID().toHex()}`);
        assert.ok(mentions(which === 'rsa' ? rsaheader : dsaheader), query);
        assert.equal(which === 'rsa' ? dsaheader : rsaheader, '(none)', query);
        assert.equal(mentions(which === 'rsa' ? sigpgp : siggpg), result.payloadSigned, query);

        // Our parser reads the same package; only the main header moved if the signature header resized.
        const shift = signed.signature.headerRange.start - old.signature.headerRange.start;
        assert.deepEqual(signed.pkg, { ...old.pkg, headerStart: old.pkg.headerStart + shift, headerEnd: old.pkg.headerEnd + shift });
        for (const field of ['sha1', 'sha256', 'sha3_256', 'md5', 'size', 'longSize', 'payloadSize', 'longArchiveSize'] as const) {
          assert.deepEqual(signed.signature[field], old.signature[field], field);
        }
        assert.deepEqual(signed.signature.header, old.signature.header);
        const keptTags = (r: RpmParseResult) =>
          r.signature.tags.filter((t) => !SIGNATURE_TAGS.includes(t.tag) && t.tag !== SigTagExtra.RESERVEDSPACE && t.tag !== SigTagExtra.RESERVED);
        assert.deepEqual(keptTags(signed), keptTags(old));
        // The new signature header replaces every old signature.
        const ours = which === 'rsa' ? signed.signature.rsa : signed.signature.dsa;
        assert.ok(ours && (await openpgp.readSignature({ binarySignature: ours })).getSigningKeyIDs()[0].equals(k.key.getKeyID()));
        assert.equal(which === 'rsa' ? signed.signature.dsa : signed.signature.rsa, undefined);
        assert.equal(which === 'rsa' ? signed.signature.gpg : signed.signature.pgp, undefined);
        assert.equal((which === 'rsa' ? signed.signature.pgp : signed.signature.gpg) !== undefined, result.payloadSigned);
        if ((old.rpmFormat ?? 0) >= 6) {
          // rpm 6 reads OPENPGP (278): it holds the same packet, base64.
          assert.deepEqual(signed.signature.openpgp, [Buffer.from(ours).toString('base64')]);
        } else {
          assert.equal(signed.signature.openpgp, undefined);
        }
        // With a reserved-space tag the signature header keeps its size, as rpmsign keeps it.
        const reserve = old.signature.tags.some((t) => t.tag === SigTagExtra.RESERVEDSPACE || t.tag === SigTagExtra.RESERVED);
        if (reserve) assert.equal(result.prefix.length, old.signature.headerRange.start);
        assert.equal(result.prefix.length % 8, 0);
      });
    }
  }

  it('without the key rpm reports NOKEY; a changed header byte is BAD', async () => {
    const out = join(dir, 'nokey');
    await mkdir(out, { recursive: true });
    for (const k of [rsa, ed]) {
      const { path, after: signed, result } = await signFile(HELLO, k.key, out);
      const nokey = await checksig(emptyDb, path);
      assert.notEqual(nokey.code, 0);
      assert.match(nokey.output, new RegExp(`Header V4 ${result.algorithm} Signature, key ID ${k.short}: NOKEY`));

      // Flip one byte of the package name in the main header (inside its data store).
      const bytes = new Uint8Array(await readFile(path));
      const start = signed.signature.headerRange.start;
      const at = start + bytes.subarray(start, signed.signature.headerRange.end).indexOf(0x68 /* h of hello */);
      bytes[at] ^= 0x20;
      const tampered = join(out, `tampered-${basename(path)}`);
      await writeFile(tampered, bytes);
      const bad = await checksig(db, tampered);
      assert.notEqual(bad.code, 0);
      assert.match(bad.output, new RegExp(`Header V4 ${result.algorithm} Signature, key ID ${k.short}: BAD`), bad.output);
      assert.match(bad.output, /Header SHA256 digest: BAD/);
    }
  });

  it('writes the signature header byte for byte as rpmsign does for the same signature packets', async () => {
    const gpgKey = await createPackagerKey('repod rpmsign twin');
    const out = join(dir, 'rpmsign');
    await mkdir(out, { recursive: true });
    // The unsigned self-built ones and the corpus's imatest are signed in place (reserved space
    // shrinks); the corpus's EdDSA one has no reserved space and no payload digest: new size,
    // header+payload signature too.
    const sources = [...SELF_BUILT.slice(0, 3), ...(CORPUS ? ['imatest-1.0-1.fc34.noarch.rpm', 'empty-signed-eddsa-0-0.x86_64.rpm'].map(corpusFile) : [])];
    const names = sources.map((path) => basename(path));
    const copies = names.map((n) => join(out, n));
    for (const [i, source] of sources.entries()) await copyFile(source, copies[i]);
    await signRpms(gpgKey, copies);
    for (const [i, n] of names.entries()) {
      const original = new Uint8Array(await readFile(sources[i]));
      const fromRpmsign = new Uint8Array(await readFile(copies[i]));
      const old = parseRpm(original);
      const theirs = parseRpm(fromRpmsign);
      assert.ok(theirs.signature.rsa, n);
      const add = [packetEntry(SigTag.RSA, theirs.signature.rsa)];
      if (theirs.signature.pgp) add.push(packetEntry(SigTag.PGP, theirs.signature.pgp));
      assert.equal(theirs.signature.pgp !== undefined, needsPayloadSignature(old), n);
      const entries = editSignatureEntries(old.signature.tags, { remove: SIGNATURE_TAGS, add, reserveTag: SigTagExtra.RESERVEDSPACE });
      const prefix = assemblePrefix(originalPrefix(old)!, entries);
      assert.deepEqual(Buffer.from(prefix), Buffer.from(fromRpmsign.subarray(0, theirs.signature.headerRange.start)), n);
      assert.deepEqual(Buffer.from(fromRpmsign.subarray(prefix.length)), Buffer.from(original.subarray(old.signature.headerRange.start)), n);
    }
  });

  it('leaves a package signed by the same key as it is (--addsign), signs again with resign', async () => {
    const out = join(dir, 'again');
    await mkdir(out, { recursive: true });
    const first = await signFile(SIGNED, rsa.key, out, { date: new Date(Date.now() - 3600_000) });
    const firstBytes = new Uint8Array(await readFile(first.path));
    const again = await signRpmHeader(first.after, rsa.key);
    assert.equal(again.changed, false);
    assert.deepEqual(Buffer.from(again.prefix), Buffer.from(firstBytes.subarray(0, first.after.signature.headerRange.start)));
    const other = await signRpmHeader(first.after, ed.key);
    assert.equal(other.changed, true);
    const resigned = await signRpmHeader(first.after, rsa.key, { resign: true });
    assert.equal(resigned.changed, true);
    assert.equal(resigned.prefix.length, again.prefix.length);
    assert.notDeepEqual(Buffer.from(resigned.prefix), Buffer.from(again.prefix));
    // Without the parser's buffer, the lead comes from `original`; with neither it is rebuilt.
    const detached: RpmParseResult = { ...first.after, signature: { ...first.after.signature, header: first.after.signature.header.slice() } };
    const withOriginal = await signRpmHeader(detached, rsa.key, { original: firstBytes, resign: true });
    assert.deepEqual(Buffer.from(withOriginal.prefix.subarray(0, 96)), Buffer.from(firstBytes.subarray(0, 96)));
    const rebuilt = await signRpmHeader(detached, rsa.key, { resign: true });
    assert.deepEqual(parseRpm(Buffer.concat([rebuilt.prefix, firstBytes.subarray(first.after.signature.headerRange.start)])).lead, first.after.lead);
  });

  it('refuses what rpmsign refuses: v3 packages', { skip: needsCorpus() }, async () => {
    const v3 = parseRpm(new Uint8Array(await readFile(corpusFile('hello-1.0-1.x86_64.rpm-v3'))));
    await assert.rejects(signRpmHeader(v3, rsa.key), (e: unknown) => e instanceof InvalidPackageError && /v3 package/.test(e.message));
  });

  it('refuses what rpmsign refuses: corrupt headers, keys rpm 4.18 cannot verify, a wrong payload', async () => {
    const bytes = new Uint8Array(await readFile(HELLO));
    const parsed = parseRpm(bytes);
    const corrupt = bytes.slice();
    const h = parsed.signature.headerRange;
    const at = h.start + corrupt.subarray(h.start, h.end).indexOf(0x68);
    corrupt[at] ^= 0x20;
    await assert.rejects(signRpmHeader(parseRpm(corrupt), rsa.key), (e: unknown) => e instanceof InvalidPackageError && /corrupt/.test(e.message));

    const { privateKey: ecdsa } = await openpgp.generateKey({ type: 'ecc', curve: 'nistP256', userIDs: [{ name: 'p256', email: 'p256@example.com' }], format: 'object' });
    await assert.rejects(signRpmHeader(parsed, ecdsa), (e: unknown) => e instanceof RepodError && e.code === 'unsupported_signing_key');

    const rest = bytes.subarray(h.start);
    await assert.rejects(signRpmHeader(parsed, rsa.key, { payload: rest.subarray(1) }), /does not start with the main header/);
    const shortStream = new Blob([rest.subarray(0, rest.length - 1)]).stream();
    await assert.rejects(signRpmHeader(parsed, rsa.key, { payload: shortStream }), /has \d+ bytes, the signature header records/);
    // The right bytes as a stream: rpm verifies the header+payload signature.
    const ok = await signRpmHeader(parsed, rsa.key, { payload: new Blob([rest]).stream() });
    assert.equal(ok.payloadSigned, true);
    const path = join(dir, 'payload-stream.rpm');
    await writeFile(path, Buffer.concat([ok.prefix, rest]));
    const check = await checksig(db, path);
    assert.equal(check.code, 0, check.output);
    assert.match(check.output, new RegExp(`\\n\\s+V4 RSA/SHA256 Signature, key ID ${rsa.short}: OK`));
  });

  it('dnf with gpgcheck=1 installs packages we signed (RSA and Ed25519) and refuses one signed by an unknown key', async () => {
    const build = join(dir, 'build');
    const repo = join(dir, 'repo');
    await mkdir(repo, { recursive: true });
    const spec = (name: string) => ({
      name,
      version: '1.0',
      arch: 'noarch',
      autoReqProv: false,
      files: [{ path: `/usr/share/${name}/data.txt`, content: `${name} data\n` }],
      sourceDateEpoch: 1700000000,
    });
    const [a, b, c] = await buildRpms([spec('signed-rsa'), spec('signed-ed'), spec('signed-stranger')], build);
    const stranger = await makeKey(dir, 'stranger', 'rsa');
    for (const [file, key] of [
      [a, rsa.key],
      [b, ed.key],
      [c, stranger.key],
    ] as const) {
      const { path } = await signFile(file, key, repo);
      const check = await checksig(db, path);
      if (key === stranger.key) assert.match(check.output, /NOKEY/);
      else assert.equal(check.code, 0, check.output);
    }
    await run('createrepo_c', ['--quiet', repo]);
    const client = await dnfClient(`file://${repo}/`, { gpgkeys: [`file://${rsa.publicPath}`, `file://${ed.publicPath}`], repoGpgcheck: false });
    const installed = await client.dnf(['install', 'signed-rsa', 'signed-ed']);
    for (const k of [rsa, ed]) assert.match(installed, new RegExp(`Importing GPG key 0x${k.short.toUpperCase()}`), installed);
    assert.equal(await readFile(join(client.root, 'usr/share/signed-rsa/data.txt'), 'utf8'), 'signed-rsa data\n');
    assert.equal(await readFile(join(client.root, 'usr/share/signed-ed/data.txt'), 'utf8'), 'signed-ed data\n');
    await assert.rejects(client.dnf(['install', 'signed-stranger']), /not correct for this package[\s\S]*signed-stranger/);
    await rm(client.dir, { recursive: true, force: true });
  });
});
