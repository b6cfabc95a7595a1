import { layout } from '../bucket/layout.ts';
import type { Capabilities } from '../capabilities.ts';
import { MAX_UPLOAD_PART_BYTES, MIN_UPLOAD_PART_BYTES, type Settings } from '../config/settings.ts';
import { ConflictError, PreconditionFailedError, RepodError } from '../errors.ts';
import type { BlobStore } from '../storage/blob-store.ts';
import { getJson, putJson } from '../storage/objects.ts';

/**
 * An upload in parts: a package too big for one request body (Cloudflare Workers take 100 MB) is
 * sent as numbered parts, each its own object, then read back as one stream through the same
 * staging as a one-request upload. Nothing here needs the store's multipart API: a part is an
 * ordinary object, written by repod (`PUT /api/v1/uploads/<id>/parts/<n>?token=`) or straight to
 * the store through a presigned PUT URL.
 *
 *   uploads/<id>/session.json    what was announced (size, part size, distribution...), written first
 *   uploads/<id>/part-00001 ...  the parts, each exactly `partSize` bytes except the last
 *
 * A session expires `uploadExpirySeconds` after its creation; completing or aborting it deletes
 * the session object first, then its parts. Garbage collection deletes expired sessions and parts
 * left without a session (revisions/gc.ts).
 */
export interface UploadSession {
  format: 1;
  id: string;
  created: string;
  expires: string;
  /** Who created it: only they (or an admin) may complete, abort or look at it. */
  author: string;
  /** The name the client announced (informational: the published name comes from the package). */
  filename: string;
  size: number;
  partSize: number;
  distribution: string;
  component?: string;
  replace: boolean;
  message?: string;
  /** The sha256 the client announced: completion refuses other bytes. */
  sha256?: string;
  /**
   * The secret of repod's own part URLs. It lets its holder write this session's parts until it
   * expires, no more (like a presigned URL); kept so that a client can ask for the URLs again.
   */
  token: string;
  /** Set (ISO time) while a completion runs, so two do not read the parts at once. */
  completing?: string;
}

export interface UploadRequest {
  filename: string;
  size: number;
  distribution: string;
  component?: string;
  replace?: boolean;
  message?: string;
  sha256?: string;
  /** Asked by the client; the setting's default otherwise. */
  partSize?: number;
}

/** Most parts of one upload (S3's multipart limit, a sane bound on the answer's size). */
export const MAX_UPLOAD_PARTS = 10_000;
/** A completion older than this is taken as crashed: another may take over. */
const COMPLETION_STALE_MS = 30 * 60 * 1000;
/** The longest validity of a presigned URL (SigV4). */
const MAX_PRESIGN_SECONDS = 7 * 24 * 3600;

const ID = /^[A-Za-z0-9_-]{16,64}$/;

export const uploadKeys = {
  prefix: (id: string) => `${layout.upload(id)}/`,
  session: (id: string) => `${layout.upload(id)}/session.json`,
  part: (id: string, n: number) => `${layout.upload(id)}/part-${String(n).padStart(5, '0')}`,
};

/** The session an object under uploads/ belongs to, or null for a one-request upload being staged (`uploads/<random>`). */
export function uploadSessionIdOf(key: string): string | null {
  const m = /^uploads\/([^/]+)\/[^/]+$/.exec(key);
  return m ? m[1] : null;
}

export function partCount(session: Pick<UploadSession, 'size' | 'partSize'>): number {
  return Math.ceil(session.size / session.partSize);
}

/** The exact size of part `n` (1-based). */
export function partBytes(session: Pick<UploadSession, 'size' | 'partSize'>, n: number): number {
  return n < partCount(session) ? session.partSize : session.size - (partCount(session) - 1) * session.partSize;
}

export function isExpired(session: UploadSession, now: Date): boolean {
  return Date.parse(session.expires) <= now.getTime();
}

/** Seconds a presigned part URL stays valid: until the session expires (SigV4 allows a week at most). */
export function presignSecondsFor(session: UploadSession, now: Date): number {
  return Math.max(1, Math.min(MAX_PRESIGN_SECONDS, Math.ceil((Date.parse(session.expires) - now.getTime()) / 1000)));
}

/** Compares a secret without stopping at the first difference (its time does not tell how much matched). */
export function sameSecret(given: string, expected: string): boolean {
  let diff = given.length ^ expected.length;
  const n = Math.max(given.length, expected.length);
  for (let i = 0; i < n; i++) diff |= (given.charCodeAt(i) | 0) ^ (expected.charCodeAt(i) | 0);
  return diff === 0 && expected.length > 0;
}

/** Checks the announced upload against the limits and writes its session. */
export async function createUploadSession(caps: Capabilities, settings: Settings, request: UploadRequest, author: string): Promise<UploadSession> {
  const { size } = request;
  if (!Number.isSafeInteger(size) || size < 1)
    throw new RepodError('invalid_request', `size must be the package's length in bytes (a positive integer), not ${JSON.stringify(size)}`, { status: 400 });
  if (size > settings.maxUploadBytes) {
    throw new RepodError('too_large', `package of ${size} bytes is larger than the limit of ${settings.maxUploadBytes} bytes`, {
      status: 413,
      details: { limit: settings.maxUploadBytes },
    });
  }
  const partSize = request.partSize ?? settings.uploadPartBytes;
  if (!Number.isSafeInteger(partSize) || partSize < MIN_UPLOAD_PART_BYTES || partSize > MAX_UPLOAD_PART_BYTES) {
    const what = request.partSize === undefined ? 'the setting REPOD_UPLOAD_PART_BYTES' : 'part_size';
    throw new RepodError(
      request.partSize === undefined ? 'invalid_setting' : 'invalid_request',
      `${what} must be between ${MIN_UPLOAD_PART_BYTES} and ${MAX_UPLOAD_PART_BYTES} bytes, not ${partSize}`,
      {
        status: request.partSize === undefined ? 500 : 400,
      },
    );
  }
  if (Math.ceil(size / partSize) > MAX_UPLOAD_PARTS) {
    throw new RepodError('too_many_parts', `${size} bytes in parts of ${partSize} make more than ${MAX_UPLOAD_PARTS} parts: ask for a larger part_size`, { status: 400 });
  }
  const now = caps.now();
  const session: UploadSession = {
    format: 1,
    id: caps.randomId(),
    created: now.toISOString(),
    expires: new Date(now.getTime() + settings.uploadExpirySeconds * 1000).toISOString(),
    author,
    filename: request.filename,
    size,
    partSize,
    distribution: request.distribution,
    ...(request.component !== undefined ? { component: request.component } : {}),
    replace: request.replace ?? false,
    ...(request.message !== undefined ? { message: request.message } : {}),
    ...(request.sha256 !== undefined ? { sha256: request.sha256 } : {}),
    token: caps.randomId(),
  };
  await putJson(caps.store, uploadKeys.session(session.id), session, { ifNoneMatch: '*' });
  return session;
}

/** A session and its etag, or null when there is none (never was, completed, aborted, collected). */
export async function readUploadSession(store: BlobStore, id: string): Promise<{ session: UploadSession; etag: string } | null> {
  if (!ID.test(id)) return null;
  const found = await getJson<UploadSession>(store, uploadKeys.session(id));
  if (!found) return null;
  if (found.value?.format !== 1) throw new RepodError('invalid_upload_session', `upload ${id} has a session object of an unknown format`, { status: 500 });
  return { session: found.value, etag: found.etag };
}

/** Part number → size of the parts stored so far (one listing, whatever the number of parts). */
export async function storedParts(store: BlobStore, session: UploadSession): Promise<Map<number, number>> {
  const prefix = uploadKeys.prefix(session.id);
  const parts = new Map<number, number>();
  for await (const e of store.list(prefix)) {
    const m = /^part-(\d{5})$/.exec(e.key.slice(prefix.length));
    if (m) parts.set(Number(m[1]), e.size);
  }
  return parts;
}

export interface PartsCheck {
  missing: number[];
  wrongSize: Array<{ number: number; expected: number; actual: number }>;
}

export function checkParts(session: UploadSession, stored: Map<number, number>): PartsCheck {
  const check: PartsCheck = { missing: [], wrongSize: [] };
  for (let n = 1; n <= partCount(session); n++) {
    const actual = stored.get(n);
    if (actual === undefined) check.missing.push(n);
    else if (actual !== partBytes(session, n)) check.wrongSize.push({ number: n, expected: partBytes(session, n), actual });
  }
  return check;
}

/** Refuses a completion whose parts are not all there with their sizes: 400 for wrong sizes, 409 for missing parts. */
export function requireAllParts(session: UploadSession, check: PartsCheck): void {
  const list = (ns: number[]) => (ns.length > 10 ? `${ns.slice(0, 10).join(', ')} and ${ns.length - 10} more` : ns.join(', '));
  if (check.wrongSize.length > 0) {
    const first = check.wrongSize[0];
    throw new RepodError(
      'wrong_part_size',
      `part${check.wrongSize.length > 1 ? 's' : ''} ${list(check.wrongSize.map((w) => w.number))} of upload ${session.id} ${check.wrongSize.length > 1 ? 'have' : 'has'} the wrong size (part ${first.number}: ${first.actual} bytes, expected ${first.expected}): upload ${check.wrongSize.length > 1 ? 'them' : 'it'} again`,
      { status: 400, details: { wrong_size: check.wrongSize, missing: check.missing } },
    );
  }
  if (check.missing.length > 0) {
    throw new ConflictError(`upload ${session.id} is missing part${check.missing.length > 1 ? 's' : ''} ${list(check.missing)} of ${partCount(session)}`, 'missing_parts', {
      missing: check.missing,
    });
  }
}

/**
 * Writes part `n` from a request body, refusing a body of another length than the part's (the
 * store's put is atomic: a refused body leaves the part as it was).
 */
export async function writePart(store: BlobStore, session: UploadSession, n: number, body: ReadableStream<Uint8Array>): Promise<{ etag: string; size: number }> {
  const expected = partBytes(session, n);
  let seen = 0;
  const wrong = (what: string) => new RepodError('wrong_part_size', `part ${n} of upload ${session.id} must be ${expected} bytes; the body is ${what}`, { status: 400 });
  const counted = body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        seen += chunk.length;
        if (seen > expected) throw wrong('longer');
        controller.enqueue(chunk);
      },
      flush() {
        if (seen !== expected) throw wrong(`${seen} bytes`);
      },
    }),
  );
  const { etag } = await store.put(uploadKeys.part(session.id, n), counted, { contentType: 'application/octet-stream', size: expected });
  return { etag, size: expected };
}

/**
 * The package: the parts one after another, one part open at a time and read only as fast as the
 * consumer pulls. A part that went missing or changed size since it was checked ends the stream
 * with a RepodError, also reported through `onError` (a store driver may wrap what its body throws).
 */
export function partsStream(store: BlobStore, session: UploadSession, onError: (error: RepodError) => void = () => undefined): ReadableStream<Uint8Array> {
  const count = partCount(session);
  let n = 0;
  let reader: ReadableStreamDefaultReader<Uint8Array> | null = null;
  let seen = 0;
  const fail = (error: RepodError) => {
    onError(error);
    return error;
  };
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        for (;;) {
          if (!reader) {
            if (n === count) {
              controller.close();
              return;
            }
            n++;
            const object = await store.get(uploadKeys.part(session.id, n));
            if (!object) throw fail(new ConflictError(`part ${n} of upload ${session.id} disappeared while it was being read`, 'missing_parts', { missing: [n] }));
            reader = object.body.getReader();
            seen = 0;
          }
          const { done, value } = await reader.read();
          if (done) {
            reader = null;
            if (seen !== partBytes(session, n)) throw fail(new RepodError('wrong_part_size', `part ${n} of upload ${session.id} changed while it was being read`, { status: 400 }));
            continue;
          }
          seen += value.length;
          if (seen > partBytes(session, n)) {
            await reader.cancel().catch(() => undefined);
            throw fail(new RepodError('wrong_part_size', `part ${n} of upload ${session.id} changed while it was being read`, { status: 400 }));
          }
          controller.enqueue(value);
          return;
        }
      },
      async cancel(reason) {
        await reader?.cancel(reason).catch(() => undefined);
      },
    },
    { highWaterMark: 0 },
  );
}

/** A completion running now (not one that crashed long ago). */
export function completionRunning(session: UploadSession, now: Date): boolean {
  return session.completing !== undefined && now.getTime() - Date.parse(session.completing) < COMPLETION_STALE_MS;
}

/** Marks the session as being completed, by compare-and-swap: of two completions, one goes on and the other gets 409. */
export async function claimCompletion(caps: Capabilities, found: { session: UploadSession; etag: string }): Promise<{ session: UploadSession; etag: string }> {
  const busy = () => new ConflictError(`upload ${found.session.id} is being completed by another request`, 'upload_completing');
  if (completionRunning(found.session, caps.now())) throw busy();
  const session = { ...found.session, completing: caps.now().toISOString() };
  try {
    const { etag } = await putJson(caps.store, uploadKeys.session(session.id), session, { ifMatch: found.etag });
    return { session, etag };
  } catch (error) {
    if (error instanceof PreconditionFailedError) throw busy();
    throw error;
  }
}

/** Lets a completion that failed for a reason worth retrying (the store) be started again. */
export async function releaseCompletion(caps: Capabilities, claimed: { session: UploadSession; etag: string }): Promise<void> {
  const { completing: _completing, ...session } = claimed.session;
  await putJson(caps.store, uploadKeys.session(session.id), session, { ifMatch: claimed.etag }).catch(() => undefined);
}

/** Deletes a session, then its parts: from the first delete on, the upload is gone for every request. Returns the parts deleted. */
export async function deleteUploadSession(store: BlobStore, id: string): Promise<number> {
  await store.delete(uploadKeys.session(id));
  const keys: string[] = [];
  for await (const e of store.list(uploadKeys.prefix(id))) keys.push(e.key);
  for (let i = 0; i < keys.length; i += 16) await Promise.all(keys.slice(i, i + 16).map((k) => store.delete(k)));
  return keys.length;
}
