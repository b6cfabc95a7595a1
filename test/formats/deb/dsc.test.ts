import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidPackageError } from '../../../src/errors.ts';
import { dscFileName, parseDsc, stripClearSignature } from '../../../src/formats/deb/dsc.ts';

const enc = (s: string) => new TextEncoder().encode(s);
const MD5 = 'd41d8cd98f00b204e9800998ecf8427e';
const SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

const plain = ['Format: 3.0 (native)', 'Source: demo', 'Version: 2:1.0', 'Checksums-Sha256:', ` ${SHA256} 0 demo_1.0.tar.xz`, 'Files:', ` ${MD5} 0 demo_1.0.tar.xz`, ''].join('\n');

test('an unsigned .dsc parses; checksums of one file from every list are joined', () => {
  const dsc = parseDsc(enc(plain));
  assert.equal(dsc.signed, false);
  assert.equal(dsc.source, 'demo');
  assert.equal(dsc.version, '2:1.0');
  assert.deepEqual(dsc.files, [{ name: 'demo_1.0.tar.xz', size: 0, md5: MD5, sha256: SHA256 }]);
  assert.equal(dscFileName(dsc.source, dsc.version), 'demo_1.0.dsc');
});

test('the clear-signature armor is taken off, dash-escaping undone', () => {
  const signed = `-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\n${plain.replace('Format:', '- Format:')}\n-----BEGIN PGP SIGNATURE-----\n\nAAAA\n-----END PGP SIGNATURE-----\n`;
  const { body, signed: wasSigned } = stripClearSignature(signed);
  assert.equal(wasSigned, true);
  assert.match(body, /^Format: 3\.0 \(native\)\n/);
  assert.equal(parseDsc(enc(signed)).format, '3.0 (native)');
  assert.throws(() => parseDsc(enc(signed.slice(0, signed.indexOf('-----BEGIN PGP SIGNATURE')))), /no signature block/);
});

test('malformed .dsc files are refused with a message naming the problem', () => {
  const cases: Array<[string, RegExp]> = [
    [plain.replace(/Files:\n.*\n/, ''), /no Files field/],
    [plain.replace('Source: demo', 'Source: Demo_'), /invalid source name/],
    [plain.replace('Version: 2:1.0', 'Version: x:1'), /invalid version/],
    [plain.replace(` ${MD5} 0`, ` ${MD5} 1`), /size 0 in Files but 1|size 1 in Files but 0/],
    [plain.replace(` ${MD5} 0 demo_1.0.tar.xz`, ` ${MD5} 0 ../etc/passwd`), /not a plain file name/],
    [plain.replace(`${SHA256} 0 demo_1.0.tar.xz`, `${SHA256} 0 other.tar.xz`), /which the Files field does not list/],
    [plain.replace(` ${MD5} 0`, ' abc 0'), /not a checksum of 32 hex digits/],
    ['', /empty/],
  ];
  for (const [text, message] of cases) {
    assert.throws(
      () => parseDsc(enc(text)),
      (error: unknown) => error instanceof InvalidPackageError && message.test(error.message),
      text,
    );
  }
  assert.throws(() => parseDsc(new Uint8Array([0xff, 0xfe, 0x00])), /not UTF-8/);
});
