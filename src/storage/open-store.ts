/**
 * REPOD_STORAGE → a BlobStore. Workers-safe module graph: the file driver (node:fs) is imported
 * only when a `file:` spec is opened.
 *
 *   file:DIR             a directory (relative to the working directory), the default `file:./data`
 *   s3://bucket/prefix   S3 or an S3-compatible store; env: REPOD_S3_ENDPOINT, AWS_REGION
 *                        (or AWS_DEFAULT_REGION), AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
 *                        AWS_SESSION_TOKEN, REPOD_S3_FORCE_PATH_STYLE (default true when an
 *                        endpoint is set), REPOD_S3_PUBLIC_ENDPOINT (host written into presigned URLs)
 *   memory:              in-memory, for tests
 */
import { StorageError } from '../errors.ts';
import type { BlobStore } from './blob-store.ts';
import { MemoryStore } from './memory.ts';
import type { S3StoreOptions } from './s3.ts';

export const DEFAULT_STORAGE = 'file:./data';

export type StoreSpec = { driver: 'file'; root: string } | { driver: 'memory' } | { driver: 's3'; options: S3StoreOptions };

function invalid(spec: string, why: string): StorageError {
  return new StorageError('config', `REPOD_STORAGE=${JSON.stringify(spec)}: ${why} (expected file:DIR, s3://bucket/prefix or memory:)`);
}

function flag(name: string, value: string | undefined): boolean | undefined {
  if (value === undefined || value === '') return undefined;
  if (/^(1|true|yes|on)$/i.test(value)) return true;
  if (/^(0|false|no|off)$/i.test(value)) return false;
  throw new StorageError('config', `${name}=${JSON.stringify(value)}: expected true or false`);
}

/** Parses a storage spec without opening anything. */
export function parseStoreSpec(spec: string, env: Record<string, string | undefined> = {}): StoreSpec {
  const s = spec.trim() || DEFAULT_STORAGE;
  if (s === 'memory:' || s === 'memory') return { driver: 'memory' };
  if (s.startsWith('file:')) {
    let root = s.slice('file:'.length);
    if (root.startsWith('//')) {
      // file:///abs/path (URL form): only a local host is meaningful
      const url = new URL(s);
      if (url.host && url.host !== 'localhost') throw invalid(spec, `a file URL cannot name a host (${url.host})`);
      root = decodeURIComponent(url.pathname);
    }
    if (!root) throw invalid(spec, 'missing directory');
    return { driver: 'file', root };
  }
  if (s.startsWith('s3://')) {
    const rest = s.slice('s3://'.length);
    const slash = rest.indexOf('/');
    const bucket = slash < 0 ? rest : rest.slice(0, slash);
    const prefix = slash < 0 ? '' : rest.slice(slash + 1).replace(/\/+$/, '');
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) throw invalid(spec, `"${bucket}" is not a valid bucket name`);
    const endpoint = env.REPOD_S3_ENDPOINT || undefined;
    const accessKeyId = env.AWS_ACCESS_KEY_ID;
    const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
    if (Boolean(accessKeyId) !== Boolean(secretAccessKey)) {
      throw new StorageError('config', 'set both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or neither (then the SDK default credential chain is used)');
    }
    return {
      driver: 's3',
      options: {
        bucket,
        prefix,
        endpoint,
        region: env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1',
        credentials: accessKeyId && secretAccessKey ? { accessKeyId, secretAccessKey, sessionToken: env.AWS_SESSION_TOKEN || undefined } : undefined,
        forcePathStyle: flag('REPOD_S3_FORCE_PATH_STYLE', env.REPOD_S3_FORCE_PATH_STYLE) ?? endpoint !== undefined,
        presignEndpoint: env.REPOD_S3_PUBLIC_ENDPOINT || undefined,
      },
    };
  }
  if (/^[a-z][a-z0-9+.-]*:/i.test(s)) throw invalid(spec, `unsupported scheme "${s.slice(0, s.indexOf(':') + 1)}"`);
  throw invalid(spec, `no scheme (for a directory write file:${s})`);
}

/** Opens the store a spec names (see the module comment). */
export async function openStore(spec: string, env: Record<string, string | undefined> = {}): Promise<BlobStore> {
  const parsed = parseStoreSpec(spec, env);
  switch (parsed.driver) {
    case 'memory':
      return new MemoryStore();
    case 'file': {
      const { FileStore } = await import('./file.ts');
      return FileStore.open({ root: parsed.root });
    }
    case 's3': {
      // Loaded here, not with this module: the AWS SDK it brings (88 files, 4-7 MiB of a server's
      // RSS) is not needed on the file store (the server's bundle keeps it in a chunk of its own).
      const { S3Store } = await import('./s3.ts');
      return new S3Store(parsed.options);
    }
  }
}
