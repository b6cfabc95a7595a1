import { type ApiClient, ApiError, describeFetchError, LocalError, seg } from '../http-client.ts';
import { fileStream } from '../multipart.ts';
import type { LocalFile } from './local-files.ts';

/**
 * A large file goes in parts (POST /api/v1/uploads): each part is one PUT of at most 95 MiB,
 * straight to the store where it presigns or to repod's own part URL, so no request body comes
 * near the 100 MB a Cloudflare Worker takes; completion publishes it and answers what
 * POST /api/v1/upload answers. Parts stream from the file one at a time (bounded memory) and a
 * part that fails on the way (network, 5xx) is sent again.
 */
export const DEFAULT_PARTS_THRESHOLD = 64 * 1024 * 1024;
const RETRIES = 3;

export interface PartsUploadOptions {
  distribution: string;
  component?: string;
  message?: string;
  /** Bytes per part; the server's default (REPOD_UPLOAD_PART_BYTES) when absent. */
  partSize?: number;
  /** File bytes sent (negative when a failed part's bytes are taken back before it is sent again). */
  onBytes?: (n: number) => void;
  onPart?: (number: number, count: number) => void;
  /** Every part is sent: the server reads them back and publishes. */
  onComplete?: () => void;
  /** Pause before a retry (tests shorten it). */
  retryDelayMs?: number;
}

interface Session {
  id: string;
  part_size: number;
  parts: Array<{ number: number; size: number; url: string; method: string }>;
}

/** Sizes as people type them: 1048576, 64M, 64MiB, 2G (powers of 1024). */
export function parseBytes(value: string): number | null {
  const m = /^(\d+)\s*(?:([KMG])(?:i?B)?)?$/i.exec(value.trim());
  if (!m) return null;
  const unit = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[(m[2] ?? '').toUpperCase() as '' | 'K' | 'M' | 'G'];
  return Number(m[1]) * unit;
}

/**
 * Sends one file in parts and completes the upload; the answer is POST /api/v1/upload's. Null
 * when the server has no such API (an older one): the caller sends the file in one request. A
 * failure before completion aborts the upload, so nothing is left on the server.
 */
export async function uploadInParts(client: ApiClient, file: LocalFile, options: PartsUploadOptions): Promise<Record<string, unknown> | null> {
  let session: Session;
  try {
    session = await client.request<Session>('POST', '/api/v1/uploads', {
      json: {
        filename: file.filename,
        size: file.size,
        distribution: options.distribution,
        ...(options.component !== undefined ? { component: options.component } : {}),
        ...(options.message !== undefined ? { message: options.message } : {}),
        ...(options.partSize !== undefined ? { part_size: options.partSize } : {}),
      },
    });
  } catch (error) {
    // "no such path": a server from before uploads in parts.
    if (error instanceof ApiError && error.status === 404 && error.code === 'not_found') return null;
    throw error;
  }
  const path = `/api/v1/uploads/${seg(session.id)}`;
  try {
    for (const part of session.parts) {
      options.onPart?.(part.number, session.parts.length);
      await sendPart(file, (part.number - 1) * session.part_size, part, options);
    }
  } catch (error) {
    await client.request('DELETE', path).catch(() => undefined);
    throw error;
  }
  options.onComplete?.();
  // A refused completion cleans up on the server (or keeps the parts for another try when the store failed).
  return client.request<Record<string, unknown>>('POST', `${path}/complete`);
}

async function sendPart(file: LocalFile, offset: number, part: Session['parts'][number], options: PartsUploadOptions): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    let sent = 0;
    try {
      await putOnce(file, offset, part, (n) => {
        sent += n;
        options.onBytes?.(n);
      });
      return;
    } catch (error) {
      options.onBytes?.(-sent);
      const retry = attempt < RETRIES && (error instanceof LocalError || (error instanceof ApiError && error.status >= 500));
      if (!retry) throw error;
      await new Promise((r) => setTimeout(r, (options.retryDelayMs ?? 1000) * attempt));
    }
  }
}

/** One PUT of one part: no Authorization header (the URL carries its own credential, and may be the store's). */
async function putOnce(file: LocalFile, offset: number, part: Session['parts'][number], onBytes: (n: number) => void): Promise<void> {
  let response: Response;
  try {
    response = await fetch(part.url, {
      method: part.method || 'PUT',
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(part.size) },
      body: fileStream(file.path, 256 * 1024, { offset, length: part.size }).pipeThrough(
        new TransformStream<Uint8Array, Uint8Array>({
          transform(chunk, controller) {
            onBytes(chunk.length);
            controller.enqueue(chunk);
          },
        }),
      ),
      duplex: 'half',
      redirect: 'error',
    } as RequestInit);
  } catch (error) {
    if (error instanceof LocalError) throw error;
    throw new LocalError(`sending part ${part.number} of ${file.filename} failed: ${describeFetchError(error)}`, { cause: error });
  }
  const text = await response.text().catch(() => '');
  if (response.ok) return;
  // repod answers JSON; a store answers S3's XML error document.
  let code = `http_${response.status}`;
  let message = `part ${part.number} of ${file.filename}: PUT answered ${response.status} ${response.statusText}`;
  try {
    const doc = JSON.parse(text) as { error?: string; message?: string };
    if (doc.error) code = doc.error;
    if (doc.message) message = doc.message;
  } catch {
    const xmlCode = /<Code>([^<]*)<\/Code>/.exec(text)?.[1];
    const xmlMessage = /<Message>([^<]*)<\/Message>/.exec(text)?.[1];
    if (xmlCode) code = xmlCode;
    if (xmlCode || xmlMessage) message = `part ${part.number} of ${file.filename}: the store answered ${response.status} ${xmlCode ?? ''}${xmlMessage ? `: ${xmlMessage}` : ''}`;
  }
  throw new ApiError(response.status, code, message, text);
}
