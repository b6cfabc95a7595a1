/**
 * Automatic re-export (Koji's tag2distrepo): a real server whose rocky9 is configured with
 * `"export": {"to": DIR}` writes DIR/rocky9/<n>/ and moves DIR/rocky9/latest after each upload
 * and after a rollback, without anyone running `repod export`; a plain nginx serves DIR and real
 * dnf installs from it. A distribution whose target cannot be written still publishes (the
 * failure is only logged).
 */
import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { dnfClient } from '../helpers/rpm-clients.ts';
import { buildRpms } from '../helpers/rpmbuild.ts';
import { hasCommand } from '../helpers/run.ts';
import { type RunningServer, startServer, uploadFile } from '../helpers/server.ts';
import { type StaticNginx, startStaticNginx, staticNginxSkipReason } from '../helpers/static-nginx.ts';

const skip = staticNginxSkipReason() || (!hasCommand('dnf') || !hasCommand('rpmbuild') ? 'dnf and rpmbuild are needed' : false);
const EPOCH = 1700000000;

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('automatic re-export after each change', { skip }, () => {
  let work: string;
  let out: string;
  let server: RunningServer;
  let nginx: StaticNginx;
  let rpms: string[];

  const upload = async (dist: string, file: string) => {
    const { status, body } = await uploadFile(server, dist, file);
    assert.equal(status, 201, JSON.stringify(body));
    return body;
  };
  const current = async (dist: string): Promise<number> => {
    const r = await fetch(`${server.url}/api/v1/distributions`, { headers: { authorization: `Bearer ${server.adminToken}` } });
    const { distributions } = (await r.json()) as { distributions: Array<{ name: string; revision: { number: number } | null }> };
    return distributions.find((d) => d.name === dist)!.revision!.number;
  };
  const logLines = () =>
    server.logs
      .join('')
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  /**
   * Waits until latest/ stands for revision `n` with the repomd.xml the server serves (read again
   * on each try: a server keeps its view of the current revision for a moment).
   */
  const exported = async (dist: string, n: number) => {
    await until(`${dist} revision ${n} exported`, async () => {
      if ((await readlink(join(out, dist, 'latest'))) !== String(n)) return undefined;
      const served = await (await fetch(`${server.url}/repos/${dist}/x86_64/repodata/repomd.xml`)).text();
      return (await readFile(join(out, dist, 'latest/x86_64/repodata/repomd.xml'), 'utf8')) === served ? true : undefined;
    });
    return n;
  };
  const revisionOf = (body: { revision?: { number?: number } }) => body.revision!.number!;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'repod-auto-export-'));
    out = join(work, 'out');
    const blocked = join(work, 'a-file');
    await writeFile(blocked, 'x');
    const config = join(work, 'distributions.json');
    await writeFile(
      config,
      JSON.stringify({
        distributions: [
          { kind: 'rpm', name: 'rocky9', architectures: ['x86_64'], export: { to: out } },
          { kind: 'rpm', name: 'almalinux9', architectures: ['x86_64'], export: { to: join(blocked, 'sub') } },
        ],
      }),
    );
    const app = (version: string) => ({
      name: 'repod-autoapp',
      version,
      arch: 'noarch',
      files: [{ path: '/usr/share/repod-autoapp/version', content: `${version}\n` }],
      sourceDateEpoch: EPOCH,
    });
    rpms = [
      ...(await buildRpms([app('1.0')], join(work, 'v1'))),
      ...(await buildRpms([app('2.0')], join(work, 'v2'))),
      ...(await buildRpms(
        [1, 2, 3].map((n) => ({ name: `repod-autoextra${n}`, version: '1.0', arch: 'noarch', files: [{ path: `/usr/share/repod-autoextra${n}/x` }], sourceDateEpoch: EPOCH })),
        join(work, 'extras'),
      )),
    ];
    await chmod(work, 0o755);
    server = await startServer({ REPOD_DISTRIBUTIONS: config });
    nginx = await startStaticNginx(out);
  });
  after(async () => {
    await nginx?.stop();
    await server?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('an upload is exported with no command run; dnf installs from nginx serving the export; a rollback moves latest too', async () => {
    assert.equal(revisionOf(await upload('rocky9', rpms[0])), 1);
    await exported('rocky9', 1);
    await chmod(out, 0o755);
    const client = await dnfClient(`${nginx.url}/rocky9/latest/x86_64/`, { gpgkeys: [`${nginx.url}/rocky9/latest/x86_64/repodata/repomd.xml.key`], gpgcheck: false });
    try {
      await client.dnf(['install', 'repod-autoapp']);
      assert.equal(await readFile(join(client.root, 'usr/share/repod-autoapp/version'), 'utf8'), '1.0\n');

      // Several publishes at once: the exports coalesce and latest ends on the newest revision.
      const bodies = await Promise.all(rpms.slice(1).map((f) => upload('rocky9', f)));
      const n = Math.max(...bodies.map(revisionOf));
      assert.ok(n >= 2, `revision ${n}`);
      await exported('rocky9', n);
      // --refresh: the export can land within the second of the previous dnf run, and dnf may then
      // take its cache for fresh even with metadata_expire=0.
      await client.dnf(['--refresh', 'upgrade']);
      assert.equal(await readFile(join(client.root, 'usr/share/repod-autoapp/version'), 'utf8'), '2.0\n');

      const rollback = await fetch(`${server.url}/api/v1/distributions/rocky9/rollback`, {
        method: 'POST',
        headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ revision: 1 }),
      });
      assert.equal(rollback.status, 201);
      assert.equal(revisionOf(await rollback.json()), n + 1);
      await exported('rocky9', n + 1);
      const repomd = await readFile(join(out, 'rocky9/latest/x86_64/repodata/repomd.xml'), 'utf8');
      const primary = /href="(repodata\/[0-9a-f]{64}-primary\.xml\.gz)"/.exec(repomd)![1];
      assert.ok((await readFile(join(out, 'rocky9/latest/x86_64', primary))).length > 0);
      await client.dnf(['--refresh', 'distro-sync']);
      assert.equal(await readFile(join(client.root, 'usr/share/repod-autoapp/version'), 'utf8'), '1.0\n', 'the rollback reached the export');
    } finally {
      await rm(client.dir, { recursive: true, force: true });
    }
    const exports = logLines().filter((l) => l.message === 'exported' && l.dist === 'rocky9');
    assert.ok(exports.length >= 3, `${exports.length} exports logged`);
  });

  it('a target that cannot be written does not fail the publish; the failure is logged', async () => {
    await upload('almalinux9', rpms[0]);
    const failed = await until('the export failure in the log', async () => logLines().find((l) => l.message === 'export failed' && l.dist === 'almalinux9'));
    assert.match(String(failed.error), /cannot write to the export directory/);
    assert.equal(await current('almalinux9'), 1);
  });
});
