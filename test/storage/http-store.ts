/**
 * A BlobStore in Node that forwards every call to a store running elsewhere (the r2 test Worker,
 * test/storage/r2-worker/worker.ts) and rethrows its errors as the same classes, so the contract
 * suite runs unchanged against a driver that only exists inside workerd.
 */
import { get, type IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { NotFoundError, PreconditionFailedError, RepodError, StorageError } from '../../src/errors.ts';
import type { BlobInfo, BlobObject, BlobStore, ByteRange, ListEntry, PresignOptions, PutOptions, StoreCapabilities } from '../../src/storage/blob-store.ts';
import { InvalidKeyError, RangeNotSatisfiableError } from '../../src/storage/common.ts';
import type { WireError, WireInfo } from './r2-worker/worker.ts';

export class HttpStore implements BlobStore {
  readonly presign?: (key: string, options: PresignOptions) => Promise<string>;

  private constructor(
    private readonly base: string,
    /** Query parameters choosing the remote store (`root`, `partSize`, `presign`). */
    private readonly select: Record<string, string>,
    readonly driver: string,
    readonly capabilities: StoreCapabilities,
  ) {
    if (capabilities.presign) {
      this.presign = async (key, options) => {
        const params: Record<string, string | undefined> = {
          key,
          expires: String(options.expiresInSeconds),
          method: options.method,
          filename: options.filename,
          contentType: options.contentType,
        };
        return ((await this.json(await this.call('GET', '/presign', params))) as { url: string }).url;
      };
    }
  }

  static async connect(base: string, select: Record<string, string> = {}): Promise<HttpStore> {
    const response = await fetch(`${base}/capabilities?${new URLSearchParams(select)}`);
    const { driver, capabilities } = (await response.json()) as { driver: string; capabilities: StoreCapabilities };
    return new HttpStore(base, select, driver, capabilities);
  }

  async get(key: string, options: { range?: ByteRange } = {}): Promise<BlobObject | null> {
    const range = options.range;
    const response = await this.download(this.url('/get', { key, start: range?.start?.toString(), end: range?.end?.toString() }));
    if (response.statusCode === 404 && response.headers['x-blob-missing']) {
      response.resume();
      return null;
    }
    if (response.headers['x-error'] || (response.statusCode ?? 500) >= 400) {
      const chunks: Buffer[] = [];
      for await (const chunk of response) chunks.push(chunk as Buffer);
      throw errorOf(response.statusCode ?? 500, Buffer.concat(chunks).toString('utf8'));
    }
    const wire = JSON.parse(String(response.headers['x-blob'] ?? 'null')) as WireInfo;
    const body = Readable.toWeb(response) as ReadableStream<Uint8Array>;
    return { ...fromWire(wire), body, ...(wire.range ? { range: wire.range } : {}) };
  }

  /**
   * Downloads go through node:http: Node 20's fetch delivers workerd's body in thousands of
   * few-KiB chunks at about a millisecond each (a 32 MiB get took 20 s, node:http 1 s).
   */
  private download(url: string): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => get(url, resolve).on('error', reject));
  }

  async head(key: string): Promise<BlobInfo | null> {
    const wire = (await this.json(await this.call('GET', '/head', { key }))) as WireInfo | null;
    return wire ? fromWire(wire) : null;
  }

  async put(key: string, body: Uint8Array | ReadableStream<Uint8Array>, options: PutOptions = {}): Promise<{ etag: string }> {
    const params = {
      key,
      body: body instanceof Uint8Array ? 'bytes' : 'stream',
      ifNoneMatch: options.ifNoneMatch,
      ifMatch: options.ifMatch,
      contentType: options.contentType,
      size: options.size?.toString(),
    };
    if (body instanceof Uint8Array) return (await this.json(await this.call('PUT', '/put', params, body))) as { etag: string };
    // fetch reports a failing request body as its own TypeError; the caller must see the original.
    // And a request cut short can reach the Worker as a clean end: frames (4-byte length, bytes,
    // then a zero length) let the Worker tell a whole body from a broken one.
    let bodyFailure: { error: unknown } | undefined;
    const reader = body.getReader();
    let ended = false;
    const framed = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (ended) return;
        try {
          const next = await reader.read();
          if (next.done) {
            ended = true;
            controller.enqueue(frameHeader(0));
            controller.close();
          } else if (next.value.byteLength > 0) {
            controller.enqueue(frameHeader(next.value.byteLength));
            controller.enqueue(next.value);
          }
        } catch (error) {
          bodyFailure = { error };
          controller.error(error);
        }
      },
      cancel: (reason) => reader.cancel(reason),
    });
    let response: Response;
    try {
      response = await this.call('PUT', '/put', params, framed);
    } catch (error) {
      if (bodyFailure) throw bodyFailure.error;
      throw error;
    }
    return (await this.json(response)) as { etag: string };
  }

  async delete(key: string): Promise<void> {
    await this.json(await this.call('POST', '/delete', { key }));
  }

  async move(from: string, to: string): Promise<void> {
    await this.json(await this.call('POST', '/move', { from, to }));
  }

  async *list(prefix: string): AsyncIterable<ListEntry> {
    const response = await this.call('GET', '/list', { prefix });
    await this.check(response);
    const decoder = new TextDecoder();
    let buffered = '';
    let ended = false;
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      buffered += decoder.decode(chunk, { stream: true });
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = JSON.parse(buffered.slice(0, newline)) as { key: string; size: number; lastModified: string } | { end: true } | { error: WireError };
        buffered = buffered.slice(newline + 1);
        if ('error' in line) throw toError(line.error);
        if ('end' in line) ended = true;
        else yield { key: line.key, size: line.size, lastModified: new Date(line.lastModified) };
      }
    }
    if (!ended) throw new StorageError(this.driver, `the listing of ${prefix} was cut short`);
  }

  private url(path: string, params: Record<string, string | undefined>): string {
    const query = new URLSearchParams(this.select);
    for (const [name, value] of Object.entries(params)) if (value !== undefined) query.set(name, value);
    return `${this.base}${path}?${query}`;
  }

  private async call(method: string, path: string, params: Record<string, string | undefined>, body?: Uint8Array | ReadableStream<Uint8Array>): Promise<Response> {
    const init: RequestInit & { duplex?: 'half' } = { method, body: body as BodyInit | undefined };
    if (body instanceof ReadableStream) init.duplex = 'half';
    return fetch(this.url(path, params), init);
  }

  private async check(response: Response): Promise<void> {
    if (!response.headers.get('x-error') && response.ok) return;
    throw errorOf(response.status, await response.text());
  }

  private async json(response: Response): Promise<unknown> {
    await this.check(response);
    return response.json();
  }
}

function errorOf(status: number, text: string): Error {
  try {
    return toError(JSON.parse(text) as WireError);
  } catch {
    return new Error(`HTTP ${status}: ${text.slice(0, 500)}`);
  }
}

function frameHeader(length: number): Uint8Array {
  const header = new Uint8Array(4);
  new DataView(header.buffer).setUint32(0, length);
  return header;
}

function fromWire(wire: WireInfo): BlobInfo {
  return { key: wire.key, size: wire.size, etag: wire.etag, lastModified: new Date(wire.lastModified) };
}

/** The error class the remote store threw, by its stable code (bundlers may rename classes). */
function toError(wire: WireError): Error {
  let error: Error;
  switch (wire.code) {
    case 'precondition_failed':
      error = new PreconditionFailedError('');
      break;
    case 'not_found':
      error = new NotFoundError(wire.message);
      break;
    case 'storage_error':
      error = new StorageError('remote', wire.message);
      break;
    case 'invalid_key':
      error = new InvalidKeyError('remote', '', wire.message);
      break;
    case 'range_not_satisfiable':
      error = new RangeNotSatisfiableError('remote', '', { start: 0 }, wire.size ?? 0);
      break;
    default:
      if (wire.code) error = new RepodError(wire.code, wire.message, { status: wire.status });
      else if (wire.name === 'RangeError') error = new RangeError(wire.message);
      else if (wire.name === 'TypeError') error = new TypeError(wire.message);
      else error = new Error(wire.message);
  }
  error.message = wire.message;
  return error;
}
