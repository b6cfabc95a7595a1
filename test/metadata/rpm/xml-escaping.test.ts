import assert from 'node:assert/strict';
import { test } from 'node:test';
import { escapeAttr, escapeText } from '../../../src/metadata/xml.ts';

test('text: entities for & < > and a character reference for CR, quotes stay literal', () => {
  assert.equal(escapeText('plain'), 'plain');
  assert.equal(escapeText('a & b <c> "d" \'e\''), 'a &amp; b &lt;c&gt; "d" \'e\'');
  assert.equal(escapeText('x]]>y'), 'x]]&gt;y');
  assert.equal(escapeText('line\r\nnext\ttab'), 'line&#13;\nnext\ttab');
});

test('text: non-ASCII is written as is (UTF-8 output)', () => {
  assert.equal(escapeText('Balíček ěščř – 😀'), 'Balíček ěščř – 😀');
  assert.equal(escapeText('\u0080\u009f\u00a0'), '\u0080\u009f\u00a0');
});

test('text: characters XML 1.0 forbids are dropped', () => {
  assert.equal(escapeText('a\u0000b\u0001c\u0008d\u000be\u000cf\u001fg'), 'abcdefg');
  assert.equal(escapeText('lone \ud800 high, lone \udc00 low'), 'lone  high, lone  low');
  assert.equal(escapeText('x\ufffey\uffffz'), 'xyz');
  assert.equal(escapeText('\u001b[1mbold&'), '[1mbold&amp;');
});

test('attribute: entities for & < > " and character references for whitespace controls', () => {
  assert.equal(escapeAttr('foo-bar_1.2+3~rc:(x)/y'), 'foo-bar_1.2+3~rc:(x)/y');
  assert.equal(escapeAttr('A <a@b.c> & "q" \'s\''), "A &lt;a@b.c&gt; &amp; &quot;q&quot; 's'");
  assert.equal(escapeAttr('a\nb\rc\td'), 'a&#10;b&#13;c&#9;d');
  assert.equal(escapeAttr('del\u007f'), 'del\u007f');
});

test('attribute: non-ASCII becomes upper-case hexadecimal character references, as libxml2 writes', () => {
  assert.equal(escapeAttr('Tomáš Mlčoch'), 'Tom&#xE1;&#x161; Ml&#x10D;och');
  assert.equal(escapeAttr('Bal\u00ed\u00e8ek'), 'Bal&#xED;&#xE8;ek');
  assert.equal(escapeAttr('\u0080'), '&#x80;');
  assert.equal(escapeAttr('smile 😀'), 'smile &#x1F600;');
  assert.equal(escapeAttr('\u20ac'), '&#x20AC;');
});

test('attribute: forbidden characters are dropped', () => {
  assert.equal(escapeAttr('a\u0000b\u0007c'), 'abc');
  assert.equal(escapeAttr('x\ud83dy'), 'xy');
  assert.equal(escapeAttr('x\ude00y'), 'xy');
  assert.equal(escapeAttr('\ufffe\uffff'), '');
});

test('escaping leaves well-formed XML that a strict decoder accepts', () => {
  const nasty = Array.from({ length: 0x110 }, (_, i) => String.fromCharCode(i)).join('') + '\ud800\udfff\ud800';
  for (const escaped of [escapeText(nasty), escapeAttr(nasty)]) {
    assert.doesNotMatch(escaped, /[\x00-\x08\x0b\x0c\x0e-\x1f]/);
    assert.doesNotThrow(() => new TextDecoder('utf-8', { fatal: true }).decode(new TextEncoder().encode(escaped)));
    assert.ok(escaped.isWellFormed());
  }
});
