/**
 * Byte ranges over streamed bodies: parsing (merging, suffixes, unsatisfiable and ignored
 * headers), single and multipart answers cut from a stream in arbitrary chunks, and the
 * Content-Length announced for a multipart body.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { multipartFraming, parseByteRanges, rangesOfStream } from '../../src/http/byte-ranges.ts';

const bytes = Uint8Array.from({ length: 1000 }, (_, i) => i % 251);

/** The bytes as a stream cut into pieces of the given sizes (cycled). */
function chunked(sizes: number[]): ReadableStream<Uint8Array> {
  let at = 0;
  let i = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= bytes.length) return controller.close();
      const n = sizes[i++ % sizes.length]!;
      controller.enqueue(bytes.slice(at, at + n));
      at += n;
    },
  });
}

const collect = async (stream: ReadableStream<Uint8Array>) => new Uint8Array(await new Response(stream).arrayBuffer());

test('parses, sorts and merges ranges; suffixes; unsatisfiable and ignored headers', () => {
  assert.deepEqual(parseByteRanges('bytes=0-99', 1000), [{ start: 0, end: 99 }]);
  assert.deepEqual(parseByteRanges('bytes=500-', 1000), [{ start: 500, end: 999 }]);
  assert.deepEqual(parseByteRanges('bytes=-10', 1000), [{ start: 990, end: 999 }]);
  assert.deepEqual(parseByteRanges('bytes=900-2000', 1000), [{ start: 900, end: 999 }]);
  assert.deepEqual(parseByteRanges('bytes=200-299, 0-9, 5-20, 21-30', 1000), [
    { start: 0, end: 30 },
    { start: 200, end: 299 },
  ]);
  assert.deepEqual(parseByteRanges('bytes=0-9,2000-3000', 1000), [{ start: 0, end: 9 }], 'an unsatisfiable range among others is dropped');
  assert.equal(parseByteRanges('bytes=1000-1001', 1000), 'invalid');
  assert.equal(parseByteRanges(undefined, 1000), null);
  assert.equal(parseByteRanges('items=0-1', 1000), null);
  assert.equal(parseByteRanges('bytes=9-1', 1000), null, 'last < first: the header is ignored');
  assert.equal(parseByteRanges(`bytes=${Array.from({ length: 600 }, (_, i) => `${i * 2}-${i * 2}`).join(',')}`, 2000), null, 'too many ranges: the whole file');
});

test('one range cut from a stream in any chunking', async () => {
  for (const sizes of [[1], [7], [100], [1000], [3, 250, 11]]) {
    const got = await collect(rangesOfStream(chunked(sizes), [{ start: 123, end: 456 }]));
    assert.deepEqual(got, bytes.slice(123, 457), `chunks of ${sizes}`);
  }
});

test('several ranges as multipart/byteranges, with the length announced', async () => {
  const ranges = [
    { start: 0, end: 9 },
    { start: 10 + 1, end: 11 },
    { start: 500, end: 749 },
    { start: 998, end: 999 },
  ];
  for (const sizes of [[1], [13], [1000], [5, 600]]) {
    const framing = multipartFraming('B0UND', 'application/zchunk', ranges, bytes.length);
    const got = await collect(rangesOfStream(chunked(sizes), ranges, framing.heads, framing.tail));
    assert.equal(got.length, framing.length, `chunks of ${sizes}`);
    const text = new TextDecoder('latin1').decode(got);
    const parts = text.split(/\r?\n?--B0UND(?:--)?\r\n/).filter((p) => p.length > 0);
    assert.equal(parts.length, ranges.length);
    for (const [i, r] of ranges.entries()) {
      const [head, body] = [parts[i]!.slice(0, parts[i]!.indexOf('\r\n\r\n')), parts[i]!.slice(parts[i]!.indexOf('\r\n\r\n') + 4)];
      assert.match(head, new RegExp(`Content-Range: bytes ${r.start}-${r.end}/1000`));
      assert.deepEqual(
        Uint8Array.from(body, (ch) => ch.charCodeAt(0)),
        bytes.slice(r.start, r.end + 1),
      );
    }
  }
});
