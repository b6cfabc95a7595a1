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
 *
 * Connections are kept between scans as clamd sessions (IDSESSION: several commands on one
 * connection, each reply prefixed with its number): a scan after a clean or infected verdict leaves
 * its connection for the next one, for at most SESSION_IDLE_MS, far below clamd's own IdleTimeout
 * (30 s by default). An idle session is watched: anything clamd sends or a close drops it. A scan
 * that took a session in the instant clamd closed it (a restart) and sent its whole command in one
 * write sends it again on a new connection. Any other outcome closes the connection. The command
 * and the framed chunks go out in writes of up to chunkBytes, not one per piece.
 */

import { concatBytes } from '../../util/bytes.ts';
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
const IDSESSION = new TextEncoder().encode('zIDSESSION\0');

/** How long a session waits for the next scan before it is closed. */
const SESSION_IDLE_MS = 1000;
/** Idle sessions kept at most (one per scan running at once is what a busy server reuses). */
const MAX_IDLE_SESSIONS = 16;

/** A connection in IDSESSION mode, with its one reader and writer. */
interface Session {
  connection: ScannerConnection;
  reader: ReadableStreamDefaultReader<Uint8Array>;
  writer: WritableStreamDefaultWriter<Uint8Array>;
  /** While idle: the read that watches for a close; the next scan's reply starts with it. */
  watching?: Promise<ReadableStreamReadResult<Uint8Array>>;
  /** Set once the idle watch saw data, an end or an error: never reused. */
  dead?: boolean;
  timer?: ReturnType<typeof setTimeout>;
}

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
  readonly #idle: Session[] = [];

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
    // Every connection opened for this scan is closed when it ends, even one that opens late,
    // unless the scan gave it back as an idle session (keep) before it ended.
    const track = (connection: ScannerConnection): ScannerConnection => {
      connections.push(connection);
      if (settled) connection.close();
      return connection;
    };
    let kept: Session | undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<ScanVerdict>((resolve) => {
      timer = setTimeout(() => resolve({ status: 'unavailable', message: `clamd did not answer within ${this.#timeoutMs} ms` }), this.#timeoutMs);
    });
    const work = this.#scan(input, track, (session) => {
      kept = session;
    });
    try {
      const verdict = await Promise.race([work, deadline]);
      if (kept && !settled) this.#release(kept);
      return verdict;
    } finally {
      settled = true;
      clearTimeout(timer);
      for (const connection of connections) if (connection !== kept?.connection || !this.#idle.includes(kept)) connection.close();
      // Releases the source when the scan stopped early (reply before the end, timeout).
      input.cancel().catch(() => {});
      work.catch(() => {});
    }
  }

  async #scan(input: ReadableStreamDefaultReader<Uint8Array>, track: (c: ScannerConnection) => ScannerConnection, keep: (session: Session) => void): Promise<ScanVerdict> {
    let session = this.#takeIdle();
    const fresh = !session;
    if (!session) {
      let connection: ScannerConnection;
      try {
        connection = await this.#connect();
      } catch (error) {
        return { status: 'unavailable', message: `cannot connect to clamd: ${describe(error)}` };
      }
      session = { connection, reader: connection.readable.getReader(), writer: connection.writable.getWriter() };
    }
    track(session.connection);
    const { connection, writer } = session;
    // The reply is read while sending: clamd answers early (and hangs up) when the stream is too long.
    let answered = false;
    const reply = readReply(session.reader, session.watching).finally(() => {
      answered = true;
    });
    session.watching = undefined;
    let sent = 0;
    let ended = false;
    let sendProblem: string | undefined;
    let inputFailed = false;
    // Framed pieces wait here until a write's worth (chunkBytes) is gathered or the stream ends.
    const pending: Uint8Array[] = fresh ? [IDSESSION, INSTREAM_COMMAND] : [INSTREAM_COMMAND];
    let pendingBytes = pending.reduce((n, p) => n + p.length, 0);
    let writes = 0;
    /** The whole command, when it went out in this scan's one write (see the replay below). */
    let whole: Uint8Array | undefined;
    const flush = async (last = false) => {
      const bytes = pending.length === 1 ? pending[0]! : concatBytes(pending, pendingBytes);
      pending.length = 0;
      pendingBytes = 0;
      if (last && writes === 0) whole = bytes;
      writes++;
      await writer.write(bytes);
    };
    try {
      while (!answered) {
        let next: ReadableStreamReadResult<Uint8Array>;
        try {
          next = await input.read();
        } catch (error) {
          inputFailed = true;
          throw error;
        }
        if (next.done) {
          pending.push(END_OF_STREAM);
          pendingBytes += END_OF_STREAM.length;
          ended = true;
          await flush(true);
          break;
        }
        for (let at = 0; at < next.value.length && !answered; at += this.#chunkBytes) {
          const piece = next.value.subarray(at, at + this.#chunkBytes);
          const framed = frameChunk(piece);
          pending.push(framed);
          pendingBytes += framed.length;
          if (pendingBytes >= this.#chunkBytes) await flush();
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
    if (!fresh && !answer && whole) {
      // clamd closed this idle session (a restart) before the scan's one write reached it: the
      // whole command is still in hand, so it goes again, once, on a new connection.
      connection.close();
      return this.#replay(whole, track, keep);
    }
    return this.#judge({ answer, problem, sendProblem, ended, sent, answered }, session, track, keep);
  }

  /** The command `whole` (INSTREAM, its chunks, the end) sent on a new session. */
  async #replay(whole: Uint8Array, track: (c: ScannerConnection) => ScannerConnection, keep: (session: Session) => void): Promise<ScanVerdict> {
    let connection: ScannerConnection;
    try {
      connection = track(await this.#connect());
    } catch (error) {
      return { status: 'unavailable', message: `cannot connect to clamd: ${describe(error)}` };
    }
    const session: Session = { connection, reader: connection.readable.getReader(), writer: connection.writable.getWriter() };
    const reply = readReply(session.reader);
    let sendProblem: string | undefined;
    try {
      await session.writer.write(concatBytes([IDSESSION, whole]));
    } catch (error) {
      sendProblem = describe(error);
    }
    const { reply: answer, problem } = await reply;
    return this.#judge({ answer, problem, sendProblem, ended: true, sent: whole.length, answered: answer !== undefined }, session, track, keep);
  }

  /** The verdict a scan's reply (or its absence) gives; a session in a known state is kept. */
  async #judge(
    outcome: { answer?: ClamdReply; problem?: string; sendProblem?: string; ended: boolean; sent: number; answered: boolean },
    session: Session,
    track: (c: ScannerConnection) => ScannerConnection,
    keep: (session: Session) => void,
  ): Promise<ScanVerdict> {
    const { answer, problem, sendProblem, ended, sent, answered } = outcome;
    // Only a session whose stream ended and got its verdict is in a known state for the next scan.
    const reusable = ended && sendProblem === undefined && problem === undefined;
    if (answer) {
      switch (answer.kind) {
        case 'ok':
          // A clean verdict only counts for the whole stream.
          if (!ended) return { status: 'unavailable', message: `clamd answered OK before the end of the stream (after ${sent} bytes)` };
          if (reusable) keep(session);
          return { status: 'clean' };
        case 'found':
          // With AlertExceedsMax, clamd reports a file over MaxFileSize/MaxScanSize (scanned only
          // in part) under this heuristic name rather than as OK.
          if (answer.signature.startsWith('Heuristics.Limits.Exceeded')) {
            return { status: 'too_large', message: `clamd did not scan all of it: ${answer.signature}` };
          }
          if (reusable) keep(session);
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

  /** An idle session still open, if any (the most recently used: its clamd side is warmest). */
  #takeIdle(): Session | undefined {
    for (;;) {
      const session = this.#idle.pop();
      if (!session) return undefined;
      clearTimeout(session.timer);
      if (!session.dead) return session;
      session.connection.close();
    }
  }

  /** Keeps a session for the next scan, watching it for a close, for at most SESSION_IDLE_MS. */
  #release(session: Session): void {
    if (this.#idle.length >= MAX_IDLE_SESSIONS) {
      session.connection.close();
      return;
    }
    const watching = session.reader.read();
    session.watching = watching;
    // clamd sends nothing between commands: data, an end or an error all mean the session is over.
    watching.then(
      () => this.#drop(session, watching),
      () => this.#drop(session, watching),
    );
    session.timer = setTimeout(() => this.#drop(session, watching), SESSION_IDLE_MS);
    this.#idle.push(session);
  }

  /** Closes an idle session that is still idle on the same watch (a reused one has moved on). */
  #drop(session: Session, watching: Promise<unknown>): void {
    if (session.watching !== watching) return;
    session.dead = true;
    const at = this.#idle.indexOf(session);
    if (at >= 0) this.#idle.splice(at, 1);
    clearTimeout(session.timer);
    session.connection.close();
  }

  /** Closes every idle session (a server shutting down). */
  close(): void {
    for (const session of this.#idle.splice(0)) {
      clearTimeout(session.timer);
      session.dead = true;
      session.connection.close();
    }
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
      const { reply } = await readReply(connection.readable.getReader());
      return reply?.kind === 'unexpected' && reply.text === 'PONG';
    } catch {
      return false;
    } finally {
      connection.close();
    }
  }
}

/**
 * Reads one NUL-terminated reply; never rejects. `first`: a read already started (an idle
 * session's watch), taken before reading on. A reply that arrives incomplete, with the connection
 * closed, comes with a `problem`.
 */
async function readReply(reader: ReadableStreamDefaultReader<Uint8Array>, first?: Promise<ReadableStreamReadResult<Uint8Array>>): Promise<Reply> {
  const collector = new ReplyCollector();
  try {
    for (let read = first ?? reader.read(); ; read = reader.read()) {
      const { done, value } = await read;
      if (done) break;
      if (collector.push(value)) break;
    }
  } catch (error) {
    const text = collector.text();
    return text === '' ? { problem: describe(error) } : { reply: parseReply(text), problem: describe(error) };
  }
  const text = collector.text();
  if (collector.complete) return { reply: parseReply(text) };
  if (text !== '') return { reply: parseReply(text), problem: 'connection closed in the middle of the reply' };
  return { problem: 'connection closed before a reply' };
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' && !error.message.includes(code) ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}
