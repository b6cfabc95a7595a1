/**
 * The CLI's only way to the server: Node's fetch, a bearer token, and one error type that carries
 * the server's JSON error document (`{"status":"error","error":"<code>","message":"..."}`).
 */

export const DEFAULT_URL = 'http://localhost:8080';
/** Tries of a request the server answers 429 rate_limited (waiting its Retry-After between them). */
const MAX_RATE_LIMITED_TRIES = 5;
/** How fetch words a connection the server reset or closed while the request was being sent. */
const BROKEN_CONNECTION = /EPIPE|ECONNRESET|other side closed|socket hang up/i;
/** An upload session id no server hands out (ApiClient.whyUploadRefused). */
const UNKNOWN_UPLOAD_SESSION = 'repod-cli-probe';

/** The server answered with a 4xx/5xx status. `body` is its parsed JSON document when it sent one. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly body: unknown,
    /** The server's Retry-After, when it sent one (429, 503). */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** Something on this side went wrong (unreachable server, unreadable file): exit 1, no server code. */
export class LocalError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LocalError';
  }
}

export interface RequestOptions {
  /** Sent as `application/json`. */
  json?: unknown;
  /** A raw body (e.g. a streamed multipart body); `duplex: 'half'` is set for streams. */
  body?: ReadableStream<Uint8Array> | Uint8Array | string;
  headers?: Record<string, string>;
  query?: Record<string, string | number | undefined | null>;
  /** Send no Authorization header even when a token is configured (login). */
  anonymous?: boolean;
}

export class ApiClient {
  readonly baseUrl: URL;

  constructor(
    url: string,
    readonly token: string | undefined,
  ) {
    this.baseUrl = ApiClient.parseUrl(url);
  }

  /** A server URL as users type it: `http://host:8080`, `https://host/prefix/`. Throws on anything else. */
  static parseUrl(url: string): URL {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new TypeError(`invalid server URL ${JSON.stringify(url)} (expected e.g. ${DEFAULT_URL})`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new TypeError(`invalid server URL ${JSON.stringify(url)}: only http and https are supported`);
    }
    if (!parsed.pathname.endsWith('/')) parsed.pathname += '/';
    parsed.search = '';
    parsed.hash = '';
    return parsed;
  }

  /** `path` starts with `/`; it is resolved under the base URL's path, so a prefix is kept. */
  url(path: string, query: RequestOptions['query'] = {}): URL {
    const url = new URL(path.replace(/^\//, ''), this.baseUrl);
    for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') url.searchParams.set(k, String(v));
    return url;
  }

  /**
   * Sends one request and returns the parsed JSON answer; throws ApiError on 4xx/5xx, LocalError
   * when the server is unreachable. A request the server rate-limited (429 `rate_limited`) is sent
   * again after its Retry-After, a few times, unless its body is a stream (which cannot be replayed).
   */
  async request<T = unknown>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.requestOnce<T>(method, path, options);
      } catch (error) {
        const wait = error instanceof ApiError && error.code === 'rate_limited' ? error.retryAfterSeconds : undefined;
        if (wait === undefined || attempt >= MAX_RATE_LIMITED_TRIES || options.body instanceof ReadableStream) throw error;
        await new Promise((resolve) => setTimeout(resolve, Math.min(wait, 60) * 1000));
      }
    }
  }

  private async requestOnce<T>(method: string, path: string, options: RequestOptions): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
    if (this.token && !options.anonymous) headers.authorization = `Bearer ${this.token}`;
    let body: RequestInit['body'];
    if (options.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(options.json);
    } else if (options.body !== undefined) {
      body = options.body as RequestInit['body'];
    }
    const url = this.url(path, options.query);
    const streamed = options.body instanceof ReadableStream;
    // An upload's connection is not kept for the next request: a server may close it once it has
    // answered a large body (workerd does), and the next request on it would fail as 'other side
    // closed' although the upload was published. One handshake per upload is cheap.
    if (streamed) headers.connection = 'close';
    let response: Response;
    try {
      // A streamed body: `duplex: 'half'`, and `redirect: 'error'`. With redirects followed, fetch
      // clones the request to replay it, which tees the body stream; the unread branch then keeps
      // every chunk sent (measured: a 400 MB upload held 400 MB). A stream cannot be replayed anyway.
      response = await fetch(url, { method, headers, body, ...(streamed ? { duplex: 'half', redirect: 'error' } : {}) } as RequestInit);
    } catch (error) {
      if (streamed && /redirect/i.test(describeFetchError(error))) {
        throw new LocalError(`${url.origin} answered an upload with a redirect, which a streamed upload cannot follow: point --url at the final address`, { cause: error });
      }
      if (streamed && BROKEN_CONNECTION.test(describeFetchError(error))) await this.whyUploadRefused();
      throw new LocalError(`cannot reach ${url.origin}: ${describeFetchError(error)}`, { cause: error });
    }
    const text = await response.text().catch((error) => {
      throw new LocalError(`the connection to ${url.origin} broke while reading the answer: ${describeFetchError(error)}`, { cause: error });
    });
    let parsed: unknown;
    if (text.length > 0) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = undefined;
      }
    }
    if (!response.ok) {
      const doc = parsed as { error?: unknown; message?: unknown } | undefined;
      const code = typeof doc?.error === 'string' ? doc.error : `http_${response.status}`;
      const message =
        typeof doc?.message === 'string'
          ? doc.message
          : `${method} ${url.pathname} answered ${response.status} ${response.statusText}${text && parsed === undefined ? `: ${text.slice(0, 200).trim()}` : ''}`;
      const retryAfter = Number(response.headers.get('retry-after'));
      throw new ApiError(response.status, code, message, parsed, Number.isFinite(retryAfter) && retryAfter >= 0 ? retryAfter : undefined);
    }
    if (parsed === undefined && text.length > 0) {
      throw new LocalError(`${method} ${url.pathname} answered ${response.status} with something that is not JSON: ${text.slice(0, 200).trim()}`);
    }
    return (parsed ?? {}) as T;
  }

  /**
   * A server refuses an upload it will not take (a bad token, a role that may not upload) as soon as
   * it has the headers, answers, and closes the connection while the body is still on its way. The
   * closed socket then resets the connection, and the reset can throw away the answer before fetch
   * reads it: all the client sees is a broken pipe. So, after a streamed upload broke, ask the
   * server whether this token may upload at all (an upload session that does not exist: 401 or 403
   * before anything else, 404 otherwise), and throw its answer if it is a refusal.
   */
  private async whyUploadRefused(): Promise<void> {
    try {
      await this.requestOnce('GET', `/api/v1/uploads/${UNKNOWN_UPLOAD_SESSION}`, {});
    } catch (probe) {
      if (probe instanceof ApiError && (probe.status === 401 || probe.status === 403)) throw probe;
    }
  }

  get<T = unknown>(path: string, query?: RequestOptions['query']): Promise<T> {
    return this.request<T>('GET', path, { query });
  }

  post<T = unknown>(path: string, json?: unknown): Promise<T> {
    return this.request<T>('POST', path, json === undefined ? {} : { json });
  }
}

/** undici hides the reason in `cause` (ECONNREFUSED, ENOTFOUND, a body stream error...). */
export function describeFetchError(error: unknown): string {
  const parts: string[] = [];
  let e: unknown = error;
  for (let depth = 0; e && depth < 4; depth++) {
    const err = e as { message?: string; code?: string; cause?: unknown };
    const text = err.message || err.code;
    if (text && text !== 'fetch failed' && !parts.includes(text)) parts.push(text);
    e = err.cause;
  }
  return parts.join(': ') || String(error);
}

/** Path segments the user typed (distribution, revision, tag names) go into URLs encoded. */
export const seg = (value: string | number): string => encodeURIComponent(String(value));
