/**
 * HTTP byte ranges (RFC 9110 §14) over a body known only as a stream of its bytes: what zchunk
 * clients need from metadata files. librepo reads a .zck's header with one range, then asks for
 * the chunks it lacks as many ranges in one request, answered as multipart/byteranges.
 */

/** An inclusive byte interval of a representation. */
export interface ByteInterval {
  start: number;
  end: number;
}

/** Ranges per request a server answers; more (a client scanning a file in tiny pieces) get the whole file. */
export const MAX_RANGES = 512;

/**
 * The satisfiable ranges a Range header asks of a representation of `size` bytes, sorted and with
 * overlapping or adjacent ranges merged (as RFC 9110 lets a server do); null when the header is
 * absent, malformed, not in bytes or asks for too many pieces (the whole file is sent); 'invalid'
 * when no range is satisfiable (416).
 */
export function parseByteRanges(header: string | undefined, size: number): ByteInterval[] | 'invalid' | null {
  if (!header) return null;
  const m = /^\s*bytes\s*=\s*(.+)$/i.exec(header);
  if (!m) return null;
  const specs = m[1]!.split(',').map((s) => s.trim());
  if (specs.length > MAX_RANGES || specs.some((s) => s === '')) return null;
  const ranges: ByteInterval[] = [];
  for (const spec of specs) {
    const r = /^(\d*)-(\d*)$/.exec(spec);
    if (!r || (r[1] === '' && r[2] === '')) return null;
    if (r[1] === '') {
      const suffix = Number(r[2]);
      if (suffix > 0 && size > 0) ranges.push({ start: Math.max(0, size - suffix), end: size - 1 });
      continue;
    }
    const start = Number(r[1]);
    const end = r[2] === '' ? size - 1 : Math.min(Number(r[2]), size - 1);
    if (r[2] !== '' && Number(r[2]) < start) return null; // last < first: the header is invalid, ignore it
    if (start < size) ranges.push({ start, end });
  }
  if (ranges.length === 0) return 'invalid';
  ranges.sort((a, b) => a.start - b.start);
  const merged: ByteInterval[] = [ranges[0]!];
  for (const r of ranges.slice(1)) {
    const last = merged[merged.length - 1]!;
    if (r.start <= last.end + 1) last.end = Math.max(last.end, r.end);
    else merged.push({ ...r });
  }
  return merged;
}

/** The framing of a multipart/byteranges body: each part's head, and the closing delimiter. */
export function multipartFraming(boundary: string, contentType: string, ranges: ByteInterval[], size: number): { heads: string[]; tail: string; length: number } {
  const heads = ranges.map((r, i) => `${i === 0 ? '' : '\r\n'}--${boundary}\r\nContent-Type: ${contentType}\r\nContent-Range: bytes ${r.start}-${r.end}/${size}\r\n\r\n`);
  const tail = `\r\n--${boundary}--\r\n`;
  const encoder = new TextEncoder();
  const length = heads.reduce((n, h) => n + encoder.encode(h).length, 0) + ranges.reduce((n, r) => n + r.end - r.start + 1, 0) + encoder.encode(tail).length;
  return { heads, tail, length };
}

/**
 * The bytes of sorted, disjoint `ranges` of a stream, in one pass, each preceded by `heads[i]`
 * and the whole followed by `tail` (empty strings for a single range). Reading stops, and the
 * source is cancelled, once the last range is complete.
 */
export function rangesOfStream(source: ReadableStream<Uint8Array>, ranges: ByteInterval[], heads: string[] = [], tail = ''): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  const reader = source.getReader();
  let offset = 0; // of the next source byte
  let index = 0; // the range being sent
  let headSent = false;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      while (index < ranges.length) {
        const range = ranges[index]!;
        if (!headSent) {
          headSent = true;
          if (heads[index]) {
            controller.enqueue(encoder.encode(heads[index]));
            return;
          }
        }
        const { done, value } = await reader.read();
        if (done) {
          controller.error(new Error(`the body ended at byte ${offset}, before the range ${range.start}-${range.end}`));
          return;
        }
        const chunkStart = offset;
        offset += value.length;
        let emitted = false;
        // One source chunk may hold the end of this range and the start of the next ones.
        let at = chunkStart;
        while (index < ranges.length && at < offset) {
          const r = ranges[index]!;
          if (r.start >= offset) break;
          const from = Math.max(r.start, at) - chunkStart;
          const to = Math.min(r.end + 1, offset) - chunkStart;
          if (to > from) {
            if (!headSent) {
              headSent = true;
              if (heads[index]) controller.enqueue(encoder.encode(heads[index]));
            }
            controller.enqueue(value.subarray(from, to));
            emitted = true;
          }
          if (r.end + 1 <= offset) {
            index++;
            headSent = false;
            at = r.end + 1;
          } else break;
        }
        if (emitted) return;
      }
      await reader.cancel().catch(() => undefined);
      if (tail) controller.enqueue(encoder.encode(tail));
      controller.close();
    },
    async cancel(reason) {
      await reader.cancel(reason).catch(() => undefined);
    },
  });
}
