import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RepodError } from '../../src/errors.ts';
import { boundaryOf, MultipartReader, readText } from '../../src/http/multipart.ts';

function streamOf(bytes: Uint8Array, chunkSize: number): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    pull(c) {
      if (at >= bytes.length) return c.close();
      c.enqueue(bytes.slice(at, at + chunkSize));
      at += chunkSize;
    },
  });
}

async function collect(s: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(s).arrayBuffer());
}

describe('multipart reader', () => {
  it('reads what a real form encoder writes, at any chunking', async () => {
    const payload = new Uint8Array(200_000).map((_, i) => (i * 7919) % 256);
    // The boundary's bytes inside the payload must not end the part early.
    payload.set(new TextEncoder().encode('\r\n--not-the-boundary'), 1000);
    const form = new FormData();
    form.append('distribution', 'rocky9');
    form.append('file', new Blob([payload]), 'x.rpm');
    form.append('replace', 'true');
    const request = new Request('http://x/', { method: 'POST', body: form });
    const boundary = boundaryOf(request.headers.get('content-type')!)!;
    const body = await collect(request.body!);
    for (const size of [1, 7, 64, 4096, 1 << 20]) {
      const reader = new MultipartReader(streamOf(body, size), boundary);
      const seen: Record<string, string | Uint8Array> = {};
      for (let part = await reader.next(); part; part = await reader.next()) {
        seen[part.name] = part.filename ? await collect(part.body) : await readText(part.body);
        if (part.filename) assert.equal(part.filename, 'x.rpm');
      }
      assert.equal(seen.distribution, 'rocky9');
      assert.equal(seen.replace, 'true');
      assert.deepEqual(seen.file, payload, `chunk size ${size}`);
    }
  });

  it('skips a part whose body is cancelled', async () => {
    const form = new FormData();
    form.append('other', new Blob(['x'.repeat(100_000)]), 'o.bin');
    form.append('distribution', 'fedora');
    const request = new Request('http://x/', { method: 'POST', body: form });
    const reader = new MultipartReader(request.body!, boundaryOf(request.headers.get('content-type')!)!);
    const first = (await reader.next())!;
    await first.body.cancel();
    const second = (await reader.next())!;
    assert.equal(second.name, 'distribution');
    assert.equal(await readText(second.body), 'fedora');
    assert.equal(await reader.next(), null);
  });

  it('reads the request to its end after the closing boundary, so an answer never races the rest of it', async () => {
    const body = new TextEncoder().encode('--b\r\nContent-Disposition: form-data; name="d"\r\n\r\nrocky9\r\n--b--');
    let ended = false;
    let sent = 0;
    // The epilogue's CRLF comes in a chunk of its own, as it may off a socket.
    const chunks = [body, new TextEncoder().encode('\r\n')];
    const source = new ReadableStream<Uint8Array>({
      pull(c) {
        const chunk = chunks[sent++];
        if (chunk) c.enqueue(chunk);
        else {
          ended = true;
          c.close();
        }
      },
    });
    const reader = new MultipartReader(source, 'b');
    const part = (await reader.next())!;
    assert.equal(await readText(part.body), 'rocky9');
    assert.equal(await reader.next(), null);
    assert.equal(ended, true, 'the source was read to its end');
    // An endless epilogue is refused, not read forever.
    const endless = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new TextEncoder().encode('--b--'));
      },
      pull(c) {
        c.enqueue(new Uint8Array(4096));
      },
    });
    await assert.rejects(new MultipartReader(endless, 'b').next(), (e: unknown) => e instanceof RepodError && e.status === 400);
  });

  it('fails with a 400 on a body cut short', async () => {
    const body = new TextEncoder().encode('--b\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\nabc');
    const reader = new MultipartReader(streamOf(body, 5), 'b');
    const part = (await reader.next())!;
    await assert.rejects(collect(part.body), (e: unknown) => e instanceof RepodError && e.status === 400);
  });
});
