/**
 * File-system BlobStore (`file:DIR`, the default `./data`). Objects live at their natural path
 * (`DIR/pool/sha256/ab/abcd...`) so an operator can read the tree; repod's own bookkeeping lives in
 * `DIR/.repod/` (temp files, lock files, token files), which is never listed and cannot be a key.
 *
 * Writes: the body streams into `DIR/.repod/tmp/<random>.tmp` (same file system), gets its mtime
 * (see Etags), is fdatasynced, and then becomes the key: renamed onto it under the key's lock, or,
 * for a create-only put, hard-linked to it without any lock (below). The parent directory is
 * fsynced before the put resolves, except for a `transient` put (a staged upload soon moved: its
 * move fsyncs; its random key is linked like a create-only put's). A reader sees the old file or
 * the whole new one, never a part.
 *
 * Create-only puts (`ifNoneMatch: '*'`) take no lock: link(2) onto the key is atomic and fails
 * with EEXIST when anything is there, which is exactly the condition. It is safe next to the
 * locked mutations of the same key: a locked put with `ifMatch` found the key present under its
 * lock and only a delete (which locks too) could remove it, so a link cannot slip in between; an
 * unconditional locked put or move replaces whatever is there, so it orders after the link (its
 * own etag differs: two inodes alive at once never share a number); a delete either comes first
 * (the link then re-creates the key) or removes the linked object. A key deleted and re-created
 * this way does not get an etag the deleted object had: its temp file either existed alongside
 * that object (another inode number) or was written after the delete (a later mtime). The temp name is unlinked after the link; the etag comes from an fstat of
 * the open temp file, as link(2) keeps inode, size and mtime.
 *
 * Locks (one per key, safe between processes on one machine): every other mutation of a key (put,
 * delete, move) holds `DIR/.repod/locks/<sha256(key)>.lock` for a few system calls only (the check
 * of the condition, the rename). Taking a lock allocates no inode: each FileStore keeps a small
 * pool of open token files in `DIR/.repod/tokens/`, created once. To take a lock it writes a fresh
 * token (host, boot id, pid namespace, pid, process start time, time, random) into a free one in
 * place (one positional write of a fixed, padded length, before the link, so a reader of the lock
 * never sees a part of it) and link(2)s it to the lock path: atomic, EEXIST when held. The holder
 * is read from the lock path; releasing unlinks the lock path after checking it is still our token
 * file (same inode). A lock that is a symlink whose target is the token (left by older versions)
 * is read and broken the same way. A lock whose owner is provably dead (same boot and pid
 * namespace, and the pid is gone, a zombie or a different process) is broken at once; one whose
 * owner cannot be checked (another host or container) after `staleLockMs`; one whose owner is
 * alive, never. Breaking is race-free: a breaker must first create a guard (a symlink, as guards
 * are rare) named after the stale token (`<lock>.<sha256(token)>`), re-reads the lock under the
 * guard and removes it only if it still holds that token; a dead owner never writes again and
 * tokens are never reused, so no live lock can be removed. A token file is rewritten only while it
 * is linked nowhere, so a reader that opened a lock just before its release may read a later (or
 * torn) token of the same owner: that token is alive or unequal to the lock's content at the
 * re-read, so at worst a guard is taken in vain. A breaker killed while holding the guard leaves
 * a stale guard, broken the same way one level up. Token files of dead processes are removed when
 * a store opens (a lock still linked to one stays, and is broken as above).
 *
 * Etags: `<mtime ns>.<inode>.<size>` (base 36). The temp file's mtime is set to now (to the
 * microsecond, from the process clock: file systems stamp writes with a coarse clock tick) before
 * it becomes the key; under the lock, if that is not above the mtime of the object it replaces
 * (a coarse clock, a rewrite within the same microsecond), it is stepped to previous + 2 µs. So an
 * etag strictly increases per key, and changes on every write even within one clock tick and with
 * inode reuse (no ABA for compare-and-swap).
 */
import { createHash, randomUUID } from 'node:crypto';
import {
  closeSync,
  type Dirent,
  fdatasync as fdatasyncCb,
  promises as fs,
  constants as fsConstants,
  fstatSync,
  fsync as fsyncCb,
  futimesSync,
  linkSync,
  lstatSync,
  open as openCb,
  openSync,
  read as readCb,
  readSync,
  statSync,
  unlinkSync,
  write as writeCb,
  writeSync,
} from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { NotFoundError, PreconditionFailedError, RepodError, StorageError } from '../errors.ts';
import type { BlobInfo, BlobObject, BlobStore, ByteRange, ListEntry, MoveOptions, PutOptions, StoreCapabilities } from './blob-store.ts';
import { compareKeys, InvalidKeyError, normalizeEtag, resolveRange, sizeMismatch, validateKey, validatePrefix } from './common.ts';
import { bytesStream } from './objects.ts';
import { OpenDescriptors } from './open-descriptors.ts';

/**
 * How much of a body is written with synchronous calls: copying a few KB into the page cache
 * takes microseconds, less than a thread-pool round trip (the fdatasync, which waits on the disk,
 * still goes through the pool). Most objects (records, revisions, chunks, small packages) fit.
 */
const SYNC_WRITE_BYTES = 64 * 1024;

/**
 * Ranges of immutable objects up to this size are read with synchronous calls, as nginx reads a
 * file in its event loop unless told to use threads. A download of a large metadata file is
 * hundreds of chunk ranges of 7 to 16 KB; on 2 cores, handing each read to the thread pool (a
 * thread woken, the main thread descheduled, a callback queued) halved what the server sent
 * (100,000 packages, 32 downloaders, REPOD_CACHE_BYTES=32MiB so most ranges are read: 46-48
 * requests/s, 72-76 read in place). A range not in the page cache blocks the loop for one disk read.
 */
const SYNC_READ_BYTES = 64 * 1024;

export interface FileStoreOptions {
  /** The directory holding the objects; created when missing. */
  root: string;
  /** fsync each object before its rename and its directory after (default true). */
  fsync?: boolean;
  /** A lock whose owner cannot be checked (another host or container) is broken after this long (default 30 s). */
  staleLockMs?: number;
  /** A write waiting longer than this for a key's lock fails with StorageError (default 60 s). */
  lockTimeoutMs?: number;
  /**
   * @internal Test hooks. `locked` runs while the key's lock is held, just before the rename;
   * `dirSync` as a directory fsync starts (its path relative to the root).
   */
  hooks?: { locked?(key: string): Promise<void> | void; dirSync?(dir: string): void };
}

/** The directory (under the root) that holds temp and lock files; never a key. */
export const INTERNAL_DIR = '.repod';
const READ_CHUNK = 256 * 1024;
/**
 * Descriptors readImmutable keeps open: every chunk of a 100,000-package distribution (about 800)
 * and then some. Node raises its descriptor limit to the hard limit at start (20,000 here; Debian's
 * default is 524,288), and sockets need their share.
 */
const OPEN_OBJECTS_MAX = 1024;
/** A kept descriptor unread this long is closed. */
const OPEN_OBJECT_IDLE_MS = 30_000;
const MTIME_STEP_NS = 2000n;
/** Free token files a store keeps open (more are only needed while more locks are taken at once). */
const TOKEN_POOL_MAX = 64;
/** A token file of an owner that cannot be checked (another host or container) is removed after this idle time. */
const FOREIGN_TOKEN_FILE_IDLE_MS = 24 * 3_600_000;
/** A token file never written (its creator died in between) is removed after this long. */
const EMPTY_TOKEN_FILE_MS = 60_000;

interface Stat {
  size: bigint;
  mtimeNs: bigint;
  ino: bigint;
  isFile(): boolean;
  isDirectory(): boolean;
}

interface LockToken {
  v: 1;
  host: string;
  boot: string;
  ns: string;
  pid: number;
  start: string;
  t: number;
  r: string;
}

interface Identity {
  host: string;
  boot: string;
  ns: string;
  start: string;
}

let identityPromise: Promise<Identity> | undefined;

function identity(): Promise<Identity> {
  identityPromise ??= (async () => ({
    host: hostname(),
    boot: (await fs.readFile('/proc/sys/kernel/random/boot_id', 'utf8').catch(() => '')).trim(),
    ns: await fs.readlink('/proc/self/ns/pid').catch(() => ''),
    start: (await procStat(process.pid))?.start ?? '',
  }))();
  return identityPromise;
}

/** Linux: a process's state and start time (clock ticks since boot) from /proc/<pid>/stat. */
async function procStat(pid: number): Promise<{ state: string; start: string } | null> {
  let text: string;
  try {
    text = await fs.readFile(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // "pid (comm) state ppid ...": comm may hold spaces and parentheses; fields resume after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: fields[0] ?? '', start: fields[19] ?? '' };
}

function errno(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** One callback-style fs call as a promise (raw descriptors: their cheap calls can then run synchronously). */
function call<T>(run: (done: (error: NodeJS.ErrnoException | null, value?: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => run((error, value) => (error ? reject(error) : resolve(value as T))));
}

/** Now in ns, to the microsecond (Date.now() has milliseconds only). */
function nowNs(): bigint {
  return BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000)) * 1000n;
}

/** A pooled token file: created once, rewritten in place for each lock it stands for. */
interface TokenFile {
  path: string;
  fd: number;
  ino: bigint;
  /** Its fixed length: every token is written padded to it, so no write ever leaves a longer old tail. */
  bytes: number;
}

/**
 * Random parts (`r`) of the file-lock tokens this process holds right now. Process-wide, not per
 * store object: a lock held by another FileStore on the same directory in this process is alive,
 * not leaked (two objects on one directory otherwise broke each other's locks as stale).
 */
const heldTokens = new Set<string>();

/** Paths of the token files this process has open (or is creating): never swept as another process's. */
const ownTokenFiles = new Set<string>();

export class FileStore implements BlobStore {
  readonly driver = 'file';
  readonly capabilities: StoreCapabilities = { conditionalWrites: true, presign: false };
  readonly root: string;
  private readonly tmpDir: string;
  private readonly locksDir: string;
  private readonly tokensDir: string;
  private readonly fsync: boolean;
  private readonly staleLockMs: number;
  private readonly lockTimeoutMs: number;
  private readonly hooks: NonNullable<FileStoreOptions['hooks']>;
  private dirsReady: Promise<void> | undefined;
  /** In-process queue per key, so callers in one process wait on a promise instead of the file lock. */
  private readonly localLocks = new Map<string, Promise<void>>();
  /** Directory fsyncs in flight (see syncDir). */
  private readonly dirSyncs = new Map<string, { running: Promise<void>; next: Promise<void> | null }>();
  /** Token files not standing for a lock right now (see the header comment). */
  private readonly freeTokenFiles: TokenFile[] = [];
  /** Descriptors readImmutable keeps open between reads. */
  private readonly openObjects = new OpenDescriptors({
    max: OPEN_OBJECTS_MAX,
    idleMs: OPEN_OBJECT_IDLE_MS,
    now: () => Date.now(),
    open: (key) => this.openForRead(key),
    close: closeQuietly,
  });

  constructor(options: FileStoreOptions) {
    this.root = resolve(options.root);
    this.tmpDir = join(this.root, INTERNAL_DIR, 'tmp');
    this.locksDir = join(this.root, INTERNAL_DIR, 'locks');
    this.tokensDir = join(this.root, INTERNAL_DIR, 'tokens');
    this.fsync = options.fsync ?? true;
    this.staleLockMs = options.staleLockMs ?? 30_000;
    this.lockTimeoutMs = options.lockTimeoutMs ?? 60_000;
    this.hooks = options.hooks ?? {};
  }

  /** Creates the directories, removes temp files left by crashed writers (older than an hour) and token files of dead processes. */
  static async open(options: FileStoreOptions): Promise<FileStore> {
    const store = new FileStore(options);
    await store.ready();
    await store.sweepTemp();
    await store.sweepTokenFiles();
    return store;
  }

  // ---------------------------------------------------------------- reads

  /**
   * An object up to READ_CHUNK is read whole before the answer: one open and one read through the
   * thread pool, the descriptor closed before anything is handed out. Records, revisions and
   * manifests are such objects, and a FileHandle (open, stat, read, close: four round trips, and a
   * transferable object to build) cost a scan of 5000 packages a second. Larger objects stream
   * from a FileHandle, which Node closes if a reader drops the body unread.
   */
  async get(key: string, options: { range?: ByteRange } = {}): Promise<BlobObject | null> {
    const path = this.pathOf(key);
    let fd: number;
    try {
      fd = await call<number>((done) => openCb(path, 'r', done));
    } catch (error) {
      if (isMissing(error)) return null;
      throw this.fail(`get ${key}`, error);
    }
    let info: BlobInfo;
    let range: { start: number; end: number } | undefined;
    let bytes: Uint8Array | null = null;
    try {
      // fstat of an open descriptor reads the in-memory inode: no disk wait, no round trip.
      const stat = fstatSync(fd, { bigint: true }) as Stat;
      if (!stat.isFile()) return null;
      info = this.infoOf(key, stat);
      if (options.range) range = resolveRange(this.driver, key, options.range, info.size);
      if (info.size <= READ_CHUNK) bytes = await readRange(fd, range?.start ?? 0, range ? range.end + 1 : info.size, key);
    } catch (error) {
      if (error instanceof RepodError || error instanceof RangeError) throw error;
      throw this.fail(`get ${key}`, error);
    } finally {
      closeQuietly(fd);
    }
    if (bytes) return { ...info, body: bytesStream(bytes), ...(range ? { range } : {}) };
    return this.stream(key, path, options);
  }

  /**
   * Bytes [start, end) of an object whose bytes never change under its key (content-addressed: a
   * chunk), or null when it is missing; fewer when the object ends before `end`. Its descriptor
   * stays open for the next read (OpenDescriptors), so a read is one round trip through the thread
   * pool instead of open, fstat, read and close, and no stream is built. A delete closes the
   * object's descriptor (a read already under way still gets the bytes, which are the same).
   */
  readImmutable(key: string, start: number, end: number, into?: Uint8Array): Promise<Uint8Array | null> {
    const bytes = into ?? new Uint8Array(Math.max(0, end - start));
    return this.openObjects.use(key, (fd) => (bytes.length <= SYNC_READ_BYTES ? Promise.resolve(readUpToSync(fd, start, bytes)) : readUpTo(fd, start, bytes)));
  }

  private async openForRead(key: string): Promise<number | null> {
    const path = this.pathOf(key);
    try {
      return await call<number>((done) => openCb(path, 'r', done));
    } catch (error) {
      if (isMissing(error)) return null;
      throw this.fail(`get ${key}`, error);
    }
  }

  /** get() of an object larger than READ_CHUNK: streamed from a FileHandle. */
  private async stream(key: string, path: string, options: { range?: ByteRange }): Promise<BlobObject | null> {
    let handle: FileHandle;
    try {
      handle = await fs.open(path, 'r');
    } catch (error) {
      if (isMissing(error)) return null;
      throw this.fail(`get ${key}`, error);
    }
    try {
      const stat = (await handle.stat({ bigint: true })) as Stat;
      if (!stat.isFile()) {
        await handle.close();
        return null;
      }
      const info = this.infoOf(key, stat);
      let start = 0;
      let end = info.size - 1;
      let range: { start: number; end: number } | undefined;
      if (options.range) {
        range = resolveRange(this.driver, key, options.range, info.size);
        ({ start, end } = range);
      }
      return { ...info, body: fileStream(handle, start, end + 1, key), ...(range ? { range } : {}) };
    } catch (error) {
      await handle.close().catch(() => undefined);
      if (error instanceof RepodError || error instanceof RangeError) throw error;
      throw this.fail(`get ${key}`, error);
    }
  }

  async head(key: string): Promise<BlobInfo | null> {
    const stat = await this.statObject(key, this.pathOf(key));
    return stat ? this.infoOf(key, stat) : null;
  }

  async *list(prefix: string): AsyncIterable<ListEntry> {
    validatePrefix(this.driver, prefix);
    if (prefix === INTERNAL_DIR || prefix.startsWith(`${INTERNAL_DIR}/`)) return; // bookkeeping, not keys
    const slash = prefix.lastIndexOf('/');
    yield* this.walk(slash >= 0 ? prefix.slice(0, slash) : '', prefix.slice(slash + 1));
  }

  /** Depth-first walk in key order: a directory sorts as its name + '/', which is where its keys sort. */
  private async *walk(dirKey: string, namePrefix: string): AsyncGenerator<ListEntry> {
    let entries: Dirent[];
    try {
      entries = await fs.readdir(dirKey ? join(this.root, dirKey) : this.root, { withFileTypes: true });
    } catch (error) {
      if (isMissing(error)) return;
      throw this.fail(`list ${dirKey}/`, error);
    }
    const items: { name: string; dir: boolean; sortKey: string }[] = [];
    for (const entry of entries) {
      if (!entry.name.startsWith(namePrefix)) continue;
      if (dirKey === '' && entry.name === INTERNAL_DIR) continue;
      if (entry.name.includes('\\')) continue; // not a valid key
      let dir = entry.isDirectory();
      if (!dir && !entry.isFile()) {
        if (!entry.isSymbolicLink()) continue;
        const target = await fs.stat(join(this.root, dirKey, entry.name)).catch(() => null);
        if (!target || !(target.isFile() || target.isDirectory())) continue;
        dir = target.isDirectory();
      }
      items.push({ name: entry.name, dir, sortKey: dir ? `${entry.name}/` : entry.name });
    }
    items.sort((a, b) => compareKeys(a.sortKey, b.sortKey));
    // Files are stat'ed a window at a time (order kept); directories are walked in place.
    const WINDOW = 32;
    for (let i = 0; i < items.length; ) {
      if (items[i].dir) {
        yield* this.walk(dirKey ? `${dirKey}/${items[i].name}` : items[i].name, '');
        i++;
        continue;
      }
      let j = i;
      while (j < items.length && j - i < WINDOW && !items[j].dir) j++;
      const keys = items.slice(i, j).map((item) => (dirKey ? `${dirKey}/${item.name}` : item.name));
      const stats = await Promise.all(keys.map((key) => fs.stat(join(this.root, key), { bigint: true }).catch(() => null)));
      for (let k = 0; k < keys.length; k++) {
        const stat = stats[k];
        if (stat?.isFile()) yield { key: keys[k], size: Number(stat.size), lastModified: new Date(Number(stat.mtimeNs / 1_000_000n)) };
      }
      i = j;
    }
  }

  // ---------------------------------------------------------------- writes

  async put(key: string, body: Uint8Array | ReadableStream<Uint8Array>, options: PutOptions = {}): Promise<{ etag: string }> {
    const path = this.pathOf(key);
    const ifMatch = options.ifMatch === undefined ? undefined : normalizeEtag(options.ifMatch);
    // A transient key is fresh and unshared (PutOptions.transient): written as a create-only put, no lock.
    if ((options.ifNoneMatch === '*' || options.transient) && ifMatch === undefined) return this.create(key, path, body, options.size, options.transient);
    if (ifMatch !== undefined) {
      // Early answer before receiving a large body; the authoritative check is under the lock.
      const current = await this.statObject(key, path);
      if (!this.conditionHolds(current, options.ifNoneMatch, ifMatch)) {
        if (!(body instanceof Uint8Array)) await body.cancel().catch(() => undefined);
        throw new PreconditionFailedError(key);
      }
    }
    const temp = await this.writeTemp(key, body, options.size);
    try {
      const etag = await this.withLocks([key], async () => {
        await this.hooks.locked?.(key);
        const current = await this.statObject(key, path);
        if (!this.conditionHolds(current, options.ifNoneMatch, ifMatch)) throw new PreconditionFailedError(key);
        const stat = current && temp.stat.mtimeNs <= current.mtimeNs ? await this.stampMtime(temp.path, current) : temp.stat;
        await this.renameInto(temp.path, path, key);
        return etagOf(stat);
      });
      // Outside the lock: the next writer of the key need not wait for this disk flush. Durable
      // before the put resolves all the same (the fsync starts after the rename).
      if (this.fsync && !options.transient) await this.syncDir(dirname(path));
      return { etag };
    } catch (error) {
      await fs.rm(temp.path, { force: true }).catch(() => undefined);
      if (error instanceof RepodError) throw error;
      throw this.fail(`put ${key}`, error);
    }
  }

  /** A create-only put: no lock, link(2) decides (see the header comment for why that is safe). */
  private async create(key: string, path: string, body: Uint8Array | ReadableStream<Uint8Array>, size: number | undefined, transient = false): Promise<{ etag: string }> {
    // Early answer before receiving (and syncing) a body that cannot land; link(2) is the authoritative check.
    if (await this.statObject(key, path)) {
      if (!(body instanceof Uint8Array)) await body.cancel().catch(() => undefined);
      throw new PreconditionFailedError(key);
    }
    const temp = await this.writeTemp(key, body, size);
    try {
      await this.linkInto(temp.path, path, key);
    } catch (error) {
      await fs.rm(temp.path, { force: true }).catch(() => undefined);
      if (error instanceof RepodError) throw error;
      throw this.fail(`put ${key}`, error);
    }
    // The key holds the object now; the temp name is a second link to it (a crash leaves it to sweepTemp).
    try {
      unlinkSync(temp.path);
    } catch {
      // left to sweepTemp
    }
    try {
      if (this.fsync && !transient) await this.syncDir(dirname(path));
    } catch (error) {
      throw this.fail(`put ${key}`, error);
    }
    return { etag: etagOf(temp.stat) };
  }

  async delete(key: string): Promise<void> {
    const path = this.pathOf(key);
    this.openObjects.forget(key);
    try {
      await this.withLocks([key], async () => {
        try {
          await fs.unlink(path);
        } catch (error) {
          if (isMissing(error) || errno(error) === 'EISDIR' || errno(error) === 'EPERM') return;
          throw error;
        }
        await this.pruneParents(path);
      });
    } catch (error) {
      if (error instanceof RepodError) throw error;
      throw this.fail(`delete ${key}`, error);
    }
  }

  /** rename(2) under both keys' locks. Overwrites `to` when it exists, unless create-only (moveIfAbsent). */
  async move(from: string, to: string, options: MoveOptions = {}): Promise<void> {
    const fromPath = this.pathOf(from);
    const toPath = this.pathOf(to);
    if (options.ifNoneMatch === '*') return this.moveIfAbsent(from, fromPath, to, toPath);
    try {
      await this.withLocks([from, to], async () => {
        const source = await this.statObject(from, fromPath);
        if (!source) throw new NotFoundError(`[storage] [file] move: ${from} does not exist`);
        if (from === to) return;
        const target = await this.statObject(to, toPath);
        // The etag at the new key must be above the replaced object's (see the etag scheme above).
        if (target && source.mtimeNs <= target.mtimeNs) await this.stampMtime(fromPath, target);
        await this.renameInto(fromPath, toPath, to);
        // Both directories changed: their fsyncs wait on the disk side by side, not one after the other.
        if (this.fsync) await Promise.all([this.syncDir(dirname(toPath)), this.syncDir(dirname(fromPath))]);
        await this.pruneParents(fromPath, { keepTopLevel: true });
      });
    } catch (error) {
      if (error instanceof RepodError) throw error;
      throw this.fail(`move ${from} -> ${to}`, error);
    }
  }

  /**
   * A create-only move: link(2) onto the new key decides, as in a create-only put, so no lock is
   * taken (a staged upload moving to its content-addressed place in the pool: a lock, two stats and
   * two directory fsyncs fewer). The key keeps the object's etag: it is created here, never
   * replaced, so etags per key still only grow. The old name goes after; its directory is not
   * synced, as a name that comes back after a crash is a second link to a durable object.
   */
  private async moveIfAbsent(from: string, fromPath: string, to: string, toPath: string): Promise<void> {
    try {
      await this.linkInto(fromPath, toPath, to, async () => {
        if (!(await this.statObject(from, fromPath))) throw new NotFoundError(`[storage] [file] move: ${from} does not exist`);
      });
      try {
        unlinkSync(fromPath);
      } catch (error) {
        if (!isMissing(error)) throw error;
      }
      if (this.fsync) await this.syncDir(dirname(toPath));
      await this.pruneParents(fromPath, { keepTopLevel: true });
    } catch (error) {
      if (error instanceof RepodError) throw error;
      throw this.fail(`move ${from} -> ${to}`, error);
    }
  }

  /** Removes temp files older than `olderThanMs` (writers killed mid-upload leave them behind). */
  async sweepTemp(olderThanMs = 3_600_000): Promise<number> {
    let removed = 0;
    const names = await fs.readdir(this.tmpDir).catch(() => [] as string[]);
    for (const name of names) {
      const path = join(this.tmpDir, name);
      const stat = await fs.stat(path).catch(() => null);
      if (stat && Date.now() - stat.mtimeMs > olderThanMs) {
        await fs.rm(path, { force: true }).catch(() => undefined);
        removed++;
      }
    }
    return removed;
  }

  // ---------------------------------------------------------------- internals: objects

  private pathOf(key: string): string {
    validateKey(this.driver, key);
    if (key === INTERNAL_DIR || key.startsWith(`${INTERNAL_DIR}/`)) throw new InvalidKeyError(this.driver, key, `"${INTERNAL_DIR}/" is reserved`);
    return join(this.root, key);
  }

  private ready(): Promise<void> {
    this.dirsReady ??= (async () => {
      await fs.mkdir(this.tmpDir, { recursive: true });
      await fs.mkdir(this.locksDir, { recursive: true });
      await fs.mkdir(this.tokensDir, { recursive: true });
    })().catch((error) => {
      this.dirsReady = undefined;
      throw this.fail(`creating ${join(this.root, INTERNAL_DIR)}`, error);
    });
    return this.dirsReady;
  }

  /**
   * The object's stat, null when missing. A directory at the key is a conflict, not an object.
   * Synchronous: a stat of a path on a local disk is answered from the kernel's caches in a few
   * microseconds, while the thread pool's round trip and the error object a missing key makes
   * cost ten times that (most creates stat a key that is not there).
   */
  private async statObject(key: string, path: string): Promise<Stat | null> {
    try {
      const stat = statSync(path, { bigint: true, throwIfNoEntry: false }) as Stat | undefined;
      return stat?.isFile() ? stat : null;
    } catch (error) {
      if (isMissing(error)) return null;
      throw this.fail(`stat ${key}`, error);
    }
  }

  private conditionHolds(current: Stat | null, ifNoneMatch: '*' | undefined, ifMatch: string | undefined): boolean {
    if (ifNoneMatch === '*' && current) return false;
    if (ifMatch !== undefined && (!current || etagOf(current) !== ifMatch)) return false;
    return true;
  }

  /**
   * Streams the body into a new temp file and returns its path and stat (from the descriptor). Calls
   * that touch only in-memory state (writes into the page cache up to SYNC_WRITE_BYTES, futimens,
   * fstat, close) run synchronously: each saves a thread-pool round trip and none waits on the
   * disk. The create and the fdatasync may wait on it, and go through the pool.
   */
  private async writeTemp(key: string, body: Uint8Array | ReadableStream<Uint8Array>, size: number | undefined): Promise<{ path: string; stat: Stat }> {
    await this.ready();
    const path = join(this.tmpDir, `${process.pid}-${randomUUID()}.tmp`);
    let fd: number | undefined;
    try {
      // Through the pool: creating a file allocates an inode, which can read the inode table from
      // the disk (ext4 scans past recently freed inodes); measured at ~0.5 ms per create here.
      fd = await call<number>((done) => openCb(path, 'wx', 0o644, done));
      let written = 0;
      // The first SYNC_WRITE_BYTES go to the page cache synchronously; the rest of a large body
      // through the thread pool, where a write held up by writeback blocks no request.
      const write = (bytes: Uint8Array) => (written + bytes.byteLength <= SYNC_WRITE_BYTES ? writeAllSync(fd!, bytes) : writeAll(fd!, bytes));
      if (body instanceof Uint8Array) {
        sizeMismatch(this.driver, key, body.byteLength, size);
        await write(body);
        written = body.byteLength;
      } else {
        const reader = body.getReader();
        try {
          for (;;) {
            let chunk: ReadableStreamReadResult<Uint8Array>;
            try {
              chunk = await reader.read();
            } catch (error) {
              if (error instanceof RepodError) throw error;
              throw new StorageError(this.driver, `reading the body of ${key} failed`, error);
            }
            if (chunk.done) break;
            if (size !== undefined && written + chunk.value.byteLength > size) throw new StorageError(this.driver, `body of ${key} is longer than the declared ${size} bytes`);
            await write(chunk.value);
            written += chunk.value.byteLength;
          }
        } catch (error) {
          await reader.cancel(error).catch(() => undefined);
          throw error;
        }
        sizeMismatch(this.driver, key, written, size);
      }
      // The etag's clock (see the header comment), set after the last write, which stamps a coarse one.
      const seconds = Number(nowNs()) / 1e9; // the double rounds to ~0.25 µs: the fstat below reads what was stored
      futimesSync(fd, seconds, seconds);
      if (this.fsync) await call<void>((done) => fdatasyncCb(fd!, done));
      const stat = fstatSync(fd, { bigint: true }) as Stat;
      closeSync(fd);
      fd = undefined;
      return { path, stat };
    } catch (error) {
      if (fd !== undefined) closeQuietly(fd);
      await fs.rm(path, { force: true }).catch(() => undefined);
      if (error instanceof RepodError) throw error;
      throw this.fail(`put ${key}`, error);
    }
  }

  /**
   * Sets the mtime of `path` (about to become the key's file) to max(now, previous + 2 µs), so the
   * etag strictly increases per key.
   */
  private async stampMtime(path: string, previous: Stat | null): Promise<Stat> {
    let ns = nowNs();
    if (previous && ns <= previous.mtimeNs) ns = previous.mtimeNs + MTIME_STEP_NS;
    for (let attempt = 0; ; attempt++) {
      const seconds = Number(ns) / 1e9; // the double rounds to ~0.25 µs: checked below
      await fs.utimes(path, seconds, seconds);
      const stat = (await fs.stat(path, { bigint: true })) as Stat;
      if (!previous || stat.mtimeNs > previous.mtimeNs) return stat;
      // A file system with coarse timestamps: step by its granularity until above.
      if (attempt > 50) throw new StorageError(this.driver, `cannot give ${path} a newer mtime than ${previous?.mtimeNs}`);
      ns += attempt < 10 ? MTIME_STEP_NS * 1000n : 1_000_000_000n;
    }
  }

  /**
   * rename(2), creating the parent directories when missing; retried if a concurrent delete pruned a
   * parent meanwhile. The caller fsyncs the directory.
   */
  private async renameInto(from: string, to: string, key: string): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        // The parent usually exists: rename first, create the parents only when it says ENOENT.
        if (attempt > 0) await fs.mkdir(dirname(to), { recursive: true });
        await fs.rename(from, to);
        break;
      } catch (error) {
        const code = errno(error);
        // Under many concurrent writers a parent can be pruned again between mkdir and rename.
        if (code === 'ENOENT' && attempt < 100) continue;
        if (code === 'ENOTDIR' || code === 'EEXIST' || code === 'EISDIR' || code === 'ENOTEMPTY') throw this.keyConflict(key, error);
        throw error;
      }
    }
  }

  /**
   * link(2) of a file onto a key that must not exist: PreconditionFailedError when an object is
   * there, the key conflict when a directory is. Parents are created (again) as for renameInto;
   * `sourceCheck` throws first where the source may be missing (a move).
   */
  private async linkInto(from: string, to: string, key: string, sourceCheck?: () => Promise<void>): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        // A link is a directory entry: made in microseconds, less than a thread-pool round trip.
        if (attempt > 0) await fs.mkdir(dirname(to), { recursive: true });
        linkSync(from, to);
        return;
      } catch (error) {
        const code = errno(error);
        // ENOENT names no side: a missing parent of `to` (created and retried), or a missing source.
        if (code === 'ENOENT' && attempt === 0) await sourceCheck?.();
        if (code === 'ENOENT' && attempt < 100) continue;
        if (code === 'EEXIST') {
          const there = await fs.stat(to).catch((statError) => (isMissing(statError) ? null : Promise.reject(statError)));
          if (there?.isFile()) throw new PreconditionFailedError(key);
          if (!there && attempt < 100) continue; // removed meanwhile (or a dangling symlink: a conflict once retries run out)
        }
        if (code === 'ENOTDIR' || code === 'EEXIST' || code === 'EISDIR') throw this.keyConflict(key, error);
        throw error;
      }
    }
  }

  private keyConflict(key: string, cause: unknown): StorageError {
    return new StorageError(this.driver, `${key} conflicts with another key (a key cannot also be a prefix directory of other keys)`, cause);
  }

  /**
   * Makes the renames into `dir` done so far durable. Concurrent writers into one directory (every
   * upload passes uploads/, a group's objects share parents) share fsyncs: a caller never joins
   * the fsync already running (it may have started before the caller's rename) but the next one,
   * which starts once that ends and covers every rename before it, so one fsync serves a crowd.
   */
  private syncDir(dir: string): Promise<void> {
    const state = this.dirSyncs.get(dir);
    if (!state) return this.startDirSync(dir);
    state.next ??= state.running.then(
      () => this.startDirSync(dir),
      () => this.startDirSync(dir),
    );
    return state.next;
  }

  private startDirSync(dir: string): Promise<void> {
    this.hooks.dirSync?.(relative(this.root, dir));
    const running = fsyncDir(dir).finally(() => {
      if (this.dirSyncs.get(dir)?.running === running) this.dirSyncs.delete(dir);
    });
    this.dirSyncs.set(dir, { running, next: null });
    return running;
  }

  /**
   * Removes directories left empty by a delete or move, up to the root. Best effort. A move keeps
   * the directories right under the root (`keepTopLevel`): every upload's move out of uploads/
   * emptied it, and removing and re-creating it per upload freed and allocated an inode each time;
   * ext4 without a journal skips inodes freed in the last minutes when it allocates one, reading
   * the inode table for each, so every freed inode slowed every later create.
   */
  private async pruneParents(path: string, options: { keepTopLevel?: boolean } = {}): Promise<void> {
    for (let dir = dirname(path); dir.startsWith(this.root + '/') && dir !== this.root; dir = dirname(dir)) {
      if (options.keepTopLevel && dirname(dir) === this.root) return;
      try {
        await fs.rmdir(dir);
      } catch {
        return;
      }
    }
  }

  private infoOf(key: string, stat: Stat): BlobInfo {
    return { key, size: Number(stat.size), etag: etagOf(stat), lastModified: new Date(Number(stat.mtimeNs / 1_000_000n)) };
  }

  private fail(what: string, error: unknown): StorageError {
    const code = errno(error);
    return new StorageError(this.driver, `${what} in ${this.root} failed${code ? ` (${code})` : ''}`, error);
  }

  // ---------------------------------------------------------------- internals: locks

  /** Runs `fn` holding the locks of `keys` (in-process queue, then the file lock), in sorted order. */
  private async withLocks<T>(keys: string[], fn: () => Promise<T>): Promise<T> {
    const sorted = [...new Set(keys)].sort();
    const releases: (() => Promise<void>)[] = [];
    let result: T;
    try {
      for (const key of sorted) releases.push(await this.localLock(key));
      for (const key of sorted) releases.push(await this.fileLock(key));
      result = await fn();
    } catch (error) {
      for (const release of releases.reverse()) await release().catch(() => undefined);
      throw error;
    }
    for (const release of releases.reverse()) await release();
    return result;
  }

  private async localLock(key: string): Promise<() => Promise<void>> {
    const previous = this.localLocks.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const tail = previous.then(() => mine);
    this.localLocks.set(key, tail);
    await previous;
    return async () => {
      release();
      if (this.localLocks.get(key) === tail) this.localLocks.delete(key);
    };
  }

  private lockPathOf(key: string): string {
    return join(this.locksDir, `${createHash('sha256').update(key).digest('hex').slice(0, 40)}.lock`);
  }

  private async newToken(): Promise<{ raw: string; r: string }> {
    const me = await identity();
    const token: LockToken = { v: 1, host: me.host, boot: me.boot, ns: me.ns, pid: process.pid, start: me.start, t: Date.now(), r: randomUUID() };
    return { raw: JSON.stringify(token), r: token.r };
  }

  private async fileLock(key: string): Promise<() => Promise<void>> {
    await this.ready();
    const path = this.lockPathOf(key);
    const token = await this.newToken();
    const deadline = Date.now() + this.lockTimeoutMs;
    // Known as held before any reader can see it: another FileStore of this process that reads the
    // lock must find it alive, not break it as leaked.
    heldTokens.add(token.r);
    let tokenFile: TokenFile | undefined;
    let acquired = false;
    try {
      tokenFile = await this.tokenFileWith(token.raw);
      let delay = 1;
      for (let missing = 0; ; ) {
        try {
          // Synchronous, like the release: a link in one small, hot directory costs microseconds,
          // while a thread-pool round trip can queue behind the fsyncs of other writers for
          // milliseconds, all of which the lock would be held (or awaited) longer.
          linkSync(tokenFile.path, path);
          acquired = true;
          return this.releaser(path, tokenFile, token.r);
        } catch (error) {
          if (errno(error) === 'ENOENT' && missing++ < 20) {
            // The locks directory or our token file was removed under us (an operator; another
            // process that took us for dead): recreate what is gone.
            this.dirsReady = undefined;
            await this.ready();
            if (!(await fs.lstat(tokenFile.path).catch(() => null))) {
              // Its pooled siblings are most likely gone with it.
              for (const gone of [tokenFile, ...this.freeTokenFiles.splice(0)]) this.retireTokenFile(gone);
              tokenFile = undefined;
              tokenFile = await this.tokenFileWith(token.raw);
            }
            continue;
          }
          if (errno(error) !== 'EEXIST') throw this.fail(`locking ${key}`, error);
        }
        const holder = await this.readHolder(path);
        if (holder === null) continue; // released meanwhile
        if (await this.isStale(holder)) {
          await this.breakLock(path, holder, 0);
          continue;
        }
        if (Date.now() > deadline) {
          throw new StorageError(this.driver, `timed out after ${this.lockTimeoutMs} ms waiting for the lock of ${key} (${path}, held by ${describeToken(holder)})`);
        }
        await sleep(delay + Math.random() * delay);
        delay = Math.min(delay * 2, 50);
      }
    } finally {
      if (!acquired) {
        heldTokens.delete(token.r);
        if (tokenFile) this.releaseTokenFile(tokenFile);
      }
    }
  }

  /**
   * Unlinks the lock path if it is still our token file (a foreign breaker may have taken it after
   * staleLockMs), then frees the token file for the next lock. The token stays known as held until
   * the link is gone, so no reader in this process takes it for leaked in between.
   */
  private releaser(path: string, tokenFile: TokenFile, r: string): () => Promise<void> {
    return async () => {
      let unlinked = false;
      try {
        const stat = lstatSync(path, { bigint: true, throwIfNoEntry: false });
        if (stat && stat.ino === tokenFile.ino) {
          try {
            unlinkSync(path);
          } catch (error) {
            if (!isMissing(error)) throw error;
          }
        }
        unlinked = true;
      } finally {
        heldTokens.delete(r);
        // A token file that may still be linked as a lock is never rewritten: that lock then reads
        // as leaked (its token is no longer held) and is broken by the next writer.
        if (unlinked) this.releaseTokenFile(tokenFile);
        else this.retireTokenFile(tokenFile);
      }
    };
  }

  /** A free token file (from the pool, or a new one) holding `raw`, written in place. */
  private async tokenFileWith(raw: string): Promise<TokenFile> {
    const pooled = this.freeTokenFiles.pop();
    if (pooled) {
      try {
        writeToken(pooled, raw);
        return pooled;
      } catch (error) {
        this.retireTokenFile(pooled);
        throw this.fail('writing a lock token', error);
      }
    }
    await this.ready();
    const path = join(this.tokensDir, `${process.pid}-${randomUUID()}.token`);
    ownTokenFiles.add(path); // before it exists: a sweeping store of this process must leave it alone
    let fd: number | undefined;
    try {
      fd = await call<number>((done) => openCb(path, 'wx', 0o644, done));
      // Fixed per file: a token's length varies only in its time field, far less than the margin.
      const tokenFile: TokenFile = { path, fd, ino: 0n, bytes: Math.ceil((Buffer.byteLength(raw) + 64) / 512) * 512 };
      writeToken(tokenFile, raw);
      tokenFile.ino = fstatSync(fd, { bigint: true }).ino;
      return tokenFile;
    } catch (error) {
      ownTokenFiles.delete(path);
      if (fd !== undefined) closeQuietly(fd);
      await fs.rm(path, { force: true }).catch(() => undefined);
      throw this.fail('creating a lock token file', error);
    }
  }

  /** Back to the pool; beyond TOKEN_POOL_MAX (a burst of concurrent locks) removed instead. */
  private releaseTokenFile(tokenFile: TokenFile): void {
    if (this.freeTokenFiles.length < TOKEN_POOL_MAX) this.freeTokenFiles.push(tokenFile);
    else this.retireTokenFile(tokenFile);
  }

  private retireTokenFile(tokenFile: TokenFile): void {
    closeQuietly(tokenFile.fd);
    fs.unlink(tokenFile.path)
      .catch(() => undefined)
      .finally(() => ownTokenFiles.delete(tokenFile.path));
  }

  /**
   * The token of the lock at `path`, null when there is none: the content of a lock file, or the
   * target of a symlink lock (older versions; guards).
   */
  private async readHolder(path: string): Promise<string | null> {
    let fd: number;
    try {
      fd = await call<number>((done) => openCb(path, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW, done));
    } catch (error) {
      if (isMissing(error)) return null;
      if (errno(error) !== 'ELOOP') throw error;
      try {
        return await fs.readlink(path);
      } catch (linkError) {
        if (isMissing(linkError) || errno(linkError) === 'EINVAL') return null; // replaced meanwhile: the caller looks again
        throw linkError;
      }
    }
    try {
      const buffer = Buffer.alloc(4096);
      const length = await call<number>((done) => readCb(fd, buffer, 0, buffer.length, 0, done));
      return buffer.toString('utf8', 0, length).trimEnd();
    } finally {
      closeQuietly(fd);
    }
  }

  /**
   * Removes the lock at `path` if it still holds `staleToken`. Exclusive among breakers of that
   * token through a guard lock named after it; see the header comment.
   */
  private async breakLock(path: string, staleToken: string, depth: number): Promise<void> {
    if (depth > 6) throw new StorageError(this.driver, `cannot break stale lock ${path}: too many stale guards`);
    const guard = `${path}.${createHash('sha256').update(staleToken).digest('hex').slice(0, 16)}`;
    const token = await this.newToken();
    try {
      await fs.symlink(token.raw, guard);
    } catch (error) {
      if (errno(error) !== 'EEXIST') throw this.fail(`breaking lock ${path}`, error);
      const holder = await this.readHolder(guard);
      if (holder !== null && (await this.isStale(holder))) await this.breakLock(guard, holder, depth + 1);
      return; // another breaker is at work (or was, and is now cleared): the caller retries
    }
    try {
      if ((await this.readHolder(path)) === staleToken) {
        await fs.unlink(path).catch((error) => (isMissing(error) ? undefined : Promise.reject(error)));
      }
    } finally {
      await fs.unlink(guard).catch(() => undefined);
    }
  }

  /**
   * Removes token files whose owner is dead (or, for an owner that cannot be checked, idle for a
   * day: a live one makes a new file when it finds its own gone). Returns how many.
   */
  async sweepTokenFiles(): Promise<number> {
    let removed = 0;
    const names = await fs.readdir(this.tokensDir).catch(() => [] as string[]);
    for (const name of names) {
      const path = join(this.tokensDir, name);
      if (ownTokenFiles.has(path)) continue;
      const [content, stat] = await Promise.all([this.readHolder(path).catch(() => null), fs.lstat(path).catch(() => null)]);
      if (content === null || !stat) continue;
      const age = Date.now() - stat.mtimeMs;
      let token: LockToken | null = null;
      try {
        token = parseToken(content);
      } catch {
        // never written: its creator died between creating and writing it
      }
      const verdict = token ? await this.ownerState(token) : age > EMPTY_TOKEN_FILE_MS ? 'dead' : 'alive';
      if (verdict === 'dead' || (verdict === 'unknown' && age > FOREIGN_TOKEN_FILE_IDLE_MS)) {
        await fs.unlink(path).catch(() => undefined);
        removed++;
      }
    }
    return removed;
  }

  /** Whether a lock token's owner is gone (see the header comment). */
  private async isStale(raw: string): Promise<boolean> {
    let token: LockToken;
    try {
      token = parseToken(raw);
    } catch {
      // Not written by this scheme: a token is whole before it is linked as a lock. (A torn read
      // of a recycled token file also lands here; the guard's re-read then finds another token.)
      return true;
    }
    const verdict = await this.ownerState(token);
    if (verdict === 'dead') return true;
    if (verdict === 'alive') return false;
    return Date.now() - token.t > this.staleLockMs;
  }

  private async ownerState(token: LockToken): Promise<'dead' | 'alive' | 'unknown'> {
    const me = await identity();
    if (token.host !== me.host) return 'unknown';
    if (token.boot !== me.boot) return me.boot && token.boot ? 'dead' : 'unknown'; // rebooted since
    if (token.ns !== me.ns) return 'unknown'; // another pid namespace (container): its pids mean nothing here
    if (token.pid === process.pid && token.start === me.start) {
      return heldTokens.has(token.r) ? 'alive' : 'dead'; // ours but not held: leaked by a failed release
    }
    try {
      process.kill(token.pid, 0);
    } catch (error) {
      if (errno(error) === 'ESRCH') return 'dead';
    }
    if (!me.boot) return 'unknown'; // no /proc: the pid may have been reused
    const proc = await procStat(token.pid);
    if (!proc) return 'dead';
    if (proc.state === 'Z' || proc.state === 'X') return 'dead';
    return proc.start === token.start ? 'alive' : 'dead';
  }
}

function describeToken(raw: string): string {
  try {
    const t = JSON.parse(raw) as LockToken;
    return `pid ${t.pid} on ${t.host}, since ${new Date(t.t).toISOString()}`;
  } catch {
    return JSON.stringify(raw);
  }
}

function parseToken(raw: string): LockToken {
  const token = JSON.parse(raw) as LockToken;
  if (token?.v !== 1 || typeof token.pid !== 'number' || typeof token.t !== 'number') throw new Error('bad token');
  return token;
}

/** One positional write of the whole padded length at offset 0: no truncate, nothing of an older token left. */
function writeToken(tokenFile: TokenFile, raw: string): void {
  const buffer = Buffer.alloc(tokenFile.bytes, 0x20);
  if (buffer.write(raw, 0, 'utf8') !== Buffer.byteLength(raw)) throw new Error(`lock token longer than ${tokenFile.bytes} bytes`);
  let offset = 0;
  while (offset < buffer.length) offset += writeSync(tokenFile.fd, buffer, offset, buffer.length - offset, offset);
}

function isMissing(error: unknown): boolean {
  const code = errno(error);
  return code === 'ENOENT' || code === 'ENOTDIR';
}

function etagOf(stat: Stat): string {
  return `${stat.mtimeNs.toString(36)}.${stat.ino.toString(36)}.${stat.size.toString(36)}`;
}

function writeAllSync(fd: number, bytes: Uint8Array): void {
  for (let offset = 0; offset < bytes.byteLength; ) offset += writeSync(fd, bytes, offset, bytes.byteLength - offset);
}

async function writeAll(fd: number, bytes: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < bytes.byteLength) {
    offset += await call<number>((done) => writeCb(fd, bytes, offset, bytes.byteLength - offset, null, done));
  }
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // already failing: the first error is the one to report
  }
}

async function fsyncDir(dir: string): Promise<void> {
  let fd: number;
  try {
    fd = openSync(dir, 'r'); // opening a directory reads no data: the fsync is what waits on the disk
  } catch (error) {
    // A concurrent delete or move pruned the directory once it was empty: nothing left to sync.
    if (errno(error) === 'ENOENT') return;
    throw error;
  }
  try {
    await call<void>((done) => fsyncCb(fd, done));
  } finally {
    closeSync(fd);
  }
}

/** `bytes.length` bytes of an open file from `start` into `bytes`, or up to its end when it is shorter. */
async function readUpTo(fd: number, start: number, bytes: Uint8Array): Promise<Uint8Array> {
  let at = 0;
  while (at < bytes.length) {
    const n = await call<number>((done) => readCb(fd, bytes, at, bytes.length - at, start + at, done));
    if (n === 0) break;
    at += n;
  }
  return at === bytes.length ? bytes : bytes.subarray(0, at);
}

/** readUpTo with synchronous calls (see SYNC_READ_BYTES). */
function readUpToSync(fd: number, start: number, bytes: Uint8Array): Uint8Array {
  let at = 0;
  while (at < bytes.length) {
    const n = readSync(fd, bytes, at, bytes.length - at, start + at);
    if (n === 0) break;
    at += n;
  }
  return at === bytes.length ? bytes : bytes.subarray(0, at);
}

/** Bytes `start` to `end` (exclusive) of an open file, read whole. */
async function readRange(fd: number, start: number, end: number, key: string): Promise<Uint8Array> {
  const bytes = new Uint8Array(end - start);
  for (let at = 0; at < bytes.length; ) {
    const n = await call<number>((done) => readCb(fd, bytes, at, bytes.length - at, start + at, done));
    if (n === 0) throw new StorageError('file', `${key} shrank while being read (modified outside repod?)`);
    at += n;
  }
  return bytes;
}

/** A pull stream over [start, end) of an open file; the handle closes at the end, on error and on cancel. */
function fileStream(handle: FileHandle, start: number, end: number, key: string): ReadableStream<Uint8Array> {
  let position = start;
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await handle.close().catch(() => undefined);
  };
  return new ReadableStream<Uint8Array>({
    async start(controller) {
      if (position >= end) {
        await close();
        controller.close();
      }
    },
    async pull(controller) {
      try {
        const length = Math.min(READ_CHUNK, end - position);
        // Not zero-filled first: every byte handed on is one the read wrote (a big package is
        // many such chunks, and clearing each showed in profiles of streamed downloads).
        const buffer = new Uint8Array(Buffer.allocUnsafeSlow(length).buffer, 0, length);
        const { bytesRead } = await handle.read(buffer, 0, length, position);
        if (bytesRead === 0) throw new StorageError('file', `${key} shrank while being read (modified outside repod?)`);
        position += bytesRead;
        controller.enqueue(bytesRead === length ? buffer : buffer.subarray(0, bytesRead));
        if (position >= end) {
          await close();
          controller.close();
        }
      } catch (error) {
        await close();
        controller.error(error);
      }
    },
    async cancel() {
      await close();
    },
  });
}

/** `file:DIR` → an opened FileStore. */
export async function openFileStore(root: string, options: Omit<FileStoreOptions, 'root'> = {}): Promise<FileStore> {
  return FileStore.open({ ...options, root });
}
