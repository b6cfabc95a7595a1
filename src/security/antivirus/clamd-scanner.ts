/**
 * Scans a byte stream with a ClamAV daemon (clamd) through INSTREAM, over a connection the runtime
 * provides (src/runtime/node-clamd.ts on Node; a Worker could pass a `connect()` socket).
 *
 * The stream is passed through chunk by chunk, each write awaited, so memory stays at one chunk
 * whatever the size and a slow daemon slows the reader instead of filling a buffer. The whole scan
 * runs under one deadline: a daemon that accepts and never answers, or a connection that never
 * opens, yields `unavailable` when it passes, and the connection and the input are released.
 *
 * Outcomes:
 * - `stream: OK` → clean; `stream: <name> FOUND` → infected;
 * - `Heuristics.Limits.Exceeded.* FOUND` (clamd.conf AlertExceedsMax: the stream was only partly
 *   scanned, over MaxFileSize or MaxScanSize) → too_large;
 * - `INSTREAM size limit exceeded. ERROR`, or clamd closing the connection mid-stream while it
 *   still answers PING afterwards (clamd drops the connection right after that reply, and a
 *   client may see the close before the reply) → too_large;
 * - no connection, timeout, other errors, or the connection lost with the daemon gone →
 *   unavailable.
 * An error of the input stream itself is not a verdict: scan() rethrows it (after closing the
 * connection without ending the stream, so clamd scans nothing).
 */
import type { ClamdReply } from './clamd-protocol.ts';
import { END_OF_STREAM, frameChunk, INSTREAM_COMMAND, parseReply, ReplyCollector } from './clamd-protocol.ts';

export interface ScannerConnection {
  readable: ReadableStream<Uint8Array>;
  writable: WritableStream<Uint8Array>;
  /** Closes both directions at once; safe to call more than once. */
  close(): void;
}

export type ConnectScanner = () => Promise<ScannerConnection>;

export type ScanVerdict =
  | { status: 'clean' }
  /** e.g. "Repod.Test.Marker.UNOFFICIAL" */
  | { status: 'infected'; signature: string }
  /** Cannot connect, timeout, daemon crashed mid-scan, an error reply. */
  | { status: 'unavailable'; message: string }
  /** Over the scanner's (StreamMaxLength) or the caller's size limit. */
  | { status: 'too_large'; message: string };

export interface ClamdScannerOptions {
  /** Deadline for one whole scan (connect, send, reply), in ms. Default 30 s. */
  timeoutMs?: number;
  /** Largest INSTREAM chunk, in bytes. Default 64 KiB; input chunks larger than this are split. */
  chunkBytes?: number;
}

const PING = new TextEncoder().encode('zPING\0');

interface Reply {
  /** The reply as parsed, when one arrived (complete, or the part received before the connection closed). */
  reply?: ClamdReply;
  /** Why reading stopped without a complete reply. */
  problem?: string;
}

export class ClamdScanner {
  readonly #connect: ConnectScanner;
  readonly #timeoutMs: number;
  readonly #chunkBytes: number;

  constructor(connect: ConnectScanner, options: ClamdScannerOptions = {}) {
    this.#connect = connect;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#chunkBytes = Math.max(1, Math.min(options.chunkBytes ?? 64 * 1024, 0x7fffffff));
  }

  /** Scans everything `stream` yields. Never rejects except with the input stream's own error. */
  async scan(stream: ReadableStream<Uint8Array>): Promise<ScanVerdict> {
    const input = stream.getReader();
    const connections: ScannerConnection[] = [];
    let settled = false;
    // Every connection opened for this scan is closed when it ends, even one that opens late.
    const track = (connection: ScannerConnection): ScannerConnection => {
      connections.push(connection);
      if (settled) connection.close();
      return connection;
    };
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<ScanVerdict>((resolve) => {
      timer = setTimeout(() => resolve({ status: 'unavailable', message: `clamd did not answer within ${this.#timeoutMs} ms` }), this.#timeoutMs);
    });
    const work = this.#scan(input, track);
    try {
      return await Promise.race([work, deadline]);
    } finally {
      settled = true;
      clearTimeout(timer);
      for (const connection of connections) connection.close();
      // Releases the source when the scan stopped early (reply before the end, timeout).
      input.cancel().catch(() => {});
      work.catch(() => {});
    }
  }

  async #scan(input: ReadableStreamDefaultReader<Uint8Array>, track: (c: ScannerConnection) => ScannerConnection): Promise<ScanVerdict> {
    let connection: ScannerConnection;
    try {
      connection = track(await this.#connect());
    } catch (error) {
      return { status: 'unavailable', message: `cannot connect to clamd: ${describe(error)}` };
    }
    const writer = connection.writable.getWriter();
    // The reply is read while sending: clamd answers early (and hangs up) when the stream is too long.
    let answered = false;
    const reply = readReply(connection.readable).finally(() => {
      answered = true;
    });
    let sent = 0;
    let ended = false;
    let sendProblem: string | undefined;
    let inputFailed = false;
    try {
      await writer.write(INSTREAM_COMMAND);
      while (!answered) {
        let next: ReadableStreamReadResult<Uint8Array>;
        try {
          next = await input.read();
        } catch (error) {
          inputFailed = true;
          throw error;
        }
        if (next.done) {
          await writer.write(END_OF_STREAM);
          ended = true;
          break;
        }
        for (let at = 0; at < next.value.length && !answered; at += this.#chunkBytes) {
          const piece = next.value.subarray(at, at + this.#chunkBytes);
          await writer.write(frameChunk(piece));
          sent += piece.length;
        }
      }
    } catch (error) {
      if (inputFailed) {
        connection.close();
        throw error;
      }
      sendProblem = describe(error);
    }

    const { reply: answer, problem } = await reply;
    if (answer) {
      switch (answer.kind) {
        case 'ok':
          // A clean verdict only counts for the whole stream.
          if (!ended) return { status: 'unavailable', message: `clamd answered OK before the end of the stream (after ${sent} bytes)` };
          return { status: 'clean' };
        case 'found':
          // With AlertExceedsMax, clamd reports a file over MaxFileSize/MaxScanSize (scanned only
          // in part) under this heuristic name rather than as OK.
          if (answer.signature.startsWith('Heuristics.Limits.Exceeded')) {
            return { status: 'too_large', message: `clamd did not scan all of it: ${answer.signature}` };
          }
          return { status: 'infected', signature: answer.signature };
        case 'error':
          if (answer.tooLarge) return { status: 'too_large', message: `clamd: ${answer.message} (after ${sent} bytes; see StreamMaxLength)` };
          return { status: 'unavailable', message: `clamd: ${answer.message}` };
        case 'unexpected':
          return { status: 'unavailable', message: `clamd sent an unexpected reply: ${JSON.stringify(answer.text.slice(0, 200))}` };
      }
    }
    const lost = sendProblem ?? problem ?? 'connection closed';
    if (sendProblem !== undefined || !answered) {
      // clamd hung up while the stream was still going: the size limit (its reply lost with the
      // connection), unless the daemon itself is gone.
      if (await this.#alive(track)) {
        return {
          status: 'too_large',
          message: `clamd closed the connection after ${sent} bytes without a reply (${lost}) and still answers PING: the stream is probably over its StreamMaxLength`,
        };
      }
      return { status: 'unavailable', message: `clamd went away during the scan after ${sent} bytes (${lost})` };
    }
    return { status: 'unavailable', message: `clamd closed the connection without a reply (${lost})` };
  }

  /** Whether the daemon answers PING on a new connection. */
  async #alive(track: (c: ScannerConnection) => ScannerConnection): Promise<boolean> {
    let connection: ScannerConnection;
    try {
      connection = track(await this.#connect());
    } catch {
      return false;
    }
    try {
      const writer = connection.writable.getWriter();
      await writer.write(PING);
      const { reply } = await readReply(connection.readable);
      return reply?.kind === 'unexpected' && reply.text === 'PONG';
    } catch {
      return false;
    } finally {
      connection.close();
    }
  }
}

/** Reads one NUL-terminated reply; never rejects. */
async function readReply(readable: ReadableStream<Uint8Array>): Promise<Reply> {
  const reader = readable.getReader();
  const collector = new ReplyCollector();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (collector.push(value)) break;
    }
  } catch (error) {
    const text = collector.text();
    return text === '' ? { problem: describe(error) } : { reply: parseReply(text), problem: describe(error) };
  } finally {
    reader.releaseLock();
  }
  const text = collector.text();
  if (collector.complete || text !== '') return { reply: parseReply(text) };
  return { problem: 'connection closed before a reply' };
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' && !error.message.includes(code) ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}
