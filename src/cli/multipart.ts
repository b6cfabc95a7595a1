import { randomBytes } from 'node:crypto';
import { open } from 'node:fs/promises';
import { LocalError } from './http-client.ts';
import { countingStream } from './progress.ts';

/**
 * A multipart/form-data request body built as a stream, so files of any size go out without
 * being buffered: each file is read in fixed-size chunks only when the connection pulls for more
 * (`highWaterMark: 0` all the way). The total length is known up front, so the request carries a
 * Content-Length and the server can refuse an oversized upload before reading it.
 */
export type FormPart =
  | { name: string; value: string }
  | { name: string; file: { path: string; filename: string; size: number; contentType?: string } }
  /** Bytes already in memory (the bench sends packages it read before timing). */
  | { name: string; file: { bytes: Uint8Array; filename: string; contentType?: string } };

type FilePart = Extract<FormPart, { file: unknown }>;

function fileSize(file: FilePart['file']): number {
  return 'bytes' in file ? file.bytes.length : file.size;
}

export interface MultipartBody {
  body: ReadableStream<Uint8Array>;
  contentType: string;
  /** Exact byte length of `body`. */
  length: number;
}

export interface MultipartOptions {
  boundary?: string;
  /** A file part starts (index among the file parts). */
  onFile?: (part: FilePart, index: number) => void;
  /** File bytes read from disk into the body. */
  onBytes?: (n: number) => void;
  chunkSize?: number;
}

const encoder = new TextEncoder();

/** Quotes in names are percent-encoded as browsers do (WHATWG multipart/form-data encoding). */
function quote(value: string): string {
  return value.replace(/"/g, '%22').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

function partHeader(boundary: string, part: FormPart): Uint8Array {
  let head = `--${boundary}\r\nContent-Disposition: form-data; name="${quote(part.name)}"`;
  if ('file' in part) head += `; filename="${quote(part.file.filename)}"\r\nContent-Type: ${part.file.contentType ?? 'application/octet-stream'}`;
  return encoder.encode(`${head}\r\n\r\n`);
}

export function multipartBody(parts: FormPart[], options: MultipartOptions = {}): MultipartBody {
  const boundary = options.boundary ?? `----repod-${randomBytes(12).toString('hex')}`;
  const crlf = encoder.encode('\r\n');
  const closing = encoder.encode(`--${boundary}--\r\n`);
  const headers = parts.map((p) => partHeader(boundary, p));
  const values = parts.map((p) => ('value' in p ? encoder.encode(p.value) : null));
  let length = closing.length;
  parts.forEach((p, i) => {
    length += headers[i].length + ('file' in p ? fileSize(p.file) : values[i]!.length) + crlf.length;
  });

  async function* generate(): AsyncGenerator<Uint8Array> {
    let fileIndex = 0;
    for (let i = 0; i < parts.length; i++) {
      const part = parts[i];
      yield headers[i];
      if ('file' in part) {
        options.onFile?.(part, fileIndex++);
        const file = part.file;
        if ('bytes' in file) {
          options.onBytes?.(file.bytes.length);
          yield file.bytes;
          yield crlf;
          continue;
        }
        let sent = 0;
        const reader = fileStream(file.path, options.chunkSize)
          .pipeThrough(
            countingStream((n) => {
              sent += n;
              options.onBytes?.(n);
            }),
          )
          .getReader();
        try {
          for (;;) {
            const { done, value } = await reader.read();
            if (done) break;
            if (sent > file.size) throw new LocalError(`${file.path} grew while it was being sent`);
            yield value;
          }
        } finally {
          await reader.cancel().catch(() => undefined);
        }
        if (sent !== file.size) throw new LocalError(`${file.path} changed size while it was being sent (${file.size} bytes expected, ${sent} read)`);
      } else if (values[i]!.length > 0) {
        yield values[i]!;
      }
      yield crlf;
    }
    yield closing;
  }

  const iterator = generate();
  const body = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const { done, value } = await iterator.next();
        if (done) controller.close();
        else controller.enqueue(value);
      },
      async cancel() {
        await iterator.return(undefined);
      },
    },
    { highWaterMark: 0 },
  );
  return { body, contentType: `multipart/form-data; boundary=${boundary}`, length };
}

/**
 * A file, or `length` bytes of it from `offset`, as a pull-driven web stream of `chunkSize`
 * pieces; the file is opened on the first read. A range that the file no longer holds (it shrank)
 * is an error rather than a short stream.
 */
export function fileStream(path: string, chunkSize = 256 * 1024, range?: { offset: number; length: number }): ReadableStream<Uint8Array> {
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  let position = range?.offset ?? 0;
  const end = range ? range.offset + range.length : Infinity;
  const close = async () => {
    const h = handle;
    handle = undefined;
    await h?.close().catch(() => undefined);
  };
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          handle ??= await open(path, 'r');
          const want = Math.min(chunkSize, end - position);
          if (want <= 0) {
            await close();
            controller.close();
            return;
          }
          const buffer = new Uint8Array(want);
          const { bytesRead } = await handle.read(buffer, 0, want, position);
          if (bytesRead === 0) {
            if (range) throw new Error(`the file ended at ${position} bytes, ${end} expected (did it change?)`);
            await close();
            controller.close();
            return;
          }
          position += bytesRead;
          controller.enqueue(bytesRead < want ? buffer.subarray(0, bytesRead) : buffer);
        } catch (error) {
          await close();
          controller.error(new LocalError(`cannot read ${path}: ${(error as Error).message}`, { cause: error }));
        }
      },
      cancel: close,
    },
    { highWaterMark: 0 },
  );
}
