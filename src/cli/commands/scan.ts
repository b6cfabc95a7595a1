import { readFile, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Core } from '../../core/core.ts';
import { RepodError } from '../../errors.ts';
import { malformedList, type ScanReport, scanLocation, treeKind } from '../../scan/scan-location.ts';
import type { BlobStore } from '../../storage/blob-store.ts';
import { DEFAULT_STORAGE, openStore } from '../../storage/open-store.ts';
import { type Command, integer, type OptionSpec, positionalCount, str, UsageError, type Values } from '../command.ts';
import { LocalError } from '../http-client.ts';
import { formatBytes, plural } from '../output.ts';

/** mkrepo's flags for a location in S3 (the standard AWS variables otherwise). */
export const S3_LOCATION_OPTIONS: Record<string, OptionSpec> = {
  's3-endpoint': { type: 'string', arg: 'url', help: 'S3 server URL, for MinIO, Ceph RGW, R2... (env REPOD_S3_ENDPOINT)' },
  's3-region': { type: 'string', arg: 'region', help: 'S3 region (env AWS_REGION; default us-east-1)' },
  's3-access-key-id': { type: 'string', arg: 'id', help: 'S3 access key id (env AWS_ACCESS_KEY_ID)' },
  's3-secret-access-key': { type: 'string', arg: 'key', help: 'S3 secret key (env AWS_SECRET_ACCESS_KEY)' },
};

/** The environment a location's store is opened with: the flags over the standard variables. */
export function locationEnv(values: Values, env: Record<string, string | undefined>): Record<string, string | undefined> {
  const out = { ...env };
  const set = (flag: string, name: string) => {
    const v = str(values, flag);
    if (v !== undefined) out[name] = v;
  };
  set('s3-endpoint', 'REPOD_S3_ENDPOINT');
  set('s3-region', 'AWS_REGION');
  set('s3-access-key-id', 'AWS_ACCESS_KEY_ID');
  set('s3-secret-access-key', 'AWS_SECRET_ACCESS_KEY');
  return out;
}

export interface Location {
  /** s3://bucket/prefix or the absolute directory. */
  name: string;
  /** The store spec of the location itself (file:DIR or s3://bucket/prefix). */
  spec: string;
  store: BlobStore;
}

/** Opens a location (a directory or s3://bucket/prefix) as a store whose keys are paths in the tree. */
export async function openLocation(location: string, env: Record<string, string | undefined>): Promise<Location> {
  if (/^s3:\/\//.test(location)) {
    const name = location.replace(/\/+$/, '');
    return { name, spec: name, store: await openStore(name, env) };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(location)) throw new LocalError(`${location}: a location is a directory or s3://bucket/prefix`);
  const dir = resolve(location);
  const s = await stat(dir).catch(() => null);
  if (!s?.isDirectory()) throw new LocalError(`${location} is not a directory`);
  return { name: dir, spec: `file:${dir}`, store: await openStore(`file:${dir}`, env) };
}

/**
 * The core over a store, the one the server would use with these settings (REPOD_DISTRIBUTIONS,
 * REPOD_SIGNING_KEY...). `extra` overrides settings (mkrepo gives its own distributions and key).
 */
export async function openCore(env: Record<string, string | undefined>, spec: string, extra: Record<string, string | undefined> = {}): Promise<Core> {
  const { REPOD_ADVISORIES: _advisories, ...rest } = env;
  // Loaded here, not at the top: the CLI's HTTP commands need not load the core.
  const { buildNodeCore } = await import('../../runtime/node-core.ts');
  const { core } = await buildNodeCore({ ...rest, ...extra, REPOD_STORAGE: spec }, () => undefined);
  return core;
}

export function printScan(out: { line(text?: string): void }, r: ScanReport): void {
  const what = r.status === 'published' ? `published revision ${r.revision?.number}` : `unchanged${r.revision ? ` (revision ${r.revision.number})` : ''}`;
  out.line(`scanned ${r.location} into ${r.distribution}: ${what}`);
  out.line(`  ${plural(r.found, 'package')} found: ${r.read} read (${formatBytes(r.bytesRead)}), ${r.unchanged} unchanged; ${r.added} added, ${r.removed} removed in the revision`);
  if (r.malformed.length) {
    out.line(`  ${plural(r.malformed.length, 'malformed package')} left out:`);
    for (const m of r.malformed) out.line(`    ${m.path}: ${m.reason}`);
  }
}

/** RepodErrors of the core become the CLI's local errors (exit 1 with the message and code). */
export function asLocal(error: unknown): unknown {
  return error instanceof RepodError ? new LocalError(`${error.message} (${error.code})`, { cause: error }) : error;
}

async function scanOnce(ctx: Parameters<Command['run']>[0], location: string, distName: string): Promise<ScanReport> {
  const env = ctx.io.env;
  const loc = await openLocation(location, locationEnv(ctx.values, env));
  const spec = str(ctx.values, 'storage') ?? env.REPOD_STORAGE ?? DEFAULT_STORAGE;
  const core = await openCore(env, spec);
  const dist = core.distributions.get(distName);
  if (!dist) {
    const known = core.distributions
      .all()
      .map((d) => d.name)
      .join(', ');
    throw new LocalError(`no distribution ${JSON.stringify(distName)} (configured: ${known}; more come from REPOD_DISTRIBUTIONS)`);
  }
  const kind = await treeKind(loc.store);
  if (kind === null) throw new LocalError(`${loc.name} holds neither Packages/ (an RPM tree) nor pool/ (a DEB tree)`);
  if (kind !== dist.kind)
    throw new LocalError(`${loc.name} is ${kind === 'rpm' ? 'an RPM tree (Packages/)' : 'a DEB tree (pool/)'}, but ${dist.name} is an ${dist.kind.toUpperCase()} distribution`);
  const force = ctx.values.force === true;
  const leaseSeconds = env.REPOD_SCAN_LEASE_SECONDS ? Number(env.REPOD_SCAN_LEASE_SECONDS) : undefined;
  if (leaseSeconds !== undefined && !(Number.isFinite(leaseSeconds) && leaseSeconds > 0)) throw new LocalError('REPOD_SCAN_LEASE_SECONDS must be a positive number of seconds');
  const report = await scanLocation(
    core,
    { name: loc.name, store: loc.store, root: kind === 'rpm' ? 'Packages/' : 'pool/' },
    {
      dist,
      mode: 'pool',
      force,
      author: `scan:${loc.name}`,
      ...(leaseSeconds !== undefined ? { leaseTtlMs: leaseSeconds * 1000 } : {}),
      progress: ctx.out.json ? undefined : (m) => ctx.out.note(m),
    },
  );
  if (force) {
    // Beside the tree's packages: the location holds no metadata of its own in this mode.
    try {
      if (report.malformed.length) await loc.store.put('malformed_list.txt', new TextEncoder().encode(malformedList(report.malformed)), { contentType: 'text/plain' });
      else if (await loc.store.head('malformed_list.txt')) await loc.store.delete('malformed_list.txt');
    } catch (error) {
      ctx.out.note(`warning: cannot write ${loc.name}/malformed_list.txt: ${(error as Error).message}`);
    }
  }
  return report;
}

export const scanCommand: Command = {
  name: 'scan',
  summary: 'publish the packages dropped into a bucket or a directory (one revision per scan)',
  usage: ['repod scan <dir | s3://bucket/prefix> --dist <name> [--force] [--interval <seconds>] [--storage <spec>] [--s3-endpoint <url> ...]'],
  description:
    'Finds <location>/Packages/**.rpm (an RPM tree) or <location>/pool/**.deb (a DEB tree) and publishes them into the distribution as one revision, through the same checks as an upload; ' +
    'the server on that store (--storage, else REPOD_STORAGE) then serves them. Only objects new or changed since the previous scan are read (by last-modified time and size); ' +
    'removed objects leave the revision. A malformed package stops the scan with nothing published; with --force it is left out and listed in <location>/malformed_list.txt. ' +
    'Two scans of one location never run at once (a lease in the store, renewed while the scan runs; one left by a killed scan is taken over once it expires, ' +
    'after REPOD_SCAN_LEASE_SECONDS, default 120). With --interval the scan repeats every <seconds>.',
  options: {
    dist: { type: 'string', short: 'd', arg: 'name', help: 'the distribution to publish into' },
    force: { type: 'boolean', help: 'skip malformed packages instead of stopping' },
    interval: { type: 'string', arg: 'seconds', help: 'scan again every <seconds> until stopped' },
    storage: { type: 'string', arg: 'spec', help: `the store (file:DIR, s3://bucket/prefix; env REPOD_STORAGE; default ${DEFAULT_STORAGE})` },
    ...S3_LOCATION_OPTIONS,
  },
  examples: [
    'repod scan /srv/drop/rocky9 --dist rocky9 --storage file:/var/lib/repod',
    'repod scan s3://builds/bookworm --dist bookworm --s3-endpoint http://127.0.0.1:7480 --interval 60',
  ],
  api: [],

  async run(ctx) {
    positionalCount(ctx, 'scan', 1, 1, 'location');
    const [location] = ctx.positionals;
    const dist = str(ctx.values, 'dist');
    if (!dist) throw new UsageError('--dist is required', 'scan');
    const interval = integer(ctx.values, 'interval', 'scan', { min: 1 });
    for (;;) {
      let report: ScanReport;
      try {
        report = await scanOnce(ctx, location, dist);
      } catch (error) {
        if (interval === undefined) throw asLocal(error);
        ctx.out.note(`scan failed: ${(asLocal(error) as Error).message}`);
        await sleep(interval * 1000);
        continue;
      }
      if (ctx.out.json) ctx.out.document(report);
      else printScan(ctx.out, report);
      if (interval === undefined) return;
      await sleep(interval * 1000);
    }
  },
};

/** Reads a file for an option or variable, naming it when it cannot. */
export async function readNamedFile(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (cause) {
    throw new LocalError(`cannot read ${what} (${path}): ${(cause as Error).message}`, { cause });
  }
}
