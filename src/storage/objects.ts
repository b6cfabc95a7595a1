import type { BlobStore, PutOptions } from './blob-store.ts';

/** Reads a whole stream into one array. Only for objects known to be small (refs, headers, chunks). */
export async function readAllBytes(stream: ReadableStream<Uint8Array>, limit = Infinity): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let length = 0;
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    length += value.length;
    if (length > limit) {
      await reader.cancel();
      throw new RangeError(`object larger than ${limit} bytes`);
    }
    parts.push(value);
  }
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(length);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export async function getBytes(store: BlobStore, key: string): Promise<Uint8Array | null> {
  const object = await store.get(key);
  return object ? readAllBytes(object.body) : null;
}

export async function getJson<T>(store: BlobStore, key: string): Promise<{ value: T; etag: string } | null> {
  const object = await store.get(key);
  if (!object) return null;
  const bytes = await readAllBytes(object.body);
  return { value: JSON.parse(new TextDecoder().decode(bytes)) as T, etag: object.etag };
}

export function putJson(store: BlobStore, key: string, value: unknown, options: PutOptions = {}): Promise<{ etag: string }> {
  const bytes = new TextEncoder().encode(JSON.stringify(value));
  return store.put(key, bytes, { contentType: 'application/json', ...options });
}

export function bytesStream(bytes: Uint8Array): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      controller.enqueue(bytes);
      controller.close();
    },
  });
}
