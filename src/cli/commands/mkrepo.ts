import { chmod, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AptDistribution, Distribution, RpmDistribution } from '../../config/distributions.ts';
import { StoreTarget } from '../../export/store-target.ts';
import { TREE_VIEW_ARCH } from '../../scan/found-entry.ts';
import { type TreeReport, writeTree } from '../../scan/mkrepo-tree.ts';
import { type ScanReport, scanLocation, treeKind } from '../../scan/scan-location.ts';
import { type Command, str, UsageError } from '../command.ts';
import { LocalError } from '../http-client.ts';
import { asLocal, locationEnv, openCore, openLocation, printScan, S3_LOCATION_OPTIONS } from './scan.ts';

/**
 * `repod mkrepo`: mkrepo's mode. The packages stay where they were dropped; repod keeps its own
 * objects in the tree's `.repod/store/` (revisions, chunks, renders, the scan state and, without
 * GPG_SIGN_KEY, the signing keyring: never serve `.repod/`), and writes the metadata beside them.
 *
 * RPM: `<tree>/Packages/**.rpm` -> `<tree>/repodata/`, one repository for every architecture,
 * hrefs the paths as found. DEB: `<tree>/pool/<codename>/<component>/**.deb` (mkrepo's layout) ->
 * `<tree>/dists/<codename>/`; a .deb elsewhere under pool/ goes to the codename --dist names,
 * component main. Filename is the path as found.
 */
const RPM_DIST = 'tree';

interface TreeResult {
  location: string;
  kind: 'rpm' | 'apt';
  scans: ScanReport[];
  trees: Array<{ distribution: string; revision: number | null } & TreeReport>;
}

/** The codename and component of a .deb, from mkrepo's pool/<codename>/<component>/... layout. */
function debPlace(path: string, fallback: string | undefined): { codename: string; component: string } | null {
  const parts = path.split('/');
  if (parts.length >= 5) return { codename: parts[1], component: parts[2] };
  return fallback ? { codename: fallback, component: 'main' } : null;
}

/** The signing key: GPG_SIGN_KEY (an armored private key, or a file holding one), else REPOD_SIGNING_KEY, else the store's keyring. */
async function signingKeyFile(env: Record<string, string | undefined>, temp: string): Promise<string | undefined> {
  const key = env.GPG_SIGN_KEY;
  if (!key) return env.REPOD_SIGNING_KEY;
  if (key.includes('-----BEGIN PGP PRIVATE KEY BLOCK-----')) {
    const path = join(temp, 'signing-key.asc');
    await writeFile(path, key, { mode: 0o600 });
    return path;
  }
  if ((await stat(key).catch(() => null))?.isFile()) return key;
  throw new LocalError('GPG_SIGN_KEY must hold an ASCII-armored private key (gpg --armor --export-secret-keys ID) or name a file holding one');
}

async function mkrepoOne(ctx: Parameters<Command['run']>[0], path: string, temp: string): Promise<TreeResult> {
  const env = ctx.io.env;
  const loc = await openLocation(path, locationEnv(ctx.values, env));
  const kind = await treeKind(loc.store);
  if (kind === null) throw new LocalError(`${loc.name} holds neither Packages/ (an RPM tree) nor pool/ (a DEB tree)`);
  const fallback = str(ctx.values, 'dist');

  // The distributions of this tree: one for RPM, one per codename for DEB.
  const dists: Distribution[] = [];
  if (kind === 'rpm') {
    // One repodata/ lists every package found, debuginfo included, as createrepo_c does.
    dists.push({ kind: 'rpm', name: RPM_DIST, architectures: [TREE_VIEW_ARCH], packageSignatures: { policy: 'allow-missing' }, debuginfo: 'inline' } satisfies RpmDistribution);
  } else {
    const components = new Map<string, Set<string>>();
    for await (const o of loc.store.list('pool/')) {
      if (!o.key.endsWith('.deb')) continue;
      const place = debPlace(o.key, fallback);
      if (!place) throw new LocalError(`${loc.name}/${o.key}: not under pool/<codename>/<component>/; name the codename with --dist`);
      if (!components.has(place.codename)) components.set(place.codename, new Set());
      components.get(place.codename)!.add(place.component);
    }
    for (const [codename, set] of components) {
      dists.push({
        kind: 'apt',
        name: codename,
        suite: codename,
        components: [...set].sort(),
        architectures: ['amd64'],
        origin: env.MKREPO_DEB_ORIGIN || 'repod',
        label: env.MKREPO_DEB_LABEL || 'repod',
        description: env.MKREPO_DEB_DESCRIPTION || `${codename} from ${loc.name}`,
      } satisfies AptDistribution);
    }
  }
  const distributionsFile = join(temp, `distributions-${Math.random().toString(36).slice(2)}.json`);
  await writeFile(distributionsFile, JSON.stringify({ replaceDefaults: true, distributions: dists }));
  const storeSpec = str(ctx.values, 'storage') ?? `${loc.spec}/.repod/store`;
  const core = await openCore(locationEnv(ctx.values, env), storeSpec, {
    REPOD_DISTRIBUTIONS: distributionsFile,
    REPOD_SIGNING_KEY: await signingKeyFile(env, temp),
  });
  // Only what a static server hands out: the metadata mkrepo writes (the packages are the uploader's).
  const publicRead = ctx.values['s3-public-read'] === true && loc.spec.startsWith('s3://');
  const target = new StoreTarget(loc.name, loc.store, publicRead ? { acl: 'public-read' } : {});
  await target.checkWritable();

  const result: TreeResult = { location: loc.name, kind, scans: [], trees: [] };
  for (const dist of dists) {
    const root = dist.kind === 'rpm' ? 'Packages/' : fallback === dist.name ? 'pool/' : `pool/${dist.name}/`;
    const scan = await scanLocation(
      core,
      { name: `${loc.name}#${dist.name}`, store: loc.store, root },
      {
        dist,
        mode: 'found',
        force: ctx.values.force === true,
        author: `mkrepo:${loc.name}`,
        component: (p) => debPlace(p, fallback)?.component ?? 'main',
        progress: ctx.out.json ? undefined : (m) => ctx.out.note(m),
      },
    );
    result.scans.push(scan);
    const revision = await core.repository.current(dist.name);
    if (!revision) continue; // nothing found and nothing published yet: no tree to write
    let rendered = dist;
    if (dist.kind === 'apt') {
      // binary-<arch> for every architecture the revision holds ("all" packages appear in each).
      const arches = new Set(revision.chunks.flatMap((c) => Object.keys(c.arches)).filter((a) => a !== 'all'));
      rendered = { ...dist, architectures: arches.size ? [...arches].sort() : ['amd64'] };
    }
    const tree = await writeTree(core, target, rendered, revision, { sign: ctx.values.sign === true, malformed: scan.malformed });
    result.trees.push({ distribution: dist.name, revision: revision.number, ...tree });
  }
  return result;
}

export const mkrepoCommand: Command = {
  name: 'mkrepo',
  summary: "regenerate a tree's repodata/ or dists/ in place (mkrepo's mode), from a directory or a bucket",
  usage: ['repod mkrepo [--sign] [--force] [--dist <codename>] [--s3-endpoint <url> ...] <dir | s3://bucket/prefix>...'],
  description:
    'For each path: finds Packages/**.rpm (RPM) or pool/**.deb (DEB), reads only what changed since the previous run, and writes repodata/ beside Packages/ ' +
    '(hrefs are the paths as found) or dists/<codename>/ beside pool/ (codename and component from pool/<codename>/<component>/...; Filename is the path as found), ' +
    'so a plain web server on the tree serves a working repository. Entry points (repomd.xml, InRelease, Release) are written last and checked against what they name. ' +
    "repod keeps its state in <path>/.repod/store/ (--storage to put it elsewhere); don't serve .repod/. " +
    '--sign signs with GPG_SIGN_KEY (an armored private key, or a file holding one), else REPOD_SIGNING_KEY, else a key kept in that store (the public key is repodata/repomd.xml.key). ' +
    'MKREPO_DEB_ORIGIN, MKREPO_DEB_LABEL and MKREPO_DEB_DESCRIPTION set the Release fields. --force leaves malformed packages out and lists them in malformed_list.txt beside the entry point.',
  options: {
    sign: { type: 'boolean', help: 'sign the metadata' },
    force: { type: 'boolean', help: 'skip malformed packages (listed in malformed_list.txt) instead of stopping' },
    dist: { type: 'string', arg: 'codename', help: 'DEB: the codename of .deb files not under pool/<codename>/<component>/' },
    storage: { type: 'string', arg: 'spec', help: "repod's own store for the tree (default <path>/.repod/store)" },
    's3-public-read': { type: 'boolean', help: 'S3: make the written metadata publicly readable' },
    ...S3_LOCATION_OPTIONS,
  },
  examples: ['GPG_SIGN_KEY="$(cat key.asc)" repod mkrepo --sign /srv/www/rpmrepo', 'repod mkrepo --s3-endpoint http://127.0.0.1:7480 s3://builds/debrepo'],
  api: [],

  async run(ctx) {
    if (ctx.positionals.length === 0) throw new UsageError('missing path', 'mkrepo');
    const temp = await mkdtemp(join(tmpdir(), 'repod-mkrepo-'));
    await chmod(temp, 0o700);
    const results: TreeResult[] = [];
    try {
      for (const path of ctx.positionals) results.push(await mkrepoOne(ctx, path, temp));
    } catch (error) {
      throw asLocal(error);
    } finally {
      await rm(temp, { recursive: true, force: true });
    }
    if (ctx.out.json) return ctx.out.document(results.length === 1 ? results[0] : results);
    for (const r of results) {
      for (const s of r.scans) printScan(ctx.out, s);
      for (const t of r.trees) {
        ctx.out.line(
          `  wrote ${r.kind === 'rpm' ? 'repodata/' : `dists/${t.distribution}/`} of revision ${t.revision}: ${t.written} files written, ${t.unchanged} unchanged, ${t.deleted} old removed; ${t.verified} verified`,
        );
      }
    }
  },
};
