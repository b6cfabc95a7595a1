/**
 * A throwaway Ceph RADOS Gateway (a real S3 server) for tests, started with scripts/rgw-up.sh.
 *
 *   const rgw = await startRgw();          // ~2 s; a bucket `rgw.bucket` is created
 *   ... rgw.endpoint, rgw.accessKey, rgw.secretKey, rgw.region, await rgw.createBucket('other')
 *   await rgw.stop();
 *
 * Tests skip only when ceph is not installed: `test('x', { skip: rgwSkipReason() }, ...)`.
 */
import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { CreateBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { createS3Client } from '../../src/storage/s3.ts';
import { REPO_ROOT } from './paths.ts';

export interface Rgw {
  endpoint: string;
  accessKey: string;
  secretKey: string;
  region: string;
  /** A bucket created at start. */
  bucket: string;
  /** The cluster's work directory (logs under log/). */
  dir: string;
  /** Env for openStore / the server: REPOD_S3_ENDPOINT, AWS_*. */
  env: Record<string, string>;
  /** A client for this gateway (path style, the driver's settings). */
  client(): S3Client;
  /** Creates a bucket (a unique name when none is given) and returns its name. */
  createBucket(name?: string): Promise<string>;
  stop(): Promise<void>;
}

const BINARIES = ['ceph-mon', 'ceph-osd', 'radosgw', 'radosgw-admin', 'monmaptool', 'ceph'];
const SCRIPT = join(REPO_ROOT, 'scripts', 'rgw-up.sh');

function onPath(binary: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => {
    try {
      accessSync(join(dir, binary), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** Whether ceph (mon, osd, radosgw) is installed. */
export function cephInstalled(): boolean {
  return BINARIES.every(onPath);
}

/** false when RGW tests can run; otherwise the reason to skip them. */
export function rgwSkipReason(): string | false {
  const missing = BINARIES.filter((b) => !onPath(b));
  return missing.length === 0 ? false : `ceph is not installed (missing ${missing.join(', ')}; apt-get install ceph-mon ceph-osd radosgw)`;
}

let bucketCounter = 0;

export async function startRgw(options: { bucket?: string; env?: Record<string, string> } = {}): Promise<Rgw> {
  const skip = rgwSkipReason();
  if (skip) throw new Error(`startRgw: ${skip}`);
  const { stdout, stderr, code } = await new Promise<{ stdout: string; stderr: string; code: number | null }>((resolve, reject) => {
    const child = spawn('bash', [SCRIPT], { env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (c) => resolve({ stdout: out, stderr: err, code: c }));
  });
  if (code !== 0) throw new Error(`scripts/rgw-up.sh failed (exit ${code}):\n${stderr}`);
  const vars: Record<string, string> = {};
  for (const m of stdout.matchAll(/^export (\w+)='([^']*)'$/gm)) vars[m[1]] = m[2];
  const dir = vars.RGW_DIR;
  if (!dir || !vars.S3_ENDPOINT) throw new Error(`scripts/rgw-up.sh printed no RGW_DIR/S3_ENDPOINT:\n${stdout}\n${stderr}`);

  let stopped = false;
  const stopSync = () => {
    if (!stopped) spawnSync('bash', [SCRIPT, 'stop', dir], { stdio: 'ignore' });
  };
  process.once('exit', stopSync); // a test process that dies without stop() does not leave daemons behind

  const endpoint = vars.S3_ENDPOINT;
  const accessKey = vars.AWS_ACCESS_KEY_ID;
  const secretKey = vars.AWS_SECRET_ACCESS_KEY;
  const region = vars.AWS_REGION ?? 'us-east-1';
  let client: S3Client | undefined;
  const getClient = () => (client ??= createS3Client({ endpoint, region, credentials: { accessKeyId: accessKey, secretAccessKey: secretKey }, forcePathStyle: true }));
  const createBucket = async (name = `test-${process.pid}-${++bucketCounter}`) => {
    await getClient().send(new CreateBucketCommand({ Bucket: name }));
    return name;
  };
  const rgw: Rgw = {
    endpoint,
    accessKey,
    secretKey,
    region,
    bucket: '',
    dir,
    env: { REPOD_S3_ENDPOINT: endpoint, AWS_ACCESS_KEY_ID: accessKey, AWS_SECRET_ACCESS_KEY: secretKey, AWS_REGION: region },
    client: getClient,
    createBucket,
    async stop() {
      if (stopped) return;
      client?.destroy();
      await new Promise<void>((resolve) => spawn('bash', [SCRIPT, 'stop', dir], { stdio: 'ignore' }).on('close', () => resolve()));
      stopped = true;
      process.removeListener('exit', stopSync);
    },
  };
  try {
    rgw.bucket = await createBucket(options.bucket ?? 'repod-test');
  } catch (error) {
    await rgw.stop();
    throw error;
  }
  return rgw;
}
