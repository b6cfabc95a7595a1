/**
 * Presigned URLs for R2's S3 API (or any S3 endpoint), signed with SigV4 in the query string by
 * aws4fetch: Web Crypto only, so it runs in a Worker, where the binding itself cannot presign.
 * URLs are path style, `${endpoint}/${bucket}/${key}`.
 */
import { AwsV4Signer } from 'aws4fetch';
import type { PresignOptions } from './blob-store.ts';
import { contentDisposition, validateKey } from './common.ts';

/** A URL for one object of the bucket; `key` is its whole key in the bucket. */
export type Presigner = (key: string, options: PresignOptions) => Promise<string>;

export interface R2PresignerConfig {
  /** The S3 API endpoint, e.g. `https://<account>.r2.cloudflarestorage.com`. */
  endpoint: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** `auto` for R2 (the default). */
  region?: string;
  /** Put before every key, for callers that sign keys relative to a folder (r2Store already passes the whole key). */
  prefix?: string;
  /** The signing time (tests). */
  now?: () => Date;
}

/** S3 refuses presigned URLs valid for more than seven days. */
const MAX_EXPIRY = 7 * 24 * 3600;

export function r2Presigner(config: R2PresignerConfig): Presigner {
  let endpoint: URL;
  try {
    endpoint = new URL(config.endpoint);
  } catch {
    throw new TypeError(`[storage] [r2] presigner: endpoint ${JSON.stringify(config.endpoint)} is not a URL`);
  }
  if (!config.bucket) throw new TypeError('[storage] [r2] presigner: a bucket name is required');
  const base = `${endpoint.origin}${endpoint.pathname.replace(/\/+$/, '')}/${encodePath(config.bucket)}`;
  const prefix = (config.prefix ?? '').replace(/^\/+|\/+$/g, '');
  const region = config.region ?? 'auto';
  const now = config.now ?? (() => new Date());
  // The signing key is derived once per day and scope, shared by every URL.
  const cache = new Map<string, ArrayBuffer>();

  return async (key, options) => {
    validateKey('r2', key);
    const expires = options.expiresInSeconds;
    if (!Number.isInteger(expires) || expires < 1 || expires > MAX_EXPIRY) {
      throw new RangeError(`[storage] [r2] presign: expiresInSeconds must be an integer from 1 to ${MAX_EXPIRY}, not ${expires}`);
    }
    const method = options.method ?? 'GET';
    const url = new URL(`${base}/${encodePath(prefix ? `${prefix}/${key}` : key)}`);
    url.searchParams.set('X-Amz-Expires', String(expires));
    if (method === 'GET') {
      if (options.filename) url.searchParams.set('response-content-disposition', contentDisposition(options.filename));
      if (options.contentType) url.searchParams.set('response-content-type', options.contentType);
    }
    const signer = new AwsV4Signer({
      url: url.toString(),
      method,
      accessKeyId: config.accessKeyId,
      secretAccessKey: config.secretAccessKey,
      service: 's3',
      region,
      signQuery: true,
      cache,
      datetime: now()
        .toISOString()
        .replace(/[:-]|\.\d{3}/g, ''),
    });
    const signed = (await signer.sign()).url;
    // URLSearchParams writes a space as '+'. RGW reads it as a space, but what was signed is the
    // RFC 3986 form (%20), so the query is written in that form rather than relying on each server.
    const query = [...signed.searchParams].map(([name, value]) => `${encodeRfc3986(name)}=${encodeRfc3986(value)}`).join('&');
    return `${signed.origin}${signed.pathname}?${query}`;
  };
}

function encodeRfc3986(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** Each '/'-separated segment encoded as S3 signs it. */
function encodePath(key: string): string {
  return key.split('/').map(encodeRfc3986).join('/');
}
