/**
 * Fetching from an upstream repository, whatever does the fetching: repod passes
 * OutboundClient.fetch (SSRF-guarded, timed, size-capped), tests pass the global fetch. Failures
 * become errors naming the URL: an unreachable host or a server error is the upstream's state
 * (502), not the caller's mistake.
 */
import { RepodError } from '../errors.ts';
import { concatBytes } from '../util/bytes.ts';

/** Fetches one URL with GET; the answer's body streams. */
export type UpstreamFetch = (url: string) => Promise<Response>;

/** `base` (with or without a trailing slash) joined with a relative path. */
export function upstreamUrl(base: string, path: string): string {
  return `${base.replace(/\/+$/, '')}/${path}`;
}

/**
 * The answer to a GET, or null when the upstream says the file does not exist (404, 410) and
 * `missingOk` is set. Errors: `upstream_unreachable` when the fetch itself fails (RepodErrors from
 * the outbound client pass through unchanged), `upstream_http_error` for other statuses (`hint`
 * is added to the message of a 404).
 */
export async function fetchUpstream(fetch: UpstreamFetch, url: string, missingOk: boolean, hint = ''): Promise<Response | null> {
  let response: Response;
  try {
    response = await fetch(url);
  } catch (cause) {
    if (cause instanceof RepodError) throw cause;
    throw new RepodError('upstream_unreachable', `cannot fetch ${url}: ${(cause as Error)?.message ?? String(cause)}`, { status: 502, cause, details: { url } });
  }
  if (response.ok) return response;
  await response.body?.cancel().catch(() => undefined);
  if (missingOk && (response.status === 404 || response.status === 410)) return null;
  throw new RepodError(
    'upstream_http_error',
    `${url} answered HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}${response.status === 404 ? hint : ''}`,
    {
      status: 502,
      details: { url, upstreamStatus: response.status },
    },
  );
}

/** The whole body of a small file (Release, repomd.xml, a signature), refused past `maxBytes`. */
export async function readSmallBody(response: Response, url: string, maxBytes: number): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let total = 0;
  if (response.body) {
    const reader = response.body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        total += value.byteLength;
        if (total > maxBytes) {
          throw new RepodError('upstream_index_too_large', `${url} is larger than ${maxBytes} bytes`, { status: 422, details: { url, maxBytes } });
        }
        parts.push(value);
      }
    } catch (error) {
      reader.cancel().catch(() => undefined);
      if (error instanceof RepodError) throw error;
      throw new RepodError('upstream_unreachable', `reading ${url} failed: ${(error as Error)?.message ?? String(error)}`, { status: 502, cause: error, details: { url } });
    }
  }
  return concatBytes(parts, total);
}
