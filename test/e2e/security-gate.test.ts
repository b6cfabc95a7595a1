/**
 * The security gate end to end, with real components and one real server (`npm start`) shared by
 * every step: clamd with a custom signature, OSV advisories from a directory and pushed through
 * the API, rpmbuild and dpkg-deb packages, real dnf and apt-get that must not see a package held
 * for review until a reviewer accepts the risk, the dependency check of a strict distribution,
 * Repod's CI scripts run verbatim (curl + jq), signed webhooks to a receiver on 127.0.0.1, the
 * audit log and the upload's live steps over SSE. The steps build on each other and run in order.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type AptClient, aptClient } from '../helpers/apt-client.ts';
import { type Clamd, clamdSkipReason, ndbSignature, startClamd } from '../helpers/clamd.ts';
import { dpkgDebBuild } from '../helpers/debs.ts';
import { CVSS_CRITICAL, CVSS_HIGH, osvAdvisory, writeAdvisories } from '../helpers/osv.ts';
import { type DnfClient, dnfClient } from '../helpers/rpm-clients.ts';
import { buildRpms, type RpmSpec } from '../helpers/rpmbuild.ts';
import { hasCommand, run } from '../helpers/run.ts';
import { type RunningServer, startServer, uploadFile } from '../helpers/server.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.ts';

function missing(command: string, hint: string): string | false {
  return hasCommand(command) ? false : `${command} is not installed (${hint})`;
}

const toolsSkip = missing('rpmbuild', 'apt-get install rpm') || missing('dpkg-deb', 'dpkg') || missing('curl', 'apt-get install curl') || missing('jq', 'apt-get install jq');
const clamdSkip = clamdSkipReason();
const dnfSkip = missing('dnf', 'apt-get install dnf');
const aptSkip = missing('apt-get', 'a Debian system');

const MARKER = 'REPOD-E2E-ANTIVIRUS-MARKER-5d1c7e0b9a';
const SIGNATURE = 'Repod.E2E.Marker';
const PASSWORD = 'gate-e2e-password-4821';
const SECRET = 'webhook-secret-e2e-0b3f';
const EPOCH = 1700000000;

interface Packages {
  clean: string;
  infected: string;
  critical: string;
  high: string;
  later: string;
  needy: string;
  provider: string;
  consumer: string;
  streamed: string;
  promoted: string;
  cleanDeb: string;
  infectedDeb: string;
  highDeb: string;
}

async function buildPackages(out: string): Promise<Packages> {
  const rpm = (name: string, extra: Partial<RpmSpec> = {}): RpmSpec => ({
    name,
    version: '1.0',
    release: '1',
    arch: 'noarch',
    autoReqProv: false,
    sourceDateEpoch: EPOCH,
    files: [{ path: `/usr/share/${name}/README`, content: `${name} 1.0\n` }],
    ...extra,
  });
  const [clean, infected, critical, high, later, needy, provider, consumer, streamed, promoted] = await buildRpms(
    [
      rpm('repod-clean'),
      rpm('repod-infected', { files: [{ path: '/usr/share/repod-infected/payload.txt', content: `harmless text, then ${MARKER}, then more text\n` }] }),
      rpm('repod-crit'),
      rpm('repod-high'),
      rpm('repod-later'),
      rpm('repod-needy', { requires: ['repod-capability-nobody-provides'] }),
      rpm('repod-provider', { provides: ['repod-provided-feature = 1.0'] }),
      rpm('repod-consumer', { requires: ['repod-provided-feature >= 1.0'] }),
      rpm('repod-streamed'),
      rpm('repod-promoted'),
    ],
    out,
    { concurrency: 2 },
  );
  const deb = (name: string, files: Array<{ path: string; content: string }>, fields: Array<[string, string]> = []) =>
    dpkgDebBuild({ name, version: '1.0-1', arch: 'all', files, fields }, out, { compression: 'xz' });
  return {
    clean: clean!,
    infected: infected!,
    critical: critical!,
    high: high!,
    later: later!,
    needy: needy!,
    provider: provider!,
    consumer: consumer!,
    streamed: streamed!,
    promoted: promoted!,
    cleanDeb: deb('repod-cleandeb', [{ path: 'usr/share/repod-cleandeb/README', content: 'clean\n' }]),
    infectedDeb: deb('repod-infdeb', [{ path: 'usr/share/repod-infdeb/payload.txt', content: `text ${MARKER} text\n` }]),
    // Debian advisories name the source package: this binary is matched as repod-hsrc 1.0-1.
    highDeb: deb('repod-hbin', [{ path: 'usr/share/repod-hbin/README', content: 'held then accepted\n' }], [['Source', 'repod-hsrc (1.0-1)']]),
  };
}

interface ScriptResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a bash script as a CI job does: its own environment, its exit code kept, never thrown. */
function bashScript(script: string, env: Record<string, string>, cwd: string): Promise<ScriptResult> {
  return new Promise((resolve) => {
    execFile('bash', ['-c', script], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, cwd, timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 255) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

describe('security gate end to end (clamd, OSV advisories, dnf, apt, CI scripts, webhooks, audit)', { skip: toolsSkip }, () => {
  let work: string;
  let pkgs: Packages;
  let clamd: Clamd | undefined;
  let server: RunningServer;
  let receiver: WebhookReceiver;
  let auth: { authorization: string };
  let dnf: DnfClient | undefined;
  let apt: AptClient | undefined;

  const api = async (method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> => {
    const response = await fetch(`${server.url}${path}`, {
      method,
      headers: { ...auth, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {}
    return { status: response.status, body: parsed };
  };
  const revisionOf = async (dist: string): Promise<number | null> => {
    const { body } = await api('GET', '/api/v1/distributions');
    return body.distributions.find((d: { name: string }) => d.name === dist)?.revision?.number ?? null;
  };
  const rpmIndex = async (dist: string) => {
    const repomd = await (await fetch(`${server.url}/repos/${dist}/x86_64/repodata/repomd.xml`)).text();
    const href = /href="(repodata\/[^"]+-primary\.xml\.gz)"/.exec(repomd)?.[1];
    if (!href) return '';
    const { gunzipSync } = await import('node:zlib');
    return gunzipSync(Buffer.from(await (await fetch(`${server.url}/repos/${dist}/x86_64/${href}`)).arrayBuffer())).toString();
  };
  /** Whether the file store holds the bytes of `file` in its pool (a refused package must leave nothing there). */
  const inPool = async (file: string) => {
    const sha = createHash('sha256')
      .update(await readFile(file))
      .digest('hex');
    return existsSync(join(server.storage.replace(/^file:/, ''), 'pool/sha256', sha.slice(0, 2), sha));
  };
  const aptIndex = async () => (await fetch(`${server.url}/repos/dists/bookworm/main/binary-amd64/Packages`)).text();
  const curlEnv = () => ({ REPOD_URL: server.url });

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'repod-e2e-gate-'));
    pkgs = await buildPackages(join(work, 'packages'));
    if (!clamdSkip) clamd = await startClamd({ ndb: ndbSignature(SIGNATURE, MARKER) });

    // Advisories present when the server starts, read from a directory (REPOD_ADVISORIES=<dir>).
    const advisories = join(work, 'advisories');
    await writeAdvisories(advisories, [
      // Critical by its CVSS 3.1 vector (9.8), fixed in a version above the one uploaded.
      { id: 'RLSA-E2E-0001', ecosystem: 'Rocky Linux:9', name: 'repod-crit', fixed: '1.0-2', cvss: CVSS_CRITICAL, aliases: ['CVE-2099-0001'] },
      // High by the distribution's own rating word (Rocky rates "Important").
      { id: 'RLSA-E2E-0002', ecosystem: 'Rocky Linux:9', name: 'repod-high', fixed: '1.0-2', rating: 'Important', aliases: ['CVE-2099-0002'] },
      // Debian names the source package; the uploaded binary is repod-hbin from source repod-hsrc.
      { id: 'DSA-E2E-0003', ecosystem: 'Debian:12', name: 'repod-hsrc', fixed: '1.0-2', cvss: CVSS_HIGH, aliases: ['CVE-2099-0003'] },
    ]);

    const distributions = join(work, 'distributions.json');
    await writeFile(
      distributions,
      JSON.stringify({
        distributions: [
          { kind: 'rpm', name: 'rocky9', architectures: ['x86_64'], security: { ecosystem: 'Rocky Linux:9' } },
          { kind: 'apt', name: 'bookworm', suite: 'stable', components: ['main'], architectures: ['amd64', 'arm64'], security: { ecosystem: 'Debian:12' } },
          { kind: 'rpm', name: 'strict9', architectures: ['x86_64'], security: { policy: { dependencies: 'block' } } },
          { kind: 'rpm', name: 'promo9', architectures: ['x86_64'], security: { ecosystem: 'Rocky Linux:9' } },
        ],
      }),
    );

    receiver = await startWebhookReceiver(SECRET);
    server = await startServer({
      REPOD_DISTRIBUTIONS: distributions,
      REPOD_ADVISORIES: advisories,
      REPOD_ADMIN_PASSWORD: PASSWORD,
      REPOD_OUTBOUND_ALLOWED_HOSTS: '127.0.0.1',
      REPOD_WEBHOOK_RETRY_BASE_MS: '100',
      ...(clamd ? { REPOD_CLAMD: clamd.spec, REPOD_CLAMD_TIMEOUT_MS: '10000' } : {}),
    });
    auth = { authorization: `Bearer ${server.adminToken}` };
    const hook = await api('POST', '/api/v1/webhooks', { url: receiver.url, events: ['*'], secret: SECRET });
    assert.equal(hook.status, 201, JSON.stringify(hook.body));
    assert.equal(hook.body.secret, undefined, 'the secret never comes back');
  });

  after(async () => {
    await server?.stop();
    if (server?.storage.startsWith('file:')) await rm(server.storage.slice('file:'.length), { recursive: true, force: true });
    await receiver?.close();
    await clamd?.stop();
    if (work) await rm(work, { recursive: true, force: true });
    for (const dir of [dnf?.dir, apt?.dir]) if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('loaded the advisory directory at start', async () => {
    const { status, body } = await api('GET', '/api/v1/security/advisories');
    assert.equal(status, 200, JSON.stringify(body));
    assert.equal(body.advisories, 3, JSON.stringify(body));
  });

  it('ClamAV: an RPM and a .deb carrying the signature are refused, nothing is published; clean ones pass', { skip: clamdSkip }, async () => {
    const rockyBefore = await revisionOf('rocky9');
    const bookwormBefore = await revisionOf('bookworm');
    for (const [dist, file, name] of [
      ['rocky9', pkgs.infected, 'repod-infected'],
      ['bookworm', pkgs.infectedDeb, 'repod-infdeb'],
    ] as const) {
      const { status, body } = await uploadFile(server, dist, file);
      assert.equal(status, 422, JSON.stringify(body));
      assert.equal(body.status, 'rejected');
      assert.match(body.message, new RegExp(`${SIGNATURE.replace(/\./g, '\\.')}\\.UNOFFICIAL`), body.message);
      assert.equal(body.pipeline.antivirus, 'infected', JSON.stringify(body.pipeline));
      const step = body.validation.steps.find((s: { name: string }) => s.name === 'antivirus');
      assert.equal(step.action, 'block');
      assert.equal(step.detail.signature, `${SIGNATURE}.UNOFFICIAL`);
      assert.ok(!(dist === 'rocky9' ? await rpmIndex(dist) : await aptIndex()).includes(name), `${name} is not in the index`);
      assert.equal(await inPool(file), false, `${name} left nothing in the pool`);
    }
    assert.equal(await revisionOf('rocky9'), rockyBefore, 'no new rocky9 revision');
    assert.equal(await revisionOf('bookworm'), bookwormBefore, 'no new bookworm revision');

    for (const [dist, file] of [
      ['rocky9', pkgs.clean],
      ['bookworm', pkgs.cleanDeb],
    ] as const) {
      const { status, body } = await uploadFile(server, dist, file);
      assert.equal(status, 201, JSON.stringify(body));
      assert.equal(body.status, 'published');
      assert.equal(body.pipeline.antivirus, 'clean', JSON.stringify(body.pipeline));
    }
    assert.match(await rpmIndex('rocky9'), /<name>repod-clean<\/name>/);
    assert.equal(await inPool(pkgs.clean), true, 'a published package is in the pool (the check above can see one)');
    assert.match(await aptIndex(), /^Package: repod-cleandeb$/m);
  });

  it('CVE: a Critical advisory (CVSS 9.8) refuses the RPM it affects', async () => {
    const revision = await revisionOf('rocky9');
    const { status, body } = await uploadFile(server, 'rocky9', pkgs.critical);
    assert.equal(status, 422, JSON.stringify(body));
    assert.equal(body.status, 'rejected');
    assert.match(body.message, /RLSA-E2E-0001 \(critical\)/);
    assert.equal(body.pipeline.cve_scan, 'blocked');
    const cve = body.validation.steps.find((s: { name: string }) => s.name === 'cve');
    assert.equal(cve.detail.findings[0].severity, 'critical');
    assert.equal(cve.detail.findings[0].cvss, 9.8);
    assert.equal(await revisionOf('rocky9'), revision);
    assert.doesNotMatch(await rpmIndex('rocky9'), /<name>repod-crit<\/name>/);
    assert.equal(await inPool(pkgs.critical), false, 'a refused package leaves nothing in the pool');
  });

  it('CVE: High advisories hold an RPM and a .deb (by its Source) for review: 202 pending_review, listed in the review queue', async () => {
    const rpm = await uploadFile(server, 'rocky9', pkgs.high);
    assert.equal(rpm.status, 202, JSON.stringify(rpm.body));
    assert.equal(rpm.body.status, 'pending_review');
    const deb = await uploadFile(server, 'bookworm', pkgs.highDeb);
    assert.equal(deb.status, 202, JSON.stringify(deb.body));
    assert.equal(deb.body.status, 'pending_review');

    const { status, body } = await api('GET', '/api/v1/security/review-queue');
    assert.equal(status, 200, JSON.stringify(body));
    const item = (name: string) => body.items.find((i: { package: string }) => i.package === name);
    assert.equal(item('repod-high')?.distribution, 'rocky9', JSON.stringify(body));
    assert.equal(item('repod-hbin')?.distribution, 'bookworm', JSON.stringify(body));
    assert.match(JSON.stringify(item('repod-high').findings), /RLSA-E2E-0002/);
    assert.match(JSON.stringify(item('repod-hbin').findings), /DSA-E2E-0003/);
    assert.doesNotMatch(await rpmIndex('rocky9'), /<name>repod-high<\/name>/);
    assert.doesNotMatch(await aptIndex(), /^Package: repod-hbin$/m);
  });

  it('real dnf does not see the RPM held for review', { skip: dnfSkip }, async () => {
    dnf = await dnfClient(`${server.url}/repos/rocky9/x86_64/`, { gpgkeys: [`${server.url}/repos/gpg.key`], gpgcheck: false });
    await assert.rejects(dnf.dnf(['install', 'repod-high']), /No match for argument: repod-high/);
  });

  it('real apt-get does not see the .deb held for review', { skip: aptSkip }, async () => {
    apt = await aptClient({ url: `${server.url}/repos`, codename: 'bookworm', keyArmored: await (await fetch(`${server.url}/repos/gpg.key`)).text() });
    await apt.aptGet(['update']);
    await assert.rejects(apt.aptGet(['install', 'repod-hbin']), /Unable to locate package repod-hbin/);
  });

  it('accept_risk publishes what was held', async () => {
    for (const [name, dist] of [
      ['repod-high', 'rocky9'],
      ['repod-hbin', 'bookworm'],
    ]) {
      const { status, body } = await api('POST', `/api/v1/security/packages/${name}/1.0-1/decide`, { action: 'accept_risk', justification: `e2e: ${name} is not exposed` });
      assert.equal(status, 200, JSON.stringify(body));
      assert.equal(body.status, 'decided');
      assert.equal(body.published[0]?.status, 'published', JSON.stringify(body));
      assert.equal(body.packages[0].distribution, dist);
    }
    assert.match(await rpmIndex('rocky9'), /<name>repod-high<\/name>/);
    assert.match(await aptIndex(), /^Package: repod-hbin$/m);
    const queue = await api('GET', '/api/v1/security/review-queue');
    assert.ok(!queue.body.items.some((i: { package: string }) => i.package === 'repod-high' || i.package === 'repod-hbin'), JSON.stringify(queue.body));
  });

  it('real dnf installs the accepted RPM', { skip: dnfSkip }, async () => {
    dnf ??= await dnfClient(`${server.url}/repos/rocky9/x86_64/`, { gpgkeys: [`${server.url}/repos/gpg.key`], gpgcheck: false });
    await dnf.dnf(['install', '--refresh', 'repod-high']);
    assert.equal(await readFile(join(dnf.root, 'usr/share/repod-high/README'), 'utf8'), 'repod-high 1.0\n');
  });

  it('real apt-get installs the accepted .deb', { skip: aptSkip }, async () => {
    apt ??= await aptClient({ url: `${server.url}/repos`, codename: 'bookworm', keyArmored: await (await fetch(`${server.url}/repos/gpg.key`)).text() });
    await apt.aptGet(['update']);
    await apt.aptGet(['install', 'repod-hbin']);
    assert.equal(await readFile(join(apt.root, 'usr/share/repod-hbin/README'), 'utf8'), 'held then accepted\n');
  });

  it('dependencies (strict9, policy block): a requirement nobody provides is refused; one uploaded first satisfies', async () => {
    const revision = await revisionOf('strict9');
    const refused = await uploadFile(server, 'strict9', pkgs.needy);
    assert.equal(refused.status, 422, JSON.stringify(refused.body));
    assert.equal(refused.body.status, 'rejected');
    assert.equal(refused.body.pipeline.dependencies, 'missing');
    assert.match(refused.body.message, /dependencies: .*repod-capability-nobody-provides/);
    assert.equal(await revisionOf('strict9'), revision);

    const consumerFirst = await uploadFile(server, 'strict9', pkgs.consumer);
    assert.equal(consumerFirst.status, 422, `before its provider: ${JSON.stringify(consumerFirst.body)}`);
    const provider = await uploadFile(server, 'strict9', pkgs.provider);
    assert.equal(provider.status, 201, JSON.stringify(provider.body));
    const consumer = await uploadFile(server, 'strict9', pkgs.consumer);
    assert.equal(consumer.status, 201, JSON.stringify(consumer.body));
    assert.equal(consumer.body.pipeline.dependencies, 'satisfied');
  });

  const streamUpload = async (file: string, dist: string) => {
    const out = await run('curl', [
      '-sN',
      '-X',
      'POST',
      `${server.url}/api/v1/upload/stream`,
      '-H',
      `Authorization: Bearer ${server.adminToken}`,
      '-F',
      `file=@${file}`,
      '-F',
      `distribution=${dist}`,
    ]);
    const events = out
      .split(/\r?\n\r?\n/)
      .filter((block) => block.trim())
      .map((block) => ({
        event: /^event: (.*)$/m.exec(block)?.[1],
        data: JSON.parse(
          block
            .split(/\r?\n/)
            .filter((l) => l.startsWith('data: '))
            .map((l) => l.slice(6))
            .join('\n'),
        ),
      }));
    return { out, events };
  };

  it('POST /api/v1/upload/stream (curl -N) sends each step as it ends, then the normal answer', async () => {
    const { out, events } = await streamUpload(pkgs.streamed, 'rocky9');
    const steps = events.filter((e) => e.event === 'step');
    assert.deepEqual(
      steps.map((s) => s.data.name),
      ['format', 'provenance', 'antivirus', 'cve', 'gpg', 'dependencies'],
      out,
    );
    assert.ok(
      steps.every((s) => s.data.package && typeof s.data.passed === 'boolean' && typeof s.data.message === 'string'),
      out,
    );
    const last = events[events.length - 1]!;
    assert.equal(last.event, 'result', out);
    assert.equal(last.data.status, 'published', out);
    assert.equal(last.data.http_status, 201);
    assert.equal(last.data.distribution, 'rocky9');
    assert.equal(last.data.pipeline.cve_scan, 'no_findings');
    if (!clamdSkip) assert.equal(last.data.pipeline.antivirus, 'clean');
    assert.match(await rpmIndex('rocky9'), /<name>repod-streamed<\/name>/);

    // A refusal streams its steps too and ends with the 422 answer as the result.
    const refused = await streamUpload(pkgs.critical, 'rocky9');
    const result = refused.events[refused.events.length - 1]!;
    assert.equal(result.event, 'result', refused.out);
    assert.deepEqual([result.data.status, result.data.http_status, result.data.pipeline?.cve_scan], ['rejected', 422, 'blocked'], refused.out);
    assert.deepEqual(
      refused.events.filter((e) => e.event === 'step').map((e) => [e.data.name, e.data.action]),
      [
        ['format', 'allow'],
        ['provenance', 'allow'],
        ['antivirus', 'allow'],
        ['cve', 'block'],
        ['gpg', 'allow'],
        ['dependencies', 'allow'],
      ],
      refused.out,
    );
  });

  it("Repod's CI scripts run verbatim: sign in and upload, then the gate passes before and fails after a Critical advisory; the report and new_findings show it", async () => {
    const signIn = `TOKEN=$(curl -s -X POST "$REPOD_URL/api/v1/auth/token" -H 'Content-Type: application/json' -d '{"username":"admin","password":"${PASSWORD}"}' | jq -r .access_token)`;
    const upload = ['set -euo pipefail', signIn, 'curl -s -X POST "$REPOD_URL/api/v1/upload" -H "Authorization: Bearer $TOKEN" -F "file=@pkg.rpm" -F "distribution=rocky9"'].join(
      '\n',
    );
    const gate = [
      'set -uo pipefail',
      signIn,
      'CRITICAL=$(curl -s -H "Authorization: Bearer $TOKEN" "$REPOD_URL/api/v1/security/vulnerabilities?distribution=rocky9" | jq \'[.vulnerabilities.items[] | select(.severity == "Critical")] | length\')',
      'TOTAL=$(curl -s -H "Authorization: Bearer $TOKEN" "$REPOD_URL/api/v1/security/vulnerabilities?distribution=rocky9" | jq \'.vulnerabilities.total\')',
      'echo "critical=$CRITICAL total=$TOTAL"',
      'if [ "$CRITICAL" -gt 0 ]; then',
      '  echo "Deployment blocked: $CRITICAL critical vulnerabilities" >&2',
      '  exit 1',
      'fi',
    ].join('\n');
    const job = await mkdtemp(join(work, 'ci-'));
    await copyFile(pkgs.later, join(job, 'pkg.rpm'));

    const uploaded = await bashScript(upload, curlEnv(), job);
    assert.equal(uploaded.code, 0, uploaded.stderr);
    const answer = JSON.parse(uploaded.stdout);
    assert.equal(answer.status, 'published', uploaded.stdout);
    assert.equal(answer.package ?? answer.name, 'repod-later', uploaded.stdout);

    const passing = await bashScript(gate, curlEnv(), job);
    assert.equal(passing.code, 0, `${passing.stdout}${passing.stderr}`);
    // repod-high was published with an accepted High finding: counted in the total, not Critical.
    assert.match(passing.stdout, /^critical=0 total=1$/m, passing.stdout);

    const pushed = await api(
      'POST',
      '/api/v1/security/advisories',
      osvAdvisory({ id: 'RLSA-E2E-0004', ecosystem: 'Rocky Linux:9', name: 'repod-later', fixed: '1.1-1', rating: 'Critical', aliases: ['CVE-2099-0004'] }),
    );
    assert.equal(pushed.status, 201, JSON.stringify(pushed.body));
    assert.equal(pushed.body.loaded, 1);
    // The push matched every published package again and names the finding it caused.
    assert.deepEqual(
      pushed.body.new_findings_by_distribution.rocky9
        .filter((f: { id: string }) => f.id === 'RLSA-E2E-0004')
        .map((f: { package: string; severity: string }) => [f.package, f.severity]),
      [['repod-later', 'critical']],
      JSON.stringify(pushed.body),
    );

    const failing = await bashScript(gate, curlEnv(), job);
    assert.equal(failing.code, 1, `${failing.stdout}${failing.stderr}`);
    assert.match(failing.stdout, /^critical=1 total=2$/m, failing.stdout);
    assert.match(failing.stderr, /Deployment blocked: 1 critical/);

    const report = await api('GET', '/api/v1/security/vulnerabilities?distribution=rocky9');
    assert.equal(report.status, 200, JSON.stringify(report.body));
    const { summary, packages_scanned, vulnerabilities } = report.body;
    assert.equal(summary.critical, 1, JSON.stringify(summary));
    assert.equal(summary.high, 1, JSON.stringify(summary));
    assert.ok(packages_scanned >= 4, `packages_scanned ${packages_scanned}`);
    assert.deepEqual(
      { total: vulnerabilities.total, page: vulnerabilities.page, per_page: vulnerabilities.per_page, pages: vulnerabilities.pages },
      { total: 2, page: 1, per_page: 50, pages: 1 },
    );
    assert.deepEqual(
      vulnerabilities.items.map((i: { id: string; severity: string }) => [i.id, i.severity]),
      [
        ['RLSA-E2E-0004', 'Critical'],
        ['RLSA-E2E-0002', 'High'],
      ],
    );
    const critical = vulnerabilities.items[0];
    assert.deepEqual(critical.aliases, ['CVE-2099-0004']);
    assert.equal(critical.fix_state, 'fixed');
    assert.deepEqual(critical.fix_versions, ['1.1-1']);
    assert.deepEqual(
      critical.affected_packages.map((p: { name: string; version: string; distribution: string }) => [p.name, p.version, p.distribution]),
      [['repod-later', '1.0-1', 'rocky9']],
    );
    const paged = await api('GET', '/api/v1/security/vulnerabilities?distribution=rocky9&per_page=1&page=2');
    assert.deepEqual([paged.body.vulnerabilities.items.length, paged.body.vulnerabilities.page, paged.body.vulnerabilities.pages], [1, 2, 2]);

    const announced = await receiver.waitFor((d) => d.event === 'new_findings' && d.body.data.distribution === 'rocky9');
    assert.deepEqual(
      announced.body.data.findings
        .filter((f: { id: string }) => f.id === 'RLSA-E2E-0004')
        .map((f: { package: string; severity: string; version: string }) => [f.package, f.version, f.severity]),
      [['repod-later', '1.0-1', 'critical']],
      announced.raw,
    );
    assert.ok(announced.signatureValid);
  });

  it('promotion runs the gate of the target: the flagged package is refused, a clean one is promoted', async () => {
    const upload = await uploadFile(server, 'rocky9', pkgs.promoted);
    assert.equal(upload.status, 201, JSON.stringify(upload.body));
    const ok = await api('POST', '/api/v1/distributions/promote', { package: 'repod-promoted', from_dist: 'rocky9', to_dist: 'promo9' });
    assert.ok(ok.status === 200 || ok.status === 201, JSON.stringify(ok.body));
    assert.match(await rpmIndex('promo9'), /<name>repod-promoted<\/name>/);
    const revision = await revisionOf('promo9');
    const refused = await api('POST', '/api/v1/distributions/promote', { package: 'repod-later', from_dist: 'rocky9', to_dist: 'promo9' });
    assert.equal(refused.status, 422, JSON.stringify(refused.body));
    assert.match(JSON.stringify(refused.body), /RLSA-E2E-0004/);
    assert.equal(await revisionOf('promo9'), revision);
  });

  it('webhooks: every delivery is signed with the secret, and published, pending_review, rejected, decided and new_findings arrived', async () => {
    const wanted = ['published', 'pending_review', 'rejected', 'decided', 'new_findings'];
    for (const type of wanted) await receiver.waitFor((d) => d.event === type);
    assert.ok(receiver.deliveries.length >= wanted.length);
    for (const d of receiver.deliveries) {
      assert.ok(d.signatureValid, `signature of ${d.event}: ${String(d.headers['x-repod-signature-256'])}`);
      assert.equal(d.body.event, d.event);
    }
    const held = receiver.deliveries.find((d) => d.event === 'pending_review' && JSON.stringify(d.body.data).includes('repod-high'));
    assert.ok(held, 'pending_review names repod-high');
    const rejected = receiver.deliveries.filter((d) => d.event === 'rejected').map((d) => d.raw);
    assert.ok(
      rejected.some((r) => r.includes('repod-crit')),
      rejected.join('\n'),
    );
    const decided = receiver.deliveries.filter((d) => d.event === 'decided').map((d) => d.body.data);
    assert.ok(decided.some((d) => d.action === 'accept_risk' && JSON.stringify(d.packages).includes('repod-hbin')));
    const published = receiver.deliveries.filter((d) => d.event === 'published').map((d) => JSON.stringify(d.body.data));
    for (const name of ['repod-high', 'repod-hbin', 'repod-later'])
      assert.ok(
        published.some((p) => p.includes(name)),
        `published ${name}`,
      );
  });

  it('audit: every write above is listed with its actor, address and outcome', async () => {
    type AuditEvent = { actor: string; action: string; status: number; address: string; target?: string };
    const needed: Array<[string, (e: AuditEvent) => boolean]> = [
      ['webhook created', (e) => e.action === 'POST /api/v1/webhooks' && e.status === 201],
      ['upload published', (e) => e.action.startsWith('POST /api/v1/upload') && e.status === 201],
      ['upload held', (e) => e.action.startsWith('POST /api/v1/upload') && e.status === 202],
      ['upload refused', (e) => e.action.startsWith('POST /api/v1/upload') && e.status === 422],
      ['live upload', (e) => e.action === 'POST /api/v1/upload/stream'],
      ['decide', (e) => e.action === 'POST /api/v1/security/packages/:name/:version/decide' && e.status === 200 && /repod-high/.test(e.target ?? '')],
      ['advisory push', (e) => e.action === 'POST /api/v1/security/advisories' && e.status === 201],
      ['sign-in', (e) => e.action === 'POST /api/v1/auth/token' && e.status === 200],
      ['promotion', (e) => e.action === 'POST /api/v1/distributions/promote' && e.status === 422],
    ];
    let events: AuditEvent[] = [];
    const deadline = Date.now() + 10_000;
    // Events are written once the answer has gone out: give the last ones a moment.
    for (;;) {
      const { status, body } = await api('GET', '/api/v1/audit?limit=1000');
      assert.equal(status, 200, JSON.stringify(body));
      events = body.events;
      if (needed.every(([, match]) => events.some(match)) || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    for (const [what, match] of needed) {
      const event = events.find(match);
      assert.ok(event, `${what} is audited; got:\n${events.map((e) => `${e.action} ${e.status} ${e.actor}`).join('\n')}`);
      assert.equal(event.actor, 'admin', `${what}: ${JSON.stringify(event)}`);
      assert.match(event.address, /^(::ffff:)?127\.0\.0\.1$/, `${what}: ${JSON.stringify(event)}`);
    }
    const uploads = events.filter((e) => e.action.startsWith('POST /api/v1/upload'));
    // 11 uploads above (15 with clamd): each one is an event, whatever its outcome.
    assert.ok(uploads.length >= (clamdSkip ? 11 : 15), `every upload is audited (${uploads.length})`);
  });
});
