/**
 * A throwaway ClamAV daemon for tests: `clamd` in the foreground on a unix socket in a temp
 * directory (optionally also on a TCP port of 127.0.0.1), with a tiny signature database the test
 * writes. The official databases are never downloaded (1.2 GiB, 25 s to load); with a few custom
 * signatures clamd is ready in a fraction of a second.
 *
 *   const clamd = await startClamd({ ndb: ndbSignature('Repod.Test.Marker', 'MARKER') });
 *   ... clamdConnector(clamd.spec) ...   // hits read "Repod.Test.Marker.UNOFFICIAL"
 *   await clamd.stop();
 *
 * Tests skip only when clamd is not installed: `test('x', { skip: clamdSkipReason() }, ...)`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

export interface ClamdSignatures {
  /** Body signatures, one `Name:TargetType:Offset:HexSignature` a line (see ndbSignature). */
  ndb?: string;
  /** Hash signatures, one `md5:size:Name` a line. */
  hdb?: string;
}

export interface ClamdOptions {
  /** clamd.conf StreamMaxLength, e.g. '1M' (clamd's default is 100M). */
  streamMaxLength?: string;
  /** Also listen on this TCP port of 127.0.0.1. */
  tcpPort?: number;
  /** More clamd.conf lines. */
  config?: string[];
  /** How long to wait for the daemon to answer PING (default 15 s). */
  startTimeoutMs?: number;
}

export interface Clamd {
  /** The unix socket path. */
  socket: string;
  /** `unix:<socket>`, what REPOD_CLAMD takes. */
  spec: string;
  /** `tcp:127.0.0.1:<port>` when started with tcpPort. */
  tcpSpec?: string;
  pid: number;
  dir: string;
  /** The daemon's log so far. */
  log(): Promise<string>;
  /** Stops the daemon (SIGTERM, then SIGKILL) and removes its directory; safe to call twice. */
  stop(): Promise<void>;
}

const BINARY = 'clamd';

function onPath(binary: string): string | undefined {
  for (const dir of [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin']) {
    try {
      accessSync(join(dir, binary), constants.X_OK);
      return join(dir, binary);
    } catch {}
  }
  return undefined;
}

/** false when clamd tests can run; otherwise the reason to skip them. */
export function clamdSkipReason(): string | false {
  return onPath(BINARY) ? false : 'clamd is not installed (apt-get install clamav-daemon)';
}

/** An .ndb body signature matching `marker` anywhere in any file type. */
export function ndbSignature(name: string, marker: string | Uint8Array): string {
  const bytes = typeof marker === 'string' ? Buffer.from(marker) : Buffer.from(marker);
  return `${name}:0:*:${bytes.toString('hex')}`;
}

export async function startClamd(signatures: ClamdSignatures, options: ClamdOptions = {}): Promise<Clamd> {
  const binary = onPath(BINARY);
  if (!binary) throw new Error(`startClamd: ${clamdSkipReason()}`);
  if (!signatures.ndb && !signatures.hdb) throw new Error('startClamd: give at least one signature (clamd refuses an empty database)');
  const dir = await mkdtemp(join(tmpdir(), 'repod-clamd-'));
  const db = join(dir, 'db');
  await mkdir(db);
  await mkdir(join(dir, 'tmp'));
  if (signatures.ndb) await writeFile(join(db, 'repod-test.ndb'), `${signatures.ndb.trim()}\n`);
  if (signatures.hdb) await writeFile(join(db, 'repod-test.hdb'), `${signatures.hdb.trim()}\n`);
  const socket = join(dir, 'clamd.sock');
  const logFile = join(dir, 'clamd.log');
  const config = [
    `LocalSocket ${socket}`,
    `DatabaseDirectory ${db}`,
    `TemporaryDirectory ${join(dir, 'tmp')}`,
    `LogFile ${logFile}`,
    `PidFile ${join(dir, 'clamd.pid')}`,
    'Foreground yes',
    // No periodic database reload checks in a daemon that lives for one test file.
    'SelfCheck 0',
    ...(options.streamMaxLength ? [`StreamMaxLength ${options.streamMaxLength}`] : []),
    ...(options.tcpPort ? [`TCPSocket ${options.tcpPort}`, 'TCPAddr 127.0.0.1'] : []),
    ...(options.config ?? []),
  ];
  const conf = join(dir, 'clamd.conf');
  await writeFile(conf, `${config.join('\n')}\n`);

  const child = spawn(binary, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  let exited = false;
  const exit = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      resolve();
    }),
  );
  const killSync = () => {
    if (!exited) child.kill('SIGKILL');
  };
  process.once('exit', killSync); // a test process that dies without stop() leaves no daemon behind

  const readLog = async () => readFile(logFile, 'utf8').catch(() => '');
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await stopChild(child, exit, () => exited);
    process.removeListener('exit', killSync);
    await rm(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + (options.startTimeoutMs ?? 15_000);
  for (;;) {
    if (exited) {
      const log = await readLog();
      await stop();
      throw new Error(`clamd exited during start:\n${stderr}\n${log}`);
    }
    if (await pingUnix(socket)) break;
    if (Date.now() > deadline) {
      const log = await readLog();
      await stop();
      throw new Error(`clamd did not answer PING within ${options.startTimeoutMs ?? 15_000} ms:\n${stderr}\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    socket,
    spec: `unix:${socket}`,
    tcpSpec: options.tcpPort ? `tcp:127.0.0.1:${options.tcpPort}` : undefined,
    pid: child.pid!,
    dir,
    log: readLog,
    stop,
  };
}

async function stopChild(child: ChildProcess, exit: Promise<void>, exited: () => boolean): Promise<void> {
  if (exited()) return;
  child.kill('SIGCONT'); // a test may have stopped it
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
  await exit;
  clearTimeout(timer);
}

/** Whether a clamd answers PING on `path` (within 1 s). */
function pingUnix(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ path });
    let reply = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('zPING\0'));
    socket.on('data', (d) => {
      reply += d.toString('latin1');
      if (reply.includes('\0')) done(reply === 'PONG\0');
    });
    socket.once('end', () => done(reply === 'PONG\0'));
  });
}
