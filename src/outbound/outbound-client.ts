import { RepodError } from '../errors.ts';
import { type AllowList, isAddressLiteral, isPublicAddress, normalizeHost } from './address-policy.ts';

/**
 * The runtime's way to send one HTTP request. It must call `checkAddress` with every address it is
 * about to connect to (and refuse when it throws), must not follow redirects, and must stop when
 * `signal` aborts. Node resolves names itself and checks each answer (runtime/node-outbound.ts);
 * Workers can only check literal addresses (outbound/fetch-transport.ts).
 */
export type OutboundTransport = (
  url: URL,
  init: { method: string; headers: Headers; body?: Uint8Array; signal: AbortSignal; checkAddress: (ip: string) => void },
) => Promise<Response>;

/** A URL the guard will not fetch: its scheme, its host, or an address its name resolves to. */
export class OutboundRefusedError extends RepodError {
  constructor(host: string, reason: string) {
    super('outbound_refused', `outbound request to ${host} refused: ${reason}`, { status: 400, details: { host, reason } });
  }
}

export interface OutboundClientOptions {
  allow: AllowList;
  /** Until the response headers arrive, redirects included (connecting, TLS, a silent server). Default 30 s. */
  timeoutMs?: number;
  /** For reading the whole body once the headers are in. Default 10 min. */
  bodyTimeoutMs?: number;
  /** A longer body errors its stream. Default 256 MiB. */
  maxBytes?: number;
  /** Default 5. */
  maxRedirects?: number;
  userAgent?: string;
}

export interface OutboundRequest {
  method?: string;
  headers?: Record<string, string>;
  body?: Uint8Array;
  timeoutMs?: number;
  bodyTimeoutMs?: number;
  maxBytes?: number;
  /** Cancels the request, or the reading of its body. */
  signal?: AbortSignal;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const NULL_BODY = new Set([101, 204, 205, 304]);
const ALLOW_HINT = 'list it in REPOD_OUTBOUND_ALLOWED_HOSTS to allow it';

/** Why the controller of one request was aborted by the client itself. */
class Deadline extends Error {}

/**
 * The one way repod fetches a URL given by a user (import sources, webhook receivers). Every hop
 * of a redirect chain is checked again; only http and https are spoken; a request that takes too
 * long, or a body larger than allowed, fails with an error naming the host instead of tying up the
 * server. Answers are returned whatever their status (a 404 is the caller's business); the body
 * streams, counted and timed as it is read.
 */
export class OutboundClient {
  private readonly timeoutMs: number;
  private readonly bodyTimeoutMs: number;
  private readonly maxBytes: number;
  private readonly maxRedirects: number;
  private readonly userAgent: string;
  private readonly allow: AllowList;

  constructor(
    private readonly transport: OutboundTransport,
    options: OutboundClientOptions,
  ) {
    this.allow = options.allow;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.bodyTimeoutMs = options.bodyTimeoutMs ?? 600_000;
    this.maxBytes = options.maxBytes ?? 256 * 1024 * 1024;
    this.maxRedirects = options.maxRedirects ?? 5;
    this.userAgent = options.userAgent ?? 'repod';
  }

  /**
   * What can be judged without the network: an absolute http(s) URL whose host, when it is a
   * literal address, is public or allowed. Names are judged by their DNS answers when connecting.
   */
  check(url: string | URL): URL {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new OutboundRefusedError(String(url), 'not an absolute URL');
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new OutboundRefusedError(parsed.host || parsed.href, `scheme ${parsed.protocol} is not http or https`);
    const host = normalizeHost(parsed.hostname);
    if (!host) throw new OutboundRefusedError(parsed.href, 'the URL has no host');
    if (isAddressLiteral(host) && !isPublicAddress(host) && !this.allow.allowsHost(host)) {
      throw new OutboundRefusedError(host, `${host} is not a public address (${ALLOW_HINT})`);
    }
    return parsed;
  }

  async fetch(target: string, init: OutboundRequest = {}): Promise<Response> {
    let url = this.check(target);
    let method = (init.method ?? 'GET').toUpperCase();
    let body = init.body;
    const headers = new Headers(init.headers);
    if (!headers.has('user-agent')) headers.set('user-agent', this.userAgent);
    // Credentials in the URL become a header: transports differ in what they do with userinfo,
    // and the header, unlike the URL, is dropped when a redirect leaves the origin.
    if (url.username || url.password) {
      if (!headers.has('authorization')) headers.set('authorization', `Basic ${btoa(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`)}`);
      url.username = '';
      url.password = '';
    }
    const maxBytes = init.maxBytes ?? this.maxBytes;
    const controller = new AbortController();
    const onCallerAbort = () => controller.abort(init.signal?.reason);
    if (init.signal?.aborted) onCallerAbort();
    init.signal?.addEventListener('abort', onCallerAbort, { once: true });
    const timeoutMs = init.timeoutMs ?? this.timeoutMs;
    const headerTimer = setTimeout(() => controller.abort(new Deadline(`no answer within ${timeoutMs} ms`)), timeoutMs);
    const done = () => {
      clearTimeout(headerTimer);
      init.signal?.removeEventListener('abort', onCallerAbort);
    };
    try {
      for (let hop = 0; ; hop++) {
        let response: Response;
        try {
          response = await this.transport(url, { method, headers, body, signal: controller.signal, checkAddress: this.addressCheck(url) });
        } catch (error) {
          throw failure(error, url, controller.signal);
        }
        const location = response.headers.get('location');
        if (REDIRECTS.has(response.status) && location !== null) {
          await response.body?.cancel().catch(() => undefined);
          if (hop >= this.maxRedirects) throw new RepodError('outbound_redirects', `${target} redirects more than ${this.maxRedirects} times`, { status: 502 });
          let next: URL;
          try {
            next = this.check(new URL(location, url));
          } catch (error) {
            if (error instanceof OutboundRefusedError) {
              throw new OutboundRefusedError(String(error.details?.host), `redirected to by ${url.host}: ${String(error.details?.reason)}`);
            }
            throw error;
          }
          if (next.origin !== url.origin) {
            headers.delete('authorization');
            headers.delete('cookie');
          }
          // As browsers do: 303 always, and 301/302 after a POST, continue as a GET without a body.
          if ((response.status === 303 && method !== 'HEAD') || ((response.status === 301 || response.status === 302) && method === 'POST')) {
            method = 'GET';
            body = undefined;
            headers.delete('content-type');
            headers.delete('content-length');
          }
          url = next;
          continue;
        }
        const declared = Number(response.headers.get('content-length') ?? Number.NaN);
        if (declared > maxBytes) {
          await response.body?.cancel().catch(() => undefined);
          throw tooLarge(url, maxBytes);
        }
        clearTimeout(headerTimer);
        return this.bounded(response, url, hop > 0, controller, maxBytes, init.bodyTimeoutMs ?? this.bodyTimeoutMs, done);
      }
    } catch (error) {
      done();
      controller.abort();
      throw error;
    }
  }

  /** What the transport must apply to each address it connects to for `url`. */
  private addressCheck(url: URL): (ip: string) => void {
    const host = normalizeHost(url.hostname);
    if (this.allow.allowsHost(host)) return () => undefined;
    return (ip: string) => {
      if (isPublicAddress(ip) || this.allow.allowsAddress(ip)) return;
      const subject = isAddressLiteral(host) ? `${host} is` : `it resolves to ${ip}, which is`;
      throw new OutboundRefusedError(host, `${subject} not a public address (${ALLOW_HINT})`);
    };
  }

  /** The answer with a body that errors past `maxBytes` or past the body deadline. */
  private bounded(response: Response, url: URL, redirected: boolean, controller: AbortController, maxBytes: number, bodyTimeoutMs: number, done: () => void): Response {
    const init = { status: response.status, statusText: response.statusText, headers: response.headers };
    let out: Response;
    if (!response.body || NULL_BODY.has(response.status)) {
      response.body?.cancel().catch(() => undefined);
      done();
      out = new Response(null, init);
    } else {
      const reader = response.body.getReader();
      const bodyTimer = setTimeout(() => controller.abort(new Deadline(`body not read within ${bodyTimeoutMs} ms`)), bodyTimeoutMs);
      // Whatever the transport does on abort, the reader of this stream sees the failure at once.
      let onAbort: () => void = () => undefined;
      const aborted = new Promise<never>((_, reject) => {
        onAbort = () => reject(failure(controller.signal.reason, url, controller.signal));
        if (controller.signal.aborted) onAbort();
        else controller.signal.addEventListener('abort', onAbort, { once: true });
      });
      aborted.catch(() => undefined);
      const finish = () => {
        clearTimeout(bodyTimer);
        controller.signal.removeEventListener('abort', onAbort);
        done();
      };
      let received = 0;
      const stream = new ReadableStream<Uint8Array>(
        {
          async pull(sink) {
            try {
              const { done: end, value } = await Promise.race([reader.read(), aborted]);
              if (end) {
                finish();
                sink.close();
                return;
              }
              received += value.byteLength;
              if (received > maxBytes) throw tooLarge(url, maxBytes);
              sink.enqueue(value);
            } catch (error) {
              const mapped = failure(error, url, controller.signal);
              finish();
              controller.abort(mapped);
              reader.cancel(mapped).catch(() => undefined);
              sink.error(mapped);
            }
          },
          cancel(reason) {
            finish();
            controller.abort();
            return reader.cancel(reason).catch(() => undefined);
          },
        },
        { highWaterMark: 0 },
      );
      out = new Response(stream, init);
    }
    Object.defineProperty(out, 'url', { value: url.href });
    Object.defineProperty(out, 'redirected', { value: redirected });
    return out;
  }
}

function tooLarge(url: URL, maxBytes: number): RepodError {
  return new RepodError('outbound_too_large', `the answer from ${url.host} is larger than ${maxBytes} bytes`, { status: 502, details: { host: url.host, maxBytes } });
}

/** A transport's failure as a RepodError naming the host: the guard's own refusals and limits pass through. */
function failure(error: unknown, url: URL, signal: AbortSignal): RepodError {
  if (error instanceof RepodError) return error;
  if (signal.reason instanceof Deadline) {
    return new RepodError('outbound_timeout', `${url.host}: ${signal.reason.message}`, { status: 504, details: { host: url.host } });
  }
  if (signal.aborted && signal.reason instanceof RepodError) return signal.reason;
  const message = error instanceof Error ? error.message : String(error);
  return new RepodError('outbound_failed', `request to ${url.host} failed: ${message}`, { status: 502, cause: error, details: { host: url.host } });
}
