import { RepodError } from '../errors.ts';

/**
 * A streaming multipart/form-data reader. Part bodies are web streams pulled straight from the
 * request, so a multi-gigabyte file part is never buffered (libraries for web streams we looked at
 * hand out each part as one buffer; busboy needs Node streams and would not run on Workers).
 * Each part's body must be consumed (or cancelled) before asking for the next part.
 */
export interface MultipartPart {
  name: string;
  filename?: string;
  contentType?: string;
  body: ReadableStream<Uint8Array>;
}

const MAX_HEADER_BYTES = 16 * 1024;
/** What may follow the closing boundary (RFC 2046's epilogue): a CRLF from every encoder seen. */
const MAX_EPILOGUE_BYTES = 16 * 1024;

export function boundaryOf(contentType: string | undefined): string | null {
  if (!contentType || !/^multipart\/form-data/i.test(contentType)) return null;
  const m = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  return m ? (m[1] ?? m[2]) : null;
}

function indexOf(haystack: Uint8Array, needle: Uint8Array, from = 0): number {
  const first = needle[0];
  const last = haystack.length - needle.length;
  outer: for (let i = haystack.indexOf(first, from); i !== -1 && i <= last; i = haystack.indexOf(first, i + 1)) {
    for (let j = 1; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

const badRequest = (message: string) => new RepodError('invalid_multipart', message, { status: 400 });

export class MultipartReader {
  private readonly source: ReadableStreamDefaultReader<Uint8Array>;
  private buffer = new Uint8Array(0);
  private ended = false;
  /** "\r\n--boundary": what ends a part body. */
  private readonly delimiter: Uint8Array;
  private state: 'start' | 'between' | 'body' | 'done' = 'start';

  constructor(body: ReadableStream<Uint8Array>, boundary: string) {
    this.source = body.getReader();
    this.delimiter = new TextEncoder().encode(`\r\n--${boundary}`);
  }

  private async fill(): Promise<boolean> {
    if (this.ended) return false;
    const { done, value } = await this.source.read();
    if (done) {
      this.ended = true;
      return false;
    }
    const joined = new Uint8Array(this.buffer.length + value.length);
    joined.set(this.buffer);
    joined.set(value, this.buffer.length);
    this.buffer = joined;
    return true;
  }

  private async need(n: number): Promise<void> {
    while (this.buffer.length < n) if (!(await this.fill())) throw badRequest('multipart body ends early');
  }

  /**
   * Reads the request to its end after the closing boundary. A server that answered here, with the
   * epilogue's CRLF or the end of a chunked body still on its way, closed a connection its client
   * was still writing to: the client (the CLI, through fetch) saw EPIPE instead of the answer.
   */
  private async readEpilogue(): Promise<void> {
    let length = this.buffer.length - 2;
    this.buffer = new Uint8Array(0);
    while (!this.ended) {
      const { done, value } = await this.source.read();
      if (done) this.ended = true;
      else length += value.length;
      if (length > MAX_EPILOGUE_BYTES) throw badRequest(`more than ${MAX_EPILOGUE_BYTES} bytes after the closing multipart boundary`);
    }
  }

  async next(): Promise<MultipartPart | null> {
    if (this.state === 'body') throw new Error('the previous part was not consumed');
    if (this.state === 'done') return null;
    if (this.state === 'start') {
      // The first boundary may come without the leading CRLF; skip any preamble.
      const open = this.delimiter.subarray(2);
      for (;;) {
        const at = indexOf(this.buffer, open);
        if (at !== -1) {
          this.buffer = this.buffer.subarray(at + open.length);
          break;
        }
        if (this.buffer.length > MAX_HEADER_BYTES) throw badRequest('no multipart boundary found');
        if (!(await this.fill())) throw badRequest('no multipart boundary found');
      }
    }
    // After a boundary: "--" ends the body, CRLF starts a part.
    await this.need(2);
    if (this.buffer[0] === 45 && this.buffer[1] === 45) {
      this.state = 'done';
      await this.readEpilogue();
      return null;
    }
    let headerEnd: number;
    for (;;) {
      headerEnd = indexOf(this.buffer, new Uint8Array([13, 10, 13, 10]));
      if (headerEnd !== -1) break;
      if (this.buffer.length > MAX_HEADER_BYTES) throw badRequest('multipart part headers too long');
      if (!(await this.fill())) throw badRequest('multipart body ends inside part headers');
    }
    const headerText = new TextDecoder().decode(this.buffer.subarray(0, headerEnd));
    this.buffer = this.buffer.subarray(headerEnd + 4);
    const headers = new Map<string, string>();
    for (const line of headerText.split('\r\n')) {
      const colon = line.indexOf(':');
      if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
    const disposition = headers.get('content-disposition') ?? '';
    const name = /\bname="([^"]*)"/i.exec(disposition)?.[1] ?? /\bname=([^;\s]+)/i.exec(disposition)?.[1];
    if (name === undefined) throw badRequest('multipart part without a name');
    const filename = /\bfilename="([^"]*)"/i.exec(disposition)?.[1] ?? /\bfilename=([^;\s]+)/i.exec(disposition)?.[1];
    this.state = 'body';
    return { name, filename, contentType: headers.get('content-type'), body: this.partBody() };
  }

  private partBody(): ReadableStream<Uint8Array> {
    const keep = this.delimiter.length - 1;
    return new ReadableStream<Uint8Array>(
      {
        pull: async (controller) => {
          for (;;) {
            const at = indexOf(this.buffer, this.delimiter);
            if (at !== -1) {
              if (at > 0) controller.enqueue(this.buffer.slice(0, at));
              this.buffer = this.buffer.subarray(at + this.delimiter.length);
              this.state = 'between';
              controller.close();
              return;
            }
            // Everything but a tail that could be the start of the delimiter is body.
            if (this.buffer.length > keep) {
              const emit = this.buffer.length - keep;
              controller.enqueue(this.buffer.slice(0, emit));
              this.buffer = this.buffer.subarray(emit);
              return;
            }
            if (!(await this.fill())) {
              controller.error(badRequest('multipart body ends inside a part'));
              return;
            }
          }
        },
        cancel: async () => {
          // Skip the rest of this part so the next one can be read.
          for (;;) {
            const at = indexOf(this.buffer, this.delimiter);
            if (at !== -1) {
              this.buffer = this.buffer.subarray(at + this.delimiter.length);
              this.state = 'between';
              return;
            }
            if (this.buffer.length > keep) this.buffer = this.buffer.subarray(this.buffer.length - keep);
            if (!(await this.fill())) {
              this.state = 'done';
              return;
            }
          }
        },
      },
      { highWaterMark: 0 },
    );
  }

  async cancel(): Promise<void> {
    await this.source.cancel().catch(() => undefined);
  }
}

export async function readText(stream: ReadableStream<Uint8Array>, limit = 64 * 1024): Promise<string> {
  const reader = stream.getReader();
  const parts: Uint8Array[] = [];
  let length = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    length += value.length;
    if (length > limit) throw badRequest(`multipart field longer than ${limit} bytes`);
    parts.push(value);
  }
  const out = new Uint8Array(length);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return new TextDecoder().decode(out);
}
