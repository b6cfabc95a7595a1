/**
 * The outbound address policy as a table: which literal addresses count as public (IPv4, IPv6,
 * the IPv6 forms that carry an IPv4 address), and what REPOD_OUTBOUND_ALLOWED_HOSTS admits.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RepodError } from '../../src/errors.ts';
import { isPublicAddress, parseAllowList } from '../../src/outbound/address-policy.ts';

const PUBLIC = [
  '8.8.8.8',
  '1.1.1.1',
  '93.184.216.34',
  '9.255.255.255',
  '11.0.0.0',
  '100.63.255.255',
  '100.128.0.0',
  '172.15.255.255',
  '172.32.0.0',
  '192.167.255.255',
  '192.169.0.0',
  '223.255.255.255',
  '2606:4700:4700::1111',
  '2a00:1450:4001:82a::200e',
  '[2606:4700:4700::1111]',
  '::ffff:8.8.8.8',
  '::ffff:808:808',
  '64:ff9b::8.8.8.8',
  '2002:808:808::1',
];

const NOT_PUBLIC = [
  // IPv4 special blocks
  '0.0.0.0',
  '0.1.2.3',
  '10.0.0.1',
  '10.255.255.255',
  '100.64.0.1',
  '100.127.255.255',
  '127.0.0.1',
  '127.255.255.254',
  '169.254.169.254',
  '172.16.0.1',
  '172.31.255.255',
  '192.0.0.1',
  '192.0.2.1',
  '192.88.99.1',
  '192.168.1.1',
  '198.18.0.1',
  '198.19.255.255',
  '198.51.100.1',
  '203.0.113.1',
  '224.0.0.1',
  '239.255.255.250',
  '240.0.0.1',
  '255.255.255.255',
  // IPv6 special blocks
  '::',
  '::1',
  '[::1]',
  '0:0:0:0:0:0:0:1',
  'fc00::1',
  'fd12:3456:789a::1',
  'fe80::1',
  'fe80::1%eth0',
  'febf:ffff::1',
  'fec0::1',
  'ff02::1',
  '100::1',
  '2001:db8::1',
  '2001::1',
  '3fff::1',
  '5f00::1',
  // IPv4 inside IPv6
  '::ffff:127.0.0.1',
  '::ffff:7f00:1',
  '::ffff:10.0.0.1',
  '::ffff:a9fe:a9fe',
  '::ffff:0.0.0.0',
  '64:ff9b::127.0.0.1',
  '2002:c0a8:101::1',
  '::127.0.0.1',
  // not addresses at all
  'localhost',
  'example.com',
  '',
  '1.2.3',
  '1.2.3.4.5',
  '01.2.3.4',
  '1.2.3.256',
  '0x7f.0.0.1',
  '2130706433',
  '1::2::3',
  '1:2:3:4:5:6:7:8:9',
  'g::1',
];

describe('isPublicAddress', () => {
  for (const ip of PUBLIC) it(`${ip} is public`, () => assert.equal(isPublicAddress(ip), true));
  for (const ip of NOT_PUBLIC) it(`${JSON.stringify(ip)} is not public`, () => assert.equal(isPublicAddress(ip), false));
});

describe('parseAllowList', () => {
  it('an unset or empty list allows nothing', () => {
    for (const text of [undefined, '', ' , ,']) {
      const list = parseAllowList(text);
      assert.equal(list.allowsHost('localhost'), false);
      assert.equal(list.allowsAddress('127.0.0.1'), false);
    }
  });

  it('a literal address allows exactly that address', () => {
    const list = parseAllowList('127.0.0.1');
    assert.equal(list.allowsAddress('127.0.0.1'), true);
    assert.equal(list.allowsAddress('127.0.0.2'), false);
    assert.equal(list.allowsHost('127.0.0.1'), true);
    assert.equal(list.allowsAddress('::ffff:127.0.0.1'), true, 'the IPv4-mapped form of a listed address');
    assert.equal(list.allowsHost('localhost'), false, 'an address does not list a name');
  });

  it('IPv4 and IPv6 CIDR blocks', () => {
    const list = parseAllowList(' 127.0.0.0/8 , 10.20.0.0/16, fd00::/8, ::1, 192.168.1.77/24 ');
    for (const ip of ['127.1.2.3', '10.20.255.1', 'fd12::1', '::1', '[::1]', '::ffff:7f00:1', '192.168.1.1']) assert.equal(list.allowsAddress(ip), true, ip);
    for (const ip of ['128.0.0.1', '10.21.0.1', 'fe80::1', '::2', '192.168.2.1', 'not-an-ip']) assert.equal(list.allowsAddress(ip), false, ip);
    assert.equal(list.allowsHost('[fd00::5]'), true);
    assert.equal(list.allowsHost('10.20.1.1'), true);
  });

  it('host names match exactly, without case or a trailing dot', () => {
    const list = parseAllowList('Mirror.LAN,localhost');
    assert.equal(list.allowsHost('mirror.lan'), true);
    assert.equal(list.allowsHost('MIRROR.lan.'), true);
    assert.equal(list.allowsHost('localhost'), true);
    assert.equal(list.allowsHost('other.lan'), false);
    assert.equal(list.allowsHost('evil-mirror.lan'), false);
    assert.equal(list.allowsHost('mirror.lan.evil.com'), false);
    assert.equal(list.allowsAddress('127.0.0.1'), false, 'a name does not list its addresses');
  });

  it('a bad entry is a configuration error naming it', () => {
    for (const entry of ['10.0.0.0/33', '::/129', 'x.y/8', '10.0.0.0/', 'http://mirror', 'mirror:8080', 'two words', '999.1.1.1', '-bad-.com', '1.2.3.4/08a']) {
      assert.throws(
        () => parseAllowList(`localhost, ${entry}`),
        (error: unknown) => error instanceof RepodError && error.code === 'invalid_config' && error.message.includes(JSON.stringify(entry)),
        entry,
      );
    }
  });
});
