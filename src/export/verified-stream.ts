import type { Capabilities } from '../capabilities.ts';
import { RepodError } from '../errors.ts';

/**
 * Passes bytes through while hashing them, and errors the stream at its end when the size or the
 * sha256 is not what the source promised: the target's atomic write then keeps nothing, so a
 * corrupt pool object or chunk never lands in an exported tree.
 */
export function verifiedStream(
  caps: Pick<Capabilities, 'hash'>,
  body: ReadableStream<Uint8Array>,
  expected: { sha256: string; size?: number; what: string },
): ReadableStream<Uint8Array> {
  const hasher = caps.hash('sha256');
  let size = 0;
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        hasher.update(chunk);
        size += chunk.length;
        controller.enqueue(chunk);
      },
      async flush() {
        const sha256 = await hasher.digest();
        if (sha256 !== expected.sha256 || (expected.size !== undefined && size !== expected.size)) {
          throw new RepodError(
            'corrupt_object',
            `${expected.what}: the store gave ${size} bytes with sha256 ${sha256}, expected ${expected.size ?? 'any'} bytes with sha256 ${expected.sha256}`,
            { status: 500 },
          );
        }
      },
    }),
  );
}

/** The sha256 and size of a whole stream. */
export async function digestStream(caps: Pick<Capabilities, 'hash'>, body: ReadableStream<Uint8Array>): Promise<{ sha256: string; size: number }> {
  const hasher = caps.hash('sha256');
  let size = 0;
  const reader = body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    hasher.update(value);
    size += value.length;
  }
  return { sha256: await hasher.digest(), size };
}
