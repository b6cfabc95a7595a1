import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { splitKey } from './keys.ts';

/**
 * The bucket layout: every object key repod writes is built here, so the storage format contract
 * (revisions/README.md) has one implementation. Bump FORMAT_VERSION only with a reader for the old one.
 */
export const FORMAT_VERSION = 1;

/** Where the advisory feed lives unless configured otherwise. */
export const ADVISORIES_PREFIX = 'security/advisories/';

const shard = (sha256: string) => `${sha256.slice(0, 2)}/${sha256}`;

/**
 * The file-name part that names an RPM's arch, version and release among the copies of its name:
 * each field URI-encoded (which escapes ','), joined and ended by ','. A part so long that a copy's
 * file name would pass a file system's 255-byte limit becomes the sha256 of it ('~' + hex: an
 * encoded arch never holds 64 hex digits after a '~' and no ',').
 */
const copyPart = (arch: string, version: string, release: string) => {
  const part = `${[arch, version, release].map(encodeURIComponent).join(',')},`;
  return part.length <= 160 ? part : `~${bytesToHex(nobleSha256(new TextEncoder().encode(part)))},`;
};

export const layout = {
  /** Marker written once per store: which format version created it. */
  formatMarker: () => 'repod-format.json',
  /** Package bytes, content-addressed. Stored once whatever points at them. */
  pool: (sha256: string) => `pool/sha256/${shard(sha256)}`,
  /** Parsed package record (the neutral model + file facts), keyed by the package's sha256. */
  packageRecord: (sha256: string) => `packages/${shard(sha256)}.json`,
  /** What signature verification found when the package was uploaded (replaced on each upload). */
  packageSignature: (sha256: string) => `packages/${shard(sha256)}.signature.json`,
  /**
   * Signed copies of one RPM (Koji's sigs), by its index key (name, arch, version, release): one
   * create-only object per copy, `packages/copies/<name>/<arch>,<version>,<release>,<copy sha256>.json`;
   * without `copy`, the prefix listing every copy of that NEVRA (signing/signed-copies.ts). One
   * directory per name, not five per NEVRA: every directory a file store makes is an inode.
   */
  signedCopy: (key: string, copy?: { sha256: string }) => {
    const [name, arch, version, release] = splitKey(key);
    return `packages/copies/${encodeURIComponent(name)}/${copyPart(arch, version, release)}${copy ? `${copy.sha256}.json` : ''}`;
  },
  /** Where stores written before the flat form keep their copies: `<name>/<arch>/<version>/<release>/<identity>/<copy sha256>.json`; read, never written. */
  legacySignedCopies: (key: string) => `packages/copies/${splitKey(key).map(encodeURIComponent).join('/')}/`,
  /** Pre-compressed metadata fragments of one package (segmented container). */
  fragment: (sha256: string) => `fragments/${shard(sha256)}.seg`,
  /** An APT package's segments depend on its component (its pool path is in the stanza). */
  aptFragment: (sha256: string, component: string) => `fragments/${shard(sha256)}.${component}.seg`,
  /** Which file an APT pool path serves; claimed create-only so a path never changes content. */
  aptPoolPath: (path: string) => `apt-pool/${path}.json`,
  /** A chunk of a revision's package index (segmented container), content-addressed. */
  chunk: (id: string) => `chunks/${shard(id)}.seg`,
  /**
   * Derived from a chunk on first need, collected with its chunk: `xz` (chunk-xz.ts), `provides`
   * (its packages' capabilities, security/dependencies/distribution-provides.ts).
   */
  chunkPart: (id: string, part: 'xz' | 'provides') => `chunks/${shard(id)}.${part}.seg`,
  /** The mutable pointer to a distribution's current revision (advanced by compare-and-swap). */
  ref: (dist: string, name = 'current') => `dists/${dist}/refs/${name}.json`,
  refsPrefix: (dist: string) => `dists/${dist}/refs/`,
  /** An immutable revision object. */
  revision: (dist: string, id: string) => `dists/${dist}/revisions/${id}.json`,
  revisionsPrefix: (dist: string) => `dists/${dist}/revisions/`,
  /** What listings show of a revision (bucket/revision.ts RevisionSummary), written with it. */
  revisionSummary: (dist: string, id: string) => `dists/${dist}/summaries/${id}.json`,
  /** A rendered view of one revision (repomd/Release text, signatures, file recipes). */
  render: (dist: string, revisionId: string, view: string) => `renders/${dist}/${revisionId}/${view}.json`,
  /** A metadata file stored whole (sqlite databases), content-addressed. */
  metadataObject: (sha256: string) => `metadata/${shard(sha256)}`,
  /** Which render produced a content-addressed metadata file (for clients holding older indexes). */
  renderByHash: (dist: string, sha256: string) => `renders/${dist}/by-hash/${shard(sha256)}.json`,
  /** An upload being received; moved to pool/ once complete and valid. */
  upload: (id: string) => `uploads/${id}`,
  uploadsPrefix: () => 'uploads/',
  /** Before the keyring: the one generated signing key. Read once to seed the ring. */
  signingKey: () => 'keys/signing-key.asc',
  /** The metadata signing keys (private keys encrypted when REPOD_KEY_PASSPHRASE is set). */
  keyring: () => 'keys/ring.json',
  /** The distributions every server serves (seeded from the defaults and REPOD_DISTRIBUTIONS, edited by compare-and-swap). */
  distributionsConfig: () => 'config/distributions.json',
  /** Public keys packages may be signed with, besides the keyring's. */
  trustedKey: (fingerprint: string) => `keys/trusted/${fingerprint}.asc`,
  trustedKeysPrefix: () => 'keys/trusted/',
  token: (tokenHash: string) => `auth/tokens/${tokenHash}.json`,
  tokensPrefix: () => 'auth/tokens/',
  user: (name: string) => `auth/users/${name}.json`,
  usersPrefix: () => 'auth/users/',
  bootstrapMarker: () => 'auth/bootstrap.json',
  /** A refresh token (by its sha256): create-only, then marked used once by compare-and-swap; deleted at logout. */
  refreshToken: (tokenHash: string) => `auth/refresh/${tokenHash}.json`,
  refreshTokensPrefix: () => 'auth/refresh/',
  /** Failed sign-ins of one account or client address (by the sha256 of the name), advanced by compare-and-swap. */
  lockout: (scope: 'account' | 'address', nameSha256: string) => `auth/lockout/${scope}/${nameSha256}.json`,
  lockoutPrefix: () => 'auth/lockout/',
  /** One audit event, create-only; the id starts with its compact UTC time, so keys sort as time does. */
  auditEvent: (id: string) => `audit/${id.slice(0, 4)}/${id.slice(4, 6)}/${id.slice(6, 8)}/${id}.json`,
  /** The folder of one UTC day of the audit log. */
  auditDay: (ms: number) => {
    const iso = new Date(ms).toISOString();
    return `audit/${iso.slice(0, 4)}/${iso.slice(5, 7)}/${iso.slice(8, 10)}/`;
  },
  auditPrefix: () => 'audit/',
  /** A package the security gate held for review in one distribution, by the package's sha256. */
  reviewItem: (dist: string, sha256: string) => `security/review/${dist}/${sha256}.json`,
  reviewPrefix: (dist?: string) => (dist ? `security/review/${dist}/` : 'security/review/'),
  /** A reviewer's accept_risk or exception for one version of a package in one distribution (name and version URI-encoded). */
  acceptedVersion: (dist: string, name: string, version: string) => `security/accepted/${dist}/${encodeURIComponent(name)}/${encodeURIComponent(version)}.json`,
  /** The sha256 of every package rejected in review for a distribution (read once a second per server, not per upload). */
  rejectedPackages: (dist: string) => `security/rejected/${dist}.json`,
  /** The findings of a distribution already announced as new_findings events. */
  announcedFindings: (dist: string) => `security/findings/${dist}.json`,
  /** The advisory feed's manifest (segments in order), advanced by compare-and-swap. */
  advisoryManifest: (prefix = ADVISORIES_PREFIX) => `${prefix}manifest.json`,
  /** One push's validated advisories (gzipped JSON array), content-addressed by the sha256 of the JSON. */
  advisorySegment: (sha256: string, prefix = ADVISORIES_PREFIX) => `${prefix}segments/${sha256.slice(0, 2)}/${sha256}.json.gz`,
  advisorySegmentsPrefix: (prefix = ADVISORIES_PREFIX) => `${prefix}segments/`,
  /** One webhook's configuration, its secret included (needed to sign): the bucket is trusted like keys/. */
  webhook: (id: string) => `security/webhooks/hooks/${id}.json`,
  webhooksPrefix: () => 'security/webhooks/hooks/',
  /** One delivery of one event to one webhook, rewritten after each attempt; ids start with their time. */
  webhookDelivery: (hookId: string, deliveryId: string) => `security/webhooks/deliveries/${hookId}/${deliveryId}.json`,
  webhookDeliveriesPrefix: (hookId: string) => `security/webhooks/deliveries/${hookId}/`,
  /** One import source (an upstream APT or RPM repository), by its numeric id. */
  importSource: (id: number) => `import/sources/${id}.json`,
  importSourcesPrefix: () => 'import/sources/',
  /** The last import source id handed out, advanced by compare-and-swap. */
  importSourceCounter: () => 'import/source-counter.json',
  /** A source's current catalog: which segments hold it and what each index was (switched by compare-and-swap). */
  importCatalogPointer: (sourceId: number) => `import/catalog/${sourceId}/current.json`,
  /** One slice of a source's catalog (gzipped NDJSON), written by one sync, create-only. */
  importCatalogSegment: (sourceId: number, jobId: string, n: number) => `import/catalog/${sourceId}/segments/${jobId}/${n}.ndjson.gz`,
  importCatalogSegmentsPrefix: (sourceId: number) => `import/catalog/${sourceId}/segments/`,
  /** The one sync of a source allowed at a time, fleet-wide: create-only, renewed by compare-and-swap, taken over when expired. */
  importSyncLease: (sourceId: number) => `import/leases/${sourceId}.json`,
  /** One sync job with its event log; ids start with their time, so keys sort as time does. */
  importJob: (id: string) => `import/jobs/${id}.json`,
  importJobsPrefix: () => 'import/jobs/',
  /** Asks the server running a job to stop it (it looks at each lease renewal). */
  importJobCancel: (id: string) => `import/job-cancels/${id}.json`,
  /** The newest scheduled-sync time claimed for a source: advanced by compare-and-swap, so one server of a fleet runs it. */
  importLastScheduled: (sourceId: number) => `import/schedule/${sourceId}.json`,
  /** Where a mirror distribution's package downloads from until its bytes are in the pool (rewritten by the syncs that publish it). */
  mirrorOrigin: (sha256: string) => `mirror/origins/${shard(sha256)}.json`,
  /** What a mirror distribution was last published from: the source's index checksums and the filters. */
  mirrorState: (dist: string) => `mirror/state/${dist}.json`,
  /** What the last scan of one location published (`repod scan`/`mkrepo`): object path -> change token, size, sha256, index key. By the location's id (scan/scan-state.ts). */
  scanState: (locationId: string) => `scan/state/${locationId}.json`,
  /** The one scan of a location allowed at a time: create-only, renewed by compare-and-swap, taken over when expired. */
  scanLease: (locationId: string) => `scan/leases/${locationId}.json`,
  /** A compose document of RPM revisions (comps.xml, modules YAML, advisories JSON), content-addressed; revisions name it in `documents`. */
  composeDocument: (sha256: string) => `documents/sha256/${shard(sha256)}`,
};
