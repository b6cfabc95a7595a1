/**
 * Connections to a ClamAV daemon from Node, for ClamdScanner. `REPOD_CLAMD` names the daemon:
 * `unix:/run/clamav/clamd.ctl` (clamd.conf LocalSocket) or `tcp:host:port` (TCPSocket/TCPAddr;
 * `tcp:[::1]:3310` for IPv6).
 *
 * A socket becomes a pair of web streams. Writes resolve once Node has handed the bytes to the
 * kernel, which gives the scanner its backpressure. The readable side ends (rather than errors)
 * when the socket fails: clamd may answer and hang up while a write is failing with EPIPE, and
 * an errored web stream would drop the reply it has already queued.
 */
import { connect, type Socket } from 'node:net';
import { RepodError } from '../errors.ts';
import type { ConnectScanner, ScannerConnection } from '../security/antivirus/clamd-scanner.ts';

export type ClamdAddress = { path: string } | { host: string; port: number };

/** Parses `unix:/path` or `tcp:host:port`; throws RepodError invalid_config otherwise. */
export function parseClamdSpec(spec: string): ClamdAddress {
  const invalid = (why: string) =>
    new RepodError('invalid_config', `REPOD_CLAMD ${JSON.stringify(spec)}: ${why} (expected unix:/path/to/clamd.ctl or tcp:host:port)`, { status: 500 });
  if (spec.startsWith('unix:')) {
    const path = spec.slice('unix:'.length);
    if (path === '' || path.includes('\0')) throw invalid('empty or invalid socket path');
    return { path };
  }
  if (spec.startsWith('tcp:')) {
    const m = /^tcp:(\[[0-9A-Fa-f:.]+\]|[^:[\]\s/]+):(\d{1,5})$/.exec(spec);
    if (!m) throw invalid('bad host or port');
    const port = Number(m[2]);
    if (port < 1 || port > 65535) throw invalid('port out of range');
    const host = m[1]!.startsWith('[') ? m[1]!.slice(1, -1) : m[1]!;
    return { host, port };
  }
  throw invalid('unknown scheme');
}

/** A ConnectScanner for the daemon `spec` names. The spec is checked at once. */
export function clamdConnector(spec: string): ConnectScanner {
  const address = parseClamdSpec(spec);
  return () =>
    new Promise<ScannerConnection>((resolve, reject) => {
      const socket = 'path' in address ? connect({ path: address.path }) : connect({ host: address.host, port: address.port });
      const failed = (error: Error) => {
        socket.destroy();
        reject(error);
      };
      socket.once('error', failed);
      socket.once('connect', () => {
        socket.off('error', failed);
        resolve(socketConnection(socket));
      });
    });
}

function socketConnection(socket: Socket): ScannerConnection {
  socket.setNoDelay(true);
  let ended = false;
  const readable = new ReadableStream<Uint8Array>(
    {
      start(controller) {
        const end = () => {
          if (ended) return;
          ended = true;
          controller.close();
        };
        socket.on('data', (data: Uint8Array) => {
          if (ended) return;
          controller.enqueue(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
          if ((controller.desiredSize ?? 0) <= 0) socket.pause();
        });
        socket.on('end', end);
        socket.on('close', end);
        // Reported through the writable side; here it only ends the stream (see the file comment).
        socket.on('error', end);
      },
      pull() {
        socket.resume();
      },
      cancel() {
        socket.destroy();
      },
    },
    { highWaterMark: 16 },
  );
  const writable = new WritableStream<Uint8Array>({
    write(chunk) {
      return new Promise<void>((resolve, reject) => {
        socket.write(chunk, (error) => (error ? reject(error) : resolve()));
      });
    },
    close() {
      return new Promise<void>((resolve) => socket.end(resolve));
    },
    abort() {
      socket.destroy();
    },
  });
  return { readable, writable, close: () => socket.destroy() };
}
