/**
 * A BlobStore in Node that forwards every call to a store running elsewhere (the r2 test Worker,
 * test/storage/r2-worker/worker.ts) and rethrows its errors as the same classes, so the contract
 * suite runs unchanged against a driver that only exists inside workerd.
 */
import { get, request as httpRequest, type IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { NotFoundError, PreconditionFailedError, RepodError, StorageError } from '../../src/errors.ts';
import type { BlobInfo, BlobObject, BlobStore, ByteRange, ListEntry, MoveOptions, PresignOptions, PutOptions, StoreCapabilities } from '../../src/storage/blob-store.ts';
import { InvalidKeyError, RangeNotSatisfiableError } from '../../src/storage/common.ts';
import type { WireError, WireInfo } from './r2-worker/worker.ts';

/**
 * How long a call may go without progress (a request chunk sent, an answer, a listing line) before
 * it fails: a hang shows up as a StorageError naming the call, not undici's 300 s `fetch failed`.
 */
const STALL_MS = 30_000;

/** Aborts a call that makes no progress for STALL_MS; `touch` on progress, `clear` once done. */
class Deadline {
  private readonly controller = new AbortController();
  private timer: ReturnType<typeof setTimeout> | undefined;
  readonly signal = this.controller.signal;

  constructor(private readonly what: string) {
    this.touch();
  }

  touch(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.controller.abort(stalled(this.what)), STALL_MS);
  }

  clear(): void {
    clearTimeout(this.timer);
  }
}

function stalled(what: string): StorageError {
  return new StorageError('remote', `${what}: no progress for ${STALL_MS / 1000} s (the test Worker hangs?)`);
}

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
        return ((await this.json(...(await this.call('GET', '/presign', params)))) as { url: string }).url;
      };
    }
  }

  static async connect(base: string, select: Record<string, string> = {}): Promise<HttpStore> {
    const url = `${base}/capabilities?${new URLSearchParams(select)}`;
    const deadline = new Deadline(`GET ${url}`);
    try {
      const response = await fetch(url, { signal: deadline.signal });
      const { driver, capabilities } = (await response.json()) as { driver: string; capabilities: StoreCapabilities };
      return new HttpStore(base, select, driver, capabilities);
    } finally {
      deadline.clear();
    }
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
   * few-KiB chunks at about a millisecond each (a 32 MiB get took 20 s, node:http 1 s). A socket
   * idle for STALL_MS fails the call (or the body being read).
   */
  private download(url: string): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      const request = get(url, resolve).on('error', reject);
      request.setTimeout(STALL_MS, () => request.destroy(stalled(`GET ${url}`)));
    });
  }

  async head(key: string): Promise<BlobInfo | null> {
    const wire = (await this.json(...(await this.call('GET', '/head', { key })))) as WireInfo | null;
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
    if (body instanceof Uint8Array) return (await this.json(...(await this.call('PUT', '/put', params, body)))) as { etag: string };
    // Frames (4-byte length, bytes, then a zero length) let the Worker tell a whole body from a
    // broken one. A body that fails is not cut off: it ends with a failure frame, the Worker's
    // store sees its body fail, and once the Worker has answered the caller gets the original
    // error. (Cutting the connection let this put return while the Worker was still handling it,
    // and workerd holds later requests until a cut one has finished: a head right after a failed
    // put waited for it, at times for good.) Sent with node:http on a connection of its own, which,
    // unlike fetch, takes an answer that comes while it is still sending.
    const deadline = new Deadline(`PUT ${key}`);
    const reader = body.getReader();
    let bodyFailure: { error: unknown } | undefined;
    let answer: { status: number; error: boolean; text: string };
    try {
      answer = await new Promise((resolve, reject) => {
        let answered = false;
        const request = httpRequest(this.url('/put', params), { method: 'PUT', agent: false, headers: { 'transfer-encoding': 'chunked' } });
        deadline.signal.addEventListener('abort', () => request.destroy(deadline.signal.reason as Error));
        request.on('error', (error) => {
          if (!answered) reject(error);
        });
        request.on('response', (response) => {
          answered = true;
          deadline.touch();
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => {
            chunks.push(chunk);
            deadline.touch();
          });
          response.on('end', () => resolve({ status: response.statusCode ?? 500, error: Boolean(response.headers['x-error']), text: Buffer.concat(chunks).toString('utf8') }));
          response.on('error', reject);
        });
        const send = async () => {
          for (;;) {
            if (answered || request.destroyed) {
              await reader.cancel().catch(() => undefined); // answered early: the rest is not wanted
              return;
            }
            let next: ReadableStreamReadResult<Uint8Array>;
            try {
              next = await reader.read();
            } catch (error) {
              bodyFailure = { error };
              request.end(frameHeader(FAILED_FRAME));
              return;
            }
            if (next.done) {
              request.end(frameHeader(0));
              return;
            }
            if (next.value.byteLength === 0) continue;
            deadline.touch(); // the Worker is reading
            request.write(frameHeader(next.value.byteLength));
            if (!request.write(next.value)) {
              await new Promise((resume) => {
                request.once('drain', resume);
                request.once('close', resume);
              });
            }
          }
        };
        void send();
      });
    } catch (error) {
      if (bodyFailure) throw bodyFailure.error;
      throw error;
    } finally {
      deadline.clear();
    }
    // With a failed body, the Worker's answer (the store's error about it) is not the caller's.
    if (bodyFailure) throw bodyFailure.error;
    if (answer.error || answer.status >= 400) throw errorOf(answer.status, answer.text);
    return JSON.parse(answer.text) as { etag: string };
  }

  async delete(key: string): Promise<void> {
    await this.json(...(await this.call('POST', '/delete', { key })));
  }

  async move(from: string, to: string, options: MoveOptions = {}): Promise<void> {
    await this.json(...(await this.call('POST', '/move', { from, to, ...(options.ifNoneMatch ? { ifNoneMatch: options.ifNoneMatch } : {}) })));
  }

  async *list(prefix: string): AsyncIterable<ListEntry> {
    const [response, deadline] = await this.call('GET', '/list', { prefix });
    try {
      yield* this.entries(prefix, response, deadline);
    } finally {
      deadline.clear();
    }
  }

  private async *entries(prefix: string, response: Response, deadline: Deadline): AsyncIterable<ListEntry> {
    await this.check(response);
    const decoder = new TextDecoder();
    let buffered = '';
    let ended = false;
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      deadline.touch();
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

  /** The answer and the deadline still running for reading it (json() clears it). */
  private async call(method: string, path: string, params: Record<string, string | undefined>, body?: Uint8Array): Promise<[Response, Deadline]> {
    const deadline = new Deadline(`${method} ${path} ${params.key ?? params.prefix ?? ''}`);
    const init: RequestInit = { method, body: body as BodyInit | undefined, signal: deadline.signal };
    try {
      const response = await fetch(this.url(path, params), init);
      deadline.touch(); // answered: now its body
      return [response, deadline];
    } catch (error) {
      deadline.clear();
      throw error;
    }
  }

  private async check(response: Response): Promise<void> {
    if (!response.headers.get('x-error') && response.ok) return;
    throw errorOf(response.status, await response.text());
  }

  private async json(response: Response, deadline: Deadline): Promise<unknown> {
    try {
      await this.check(response);
      return await response.json();
    } finally {
      deadline.clear();
    }
  }
}

function errorOf(status: number, text: string): Error {
  try {
    return toError(JSON.parse(text) as WireError);
  } catch {
    return new Error(`HTTP ${status}: ${text.slice(0, 500)}`);
  }
}

/** The frame length that tells the Worker the client's body failed. */
const FAILED_FRAME = 0xffffffff;

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
