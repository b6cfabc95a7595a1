/**
 * Runs inside workerd: every BlobStore operation of r2Store(env.BUCKET) as one HTTP route, so the
 * contract suite (in Node, through test/storage/http-store.ts) drives the real driver on workerd's
 * R2. Bodies stream both ways (a streamed request body is framed, see unframe); a failure answers
 * its status with `x-error: 1` and JSON naming the error class. Query parameters pick the store:
 * `root` (its prefix), `partSize`, `presign=1`.
 */
import type { BlobStore, PresignOptions, PutOptions } from '../../../src/storage/blob-store.ts';
import { type R2BucketLike, r2Store } from '../../../src/storage/r2.ts';
import { r2Presigner } from '../../../src/storage/r2-presign.ts';

/** The frame length by which the client says its body failed (as in test/storage/http-store.ts). */
const FAILED_FRAME = 0xffffffff;

interface Env {
  BUCKET: R2BucketLike;
  PRESIGN_ENDPOINT?: string;
  PRESIGN_BUCKET?: string;
  PRESIGN_ACCESS_KEY_ID?: string;
  PRESIGN_SECRET_ACCESS_KEY?: string;
}

export interface WireInfo {
  key: string;
  size: number;
  etag: string;
  lastModified: string;
  range?: { start: number; end: number };
}

export interface WireError {
  name: string;
  message: string;
  code?: string;
  status?: number;
  size?: number;
}

function storeFor(params: URLSearchParams, env: Env): BlobStore {
  const presigner =
    params.get('presign') === '1' && env.PRESIGN_ENDPOINT && env.PRESIGN_BUCKET && env.PRESIGN_ACCESS_KEY_ID && env.PRESIGN_SECRET_ACCESS_KEY
      ? r2Presigner({ endpoint: env.PRESIGN_ENDPOINT, bucket: env.PRESIGN_BUCKET, accessKeyId: env.PRESIGN_ACCESS_KEY_ID, secretAccessKey: env.PRESIGN_SECRET_ACCESS_KEY })
      : undefined;
  const partSize = params.get('partSize');
  return r2Store(env.BUCKET, { prefix: params.get('root') ?? undefined, partSize: partSize ? Number(partSize) : undefined, presigner });
}

const optional = (params: URLSearchParams, name: string) => params.get(name) ?? undefined;
const number = (params: URLSearchParams, name: string) => (params.has(name) ? Number(params.get(name)) : undefined);

async function handle(request: Request, env: Env): Promise<Response> {
  const url = new URL(request.url);
  const q = url.searchParams;
  const store = storeFor(q, env);
  const key = q.get('key') ?? '';
  switch (url.pathname) {
    case '/capabilities':
      return Response.json({ driver: store.driver, capabilities: store.capabilities });
    case '/get': {
      const start = number(q, 'start');
      const object = await store.get(key, start === undefined ? undefined : { range: { start, end: number(q, 'end') } });
      if (!object) return new Response(null, { status: 404, headers: { 'x-blob-missing': '1' } });
      const wire: WireInfo = { key: object.key, size: object.size, etag: object.etag, lastModified: object.lastModified.toISOString(), range: object.range };
      return new Response(object.body, { headers: { 'x-blob': JSON.stringify(wire) } });
    }
    case '/head': {
      const info = await store.head(key);
      return Response.json(info ? { ...info, lastModified: info.lastModified.toISOString() } : null);
    }
    case '/put': {
      const options: PutOptions = {
        ifNoneMatch: q.get('ifNoneMatch') === '*' ? '*' : undefined,
        ifMatch: optional(q, 'ifMatch'),
        contentType: optional(q, 'contentType'),
        size: number(q, 'size'),
      };
      if (q.get('body') === 'bytes') return Response.json(await store.put(key, new Uint8Array(await request.arrayBuffer()), options));
      const requestBody = request.body ?? new ReadableStream<Uint8Array>({ start: (c) => c.close() });
      const reader = (requestBody as ReadableStream<Uint8Array>).getReader();
      try {
        return Response.json(await store.put(key, detached(reader).pipeThrough(unframe()), options));
      } finally {
        await drain(reader);
      }
    }
    case '/delete':
      await store.delete(key);
      return Response.json({});
    case '/move':
      await store.move(q.get('from') ?? '', q.get('to') ?? '', q.get('ifNoneMatch') === '*' ? { ifNoneMatch: '*' } : {});
      return Response.json({});
    case '/list':
      return listing(store, q.get('prefix') ?? '');
    case '/presign': {
      if (!store.presign) throw new Error('this store cannot presign');
      const options: PresignOptions = {
        expiresInSeconds: number(q, 'expires') ?? 60,
        method: q.get('method') === 'PUT' ? 'PUT' : 'GET',
        filename: optional(q, 'filename'),
        contentType: optional(q, 'contentType'),
      };
      return Response.json({ url: await store.presign(key, options) });
    }
    case '/raw': {
      // The bucket as it is, staged uploads and prefixes included.
      const listed = await env.BUCKET.list({ prefix: q.get('prefix') ?? '' });
      const objects = listed.objects.map((o) => ({ key: o.key, size: o.size }));
      if (q.has('key')) {
        const object = await env.BUCKET.head(key);
        return Response.json({ objects, object: object ? { key: object.key, size: object.size, contentType: object.httpMetadata?.contentType } : null });
      }
      return Response.json({ objects });
    }
    default:
      return new Response('not found', { status: 404 });
  }
}

/**
 * The request body as a stream whose cancellation leaves the request alone: a store that stops
 * reading early (a lost condition) still answers only once the client has sent everything: a client
 * that takes no answer while it is still sending (Node's fetch) would fail otherwise.
 */
function detached(reader: ReadableStreamDefaultReader<Uint8Array>): ReadableStream<Uint8Array> {
  let cancelled = false;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const next = await reader.read();
        if (cancelled) return;
        if (next.done) controller.close();
        else controller.enqueue(next.value);
      } catch (error) {
        if (!cancelled) controller.error(error);
      }
    },
    cancel() {
      cancelled = true;
    },
  });
}

async function drain(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<void> {
  try {
    for (;;) if ((await reader.read()).done) return;
  } catch {
    // the client's body failed: nothing more to read
  }
}

/**
 * The body the client framed (test/storage/http-store.ts): each chunk after its 4-byte length, a
 * zero length at the end. A body whose client failed ends with FAILED_FRAME instead, and one that
 * stops before either was cut on the way: the stream errors in both cases, as the client's did.
 */
function unframe(): TransformStream<Uint8Array, Uint8Array> {
  let header = new Uint8Array(4);
  let headerFilled = 0;
  let remaining = -1; // bytes of the current frame still to come; -1 while reading a header
  let ended = false;
  return new TransformStream({
    transform(chunk, controller) {
      let at = 0;
      while (at < chunk.byteLength) {
        if (ended) throw new Error('bytes after the end of a framed body');
        if (remaining < 0) {
          const n = Math.min(4 - headerFilled, chunk.byteLength - at);
          header.set(chunk.subarray(at, at + n), headerFilled);
          headerFilled += n;
          at += n;
          if (headerFilled === 4) {
            remaining = new DataView(header.buffer).getUint32(0);
            header = new Uint8Array(4);
            headerFilled = 0;
            if (remaining === FAILED_FRAME) throw new Error("the client's request body failed");
            if (remaining === 0) {
              ended = true;
              remaining = -1;
            }
          }
        } else {
          const n = Math.min(remaining, chunk.byteLength - at);
          controller.enqueue(chunk.subarray(at, at + n));
          at += n;
          remaining -= n;
          if (remaining === 0) remaining = -1;
        }
      }
    },
    flush() {
      if (!ended) throw new Error('the request body was cut short');
    },
  });
}

/**
 * NDJSON, one entry a line, then `{"end":true}`: the client can tell a whole listing from a cut
 * one. The first entry is awaited before answering, so an invalid prefix is an error response.
 */
async function listing(store: BlobStore, prefix: string): Promise<Response> {
  const entries = store.list(prefix)[Symbol.asyncIterator]();
  const first = await entries.next();
  const encoder = new TextEncoder();
  let pending: IteratorResult<{ key: string; size: number; lastModified: Date }> | undefined = first;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const next = pending ?? (await entries.next());
        pending = undefined;
        if (next.done) {
          controller.enqueue(encoder.encode('{"end":true}\n'));
          controller.close();
          return;
        }
        const { key, size, lastModified } = next.value;
        controller.enqueue(encoder.encode(`${JSON.stringify({ key, size, lastModified: lastModified.toISOString() })}\n`));
      } catch (error) {
        controller.enqueue(encoder.encode(`${JSON.stringify({ error: wireError(error) })}\n`));
        controller.close();
      }
    },
  });
  return new Response(body, { headers: { 'content-type': 'application/x-ndjson' } });
}

function wireError(error: unknown): WireError {
  const e = error as { name?: string; message?: string; code?: string; status?: number; size?: number };
  return { name: e?.name ?? 'Error', message: e?.message ?? String(error), code: e?.code, status: e?.status, size: e?.size };
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    try {
      return await handle(request, env);
    } catch (error) {
      const wire = wireError(error);
      return Response.json(wire, { status: wire.status && wire.status >= 400 ? wire.status : 500, headers: { 'x-error': '1' } });
    }
  },
};
