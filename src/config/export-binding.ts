import { RepodError } from '../errors.ts';

/**
 * A distribution kept exported as a static tree (Koji's tag2distrepo): after each publish,
 * promotion, rollback or mirror sync of it, the server writes its current revision to `to` the way
 * `repod export` does (export/auto-export.ts). Credentials of an S3 target are the server's own
 * (the standard AWS variables), never part of the configuration.
 */
export interface ExportBinding {
  /** A directory (Node only) or s3://bucket/prefix. */
  to: string;
  /** S3: a public-read ACL on everything written. */
  public_read?: boolean;
  /** S3: the target's endpoint and region, when not the server's REPOD_S3_ENDPOINT / AWS_REGION. */
  s3_endpoint?: string;
  s3_region?: string;
}

const KNOWN = new Set(['to', 'public_read', 's3_endpoint', 's3_region']);

export function validateExport(distName: string, value: unknown): void {
  if (value === undefined) return;
  const fail = (what: string): never => {
    throw new RepodError('invalid_config', `distribution ${distName}: export.${what}`);
  };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail('must be an object');
  const e = value as ExportBinding;
  for (const key of Object.keys(e)) if (!KNOWN.has(key)) fail(`has an unknown key ${JSON.stringify(key)} (known: ${[...KNOWN].join(', ')})`);
  if (typeof e.to !== 'string' || e.to.trim() === '') fail('to must be a directory or s3://bucket/prefix');
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(e.to) && !/^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/|$)/.test(e.to))
    fail(`to must be a directory or s3://bucket/prefix, not ${JSON.stringify(e.to)}`);
  if (e.public_read !== undefined && typeof e.public_read !== 'boolean') fail('public_read must be true or false');
  for (const key of ['s3_endpoint', 's3_region'] as const) {
    if (e[key] !== undefined && (typeof e[key] !== 'string' || e[key] === '')) fail(`${key} must be a non-empty string`);
  }
  if (e.s3_endpoint !== undefined && !/^https?:\/\//.test(e.s3_endpoint)) fail('s3_endpoint must be an http(s) URL');
}
