/**
 * infra/terraform: the IAM policy allows exactly the S3 actions the S3 driver needs. The driver's
 * operations are read from src/storage/s3.ts (the commands it imports from @aws-sdk/client-s3,
 * lib-storage's Upload, presigned GET and PUT), mapped to IAM actions; an operation the table
 * below does not know fails the test, so a driver that starts using a new operation cannot ship
 * with a policy that forbids it. The policy is read twice: statically from main.tf, and, where
 * terraform and the AWS provider are available offline, as terraform itself renders it (plan).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { REPO_ROOT } from '../helpers/paths.ts';

const TF = join(REPO_ROOT, 'infra/terraform');
const DRIVER = join(REPO_ROOT, 'src/storage/s3.ts');

/** The IAM actions each S3 operation needs (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html). */
const IAM_ACTIONS: Record<string, string[]> = {
  GetObject: ['s3:GetObject'],
  HeadObject: ['s3:GetObject'],
  PutObject: ['s3:PutObject'],
  DeleteObject: ['s3:DeleteObject'],
  CopyObject: ['s3:GetObject', 's3:PutObject'],
  ListObjectsV2: ['s3:ListBucket'],
  CreateMultipartUpload: ['s3:PutObject'],
  UploadPart: ['s3:PutObject'],
  UploadPartCopy: ['s3:GetObject', 's3:PutObject'],
  CompleteMultipartUpload: ['s3:PutObject'],
  AbortMultipartUpload: ['s3:AbortMultipartUpload'],
};

/** The S3 operations src/storage/s3.ts performs. */
async function driverOperations(): Promise<string[]> {
  const source = await readFile(DRIVER, 'utf8');
  const ops = new Set<string>();
  const sdkImport = /import\s*\{([^}]*)\}\s*from\s*'@aws-sdk\/client-s3'/.exec(source);
  assert.ok(sdkImport, 's3.ts imports from @aws-sdk/client-s3');
  for (const m of sdkImport[1].matchAll(/\b(\w+)Command\b/g)) ops.add(m[1]);
  // lib-storage's Upload: one PutObject, or a multipart upload (aborted when it fails).
  if (/from '@aws-sdk\/lib-storage'/.test(source))
    for (const op of ['PutObject', 'CreateMultipartUpload', 'UploadPart', 'CompleteMultipartUpload', 'AbortMultipartUpload']) ops.add(op);
  // Presigned URLs carry the signer's permissions: the commands they sign are among the imports above.
  for (const m of source.matchAll(/getSignedUrl\([^,]+,\s*new (\w+)Command/g)) ops.add(m[1]);
  // Any other client the driver might talk through (a raw fetch to S3) must be added here deliberately.
  assert.doesNotMatch(source, /from '(?:aws4fetch|@aws-sdk\/(?!client-s3|lib-storage|s3-request-presigner)[^']+)'/, 'the driver talks to S3 only through the SDK');
  return [...ops].sort();
}

function expectedActions(ops: string[]): string[] {
  const unknown = ops.filter((op) => !(op in IAM_ACTIONS));
  assert.deepEqual(unknown, [], `src/storage/s3.ts uses S3 operations this test does not know: add their IAM actions to IAM_ACTIONS and to infra/terraform/main.tf`);
  return [...new Set(ops.flatMap((op) => IAM_ACTIONS[op]))].sort();
}

/** Allow actions of the aws_iam_policy_document in main.tf, read from the HCL text. */
async function staticPolicyActions(): Promise<string[]> {
  const main = await readFile(join(TF, 'main.tf'), 'utf8');
  const document = /data "aws_iam_policy_document" "repod" \{([\s\S]*?)\n\}/.exec(main);
  assert.ok(document, 'main.tf has data "aws_iam_policy_document" "repod"');
  const actions = new Set<string>();
  for (const statement of document[1].split(/\n\s*statement \{/).slice(1)) {
    const effect = /effect\s*=\s*"(\w+)"/.exec(statement)?.[1] ?? 'Allow';
    if (effect !== 'Allow') continue;
    const list = /\bactions\s*=\s*\[([^\]]*)\]/.exec(statement);
    assert.ok(list, `a statement without actions:\n${statement}`);
    for (const m of list[1].matchAll(/"([^"]+)"/g)) actions.add(m[1]);
  }
  return [...actions].sort();
}

function terraformSkip(): string | false {
  if (spawnSync('terraform', ['version'], { stdio: 'ignore' }).error) return 'terraform is not installed';
  return false;
}

/**
 * A directory with the AWS provider for `terraform init -plugin-dir` (REPOD_TF_PLUGIN_DIR; tests
 * reach no registry), or null: then init uses terraform's own configuration (a mirror in its CLI
 * config, or the registry where there is network).
 */
function pluginDir(): string | null {
  const dir = process.env.REPOD_TF_PLUGIN_DIR;
  return dir && existsSync(join(dir, 'registry.terraform.io/hashicorp/aws')) ? dir : null;
}

describe('infra/terraform', () => {
  it('the IAM policy allows exactly the S3 actions src/storage/s3.ts needs', async () => {
    const ops = await driverOperations();
    assert.ok(ops.includes('PutObject') && ops.includes('ListObjectsV2'), `operations found: ${ops.join(', ')}`);
    assert.deepEqual(await staticPolicyActions(), expectedActions(ops));
  });

  it('a driver operation the policy does not allow fails the check', async () => {
    // What the check above does when s3.ts starts using, e.g., object tagging.
    const ops = [...(await driverOperations()), 'PutObjectTagging'];
    assert.throws(() => expectedActions(ops), /S3 operations this test does not know/);
    const withLegalHold = expectedActions(await driverOperations())
      .concat('s3:PutObjectLegalHold')
      .sort();
    assert.notDeepEqual(await staticPolicyActions(), withLegalHold);
  });

  it('terraform fmt, validate, and the policy terraform renders (plan, offline)', { skip: terraformSkip(), timeout: 180_000 }, async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'repod-tf-'));
    await cp(TF, dir, { recursive: true, filter: (src) => !src.includes('.terraform') && !src.endsWith('.tfstate') });
    const tf = (args: string[]) =>
      spawnSync('terraform', args, { cwd: dir, encoding: 'utf8', env: { ...process.env, TF_IN_AUTOMATION: '1', CHECKPOINT_DISABLE: '1' }, timeout: 120_000 });
    const fmt = tf(['fmt', '-check', '-diff', '.']);
    assert.equal(fmt.status, 0, `terraform fmt:\n${fmt.stdout}${fmt.stderr}`);
    const plugins = pluginDir();
    const init = tf(['init', '-input=false', '-backend=false', ...(plugins ? [`-plugin-dir=${plugins}`] : [])]);
    if (init.status !== 0) {
      t.diagnostic(`terraform init failed (no provider available offline; set REPOD_TF_PLUGIN_DIR): validate and plan skipped\n${init.stderr.slice(0, 500)}`);
      t.skip('the AWS provider is not available');
      return;
    }
    const validate = tf(['validate', '-no-color']);
    assert.equal(validate.status, 0, `terraform validate:\n${validate.stdout}${validate.stderr}`);
    // No AWS account: fake keys and every provider call that would reach AWS switched off.
    await writeFile(
      join(dir, 'offline_override.tf'),
      'provider "aws" {\n  region = "eu-central-1"\n  access_key = "test"\n  secret_key = "test"\n  skip_credentials_validation = true\n  skip_requesting_account_id = true\n  skip_metadata_api_check = true\n  skip_region_validation = true\n}\n',
    );
    const plan = tf(['plan', '-input=false', '-no-color', '-lock=false', '-refresh=false', '-var', 'bucket_name=repod-test', '-var', 'prefix=fleet/a', '-out=plan.bin']);
    assert.equal(plan.status, 0, `terraform plan:\n${plan.stdout}${plan.stderr}`);
    const shown = tf(['show', '-json', 'plan.bin']);
    assert.equal(shown.status, 0, shown.stderr);
    const resources: { address: string; values: { json?: string } }[] = JSON.parse(shown.stdout).prior_state.values.root_module.resources;
    const policy = JSON.parse(resources.find((r) => r.address === 'data.aws_iam_policy_document.repod')!.values.json!);
    const list = (v: string | string[]) => (Array.isArray(v) ? v : [v]);
    const allow = policy.Statement.filter((s: { Effect: string }) => s.Effect === 'Allow');
    assert.deepEqual([...new Set(allow.flatMap((s: { Action: string | string[] }) => list(s.Action)))].sort(), expectedActions(await driverOperations()));
    // Least privilege: objects only under the prefix, listing only of the prefix.
    for (const s of allow) {
      for (const resource of list(s.Resource)) assert.match(resource, /^arn:aws:s3:::repod-test(\/fleet\/a\/\*)?$/, `statement ${s.Sid}: ${resource}`);
      if (list(s.Action).includes('s3:ListBucket')) assert.deepEqual(s.Condition, { StringLike: { 's3:prefix': 'fleet/a/*' } });
      else assert.deepEqual(list(s.Resource), ['arn:aws:s3:::repod-test/fleet/a/*']);
    }
    const planned = JSON.parse(shown.stdout).planned_values.root_module.resources.map((r: { type: string }) => r.type);
    for (const type of ['aws_s3_bucket', 'aws_s3_bucket_public_access_block', 'aws_iam_policy', 'aws_iam_access_key', 'aws_s3_bucket_lifecycle_configuration']) {
      assert.ok(planned.includes(type), `the plan creates a ${type}`);
    }
  });
});
