/**
 * The fleet: three repod processes on one bucket of a real S3 server (Ceph RGW), behind a real
 * nginx running the configuration infra/nginx ships. Twenty pushers upload through the balancer
 * while real dnf and apt-get refresh and install through it, and a prober reads an index from one
 * node and every file it names from the others. One node is killed with SIGKILL mid-push and
 * restarted. Then:
 *   - every acknowledged upload (201/200) is in the final revision;
 *   - every revision of the chain is its parent plus its own change, by the API (the revision's
 *     packages and the diff against its parent);
 *   - repomd.xml read from node 1 and InRelease read from node 1: every file they name matches its
 *     checksum from node 2, node 3 and through nginx; nginx's cached copies match too;
 *   - clients saw no error: dnf and apt-get exited 0, nginx answered every GET with 200/302/304,
 *     the pushers saw nothing but connections cut by the kill (retried).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { createMessage, readKeys, readSignature, verify } from 'openpgp';
import { type AptClient, aptClient } from '../helpers/apt-client.ts';
import { writeDebs } from '../helpers/debs.ts';
import { createPackagerKey, type PackagerKey, signRpms } from '../helpers/gpg.ts';
import { freePort } from '../helpers/ports.ts';
import { type Rgw, rgwSkipReason, startRgw } from '../helpers/rgw.ts';
import { type DnfClient, dnfClient } from '../helpers/rpm-clients.ts';
import { buildRpms } from '../helpers/rpmbuild.ts';
import { type RunningServer, startServer } from '../helpers/server.ts';
import { nginxSkipReason, type RunningNginx, startNginx } from '../infra/nginx.ts';

const RPM_PUSHERS = 12;
const DEB_PUSHERS = 8;
const PER_PUSHER = 10;
const RPM_DIST = 'rocky9';
const APT_DIST = 'bookworm';
const ADMIN = 'fleet-admin-token-0123456789abcdef';

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Ack {
  dist: string;
  file: string;
  sha256: string;
  status: number;
  revision: number;
}

interface Node {
  name: string;
  port: number;
  url: string;
  server: RunningServer | null;
}

async function getBytes(url: string): Promise<{ status: number; bytes: Uint8Array; headers: Headers }> {
  const response = await fetch(url, { signal: AbortSignal.timeout(30_000) });
  return { status: response.status, bytes: new Uint8Array(await response.arrayBuffer()), headers: response.headers };
}

async function json(url: string): Promise<any> {
  const response = await fetch(url, { signal: AbortSignal.timeout(30_000) });
  assert.equal(response.status, 200, `GET ${url}: ${response.status}`);
  return response.json();
}

/** The files repomd.xml names: href → sha256. */
function repomdFiles(repomd: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of repomd.matchAll(/<data type="[^"]+">[\s\S]*?<checksum type="sha256">([0-9a-f]{64})<\/checksum>[\s\S]*?<location href="([^"]+)"/g)) out.set(m[2], m[1]);
  return out;
}

/** The packages primary.xml names: href → sha256. */
function primaryPackages(primaryGz: Uint8Array): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of gunzipSync(primaryGz)
    .toString()
    .matchAll(/<checksum type="sha256" pkgid="YES">([0-9a-f]{64})<\/checksum>[\s\S]*?<location href="([^"]+)"/g))
    out.set(m[2], m[1]);
  return out;
}

/** The files InRelease names under SHA256: path → sha256. */
function inReleaseFiles(inRelease: string): Map<string, string> {
  const out = new Map<string, string>();
  const section = /^SHA256:\n((?: .+\n)+)/m.exec(inRelease.replaceAll('\r\n', '\n'));
  for (const line of section?.[1].trimEnd().split('\n') ?? []) {
    const [checksum, , path] = line.trim().split(/\s+/);
    out.set(path, checksum);
  }
  return out;
}

const byHash = (path: string, checksum: string) => `${path.includes('/') ? path.slice(0, path.lastIndexOf('/') + 1) : ''}by-hash/SHA256/${checksum}`;

describe('fleet: 3 repod nodes on one RGW bucket behind nginx', { skip: rgwSkipReason() || nginxSkipReason() }, () => {
  let rgw: Rgw;
  let nginx: RunningNginx;
  const nodes: Node[] = [];
  let work: string;
  let packager: PackagerKey;
  let seedRpm: string;
  let seedDeb: string;
  let pushed: { dist: string; files: string[] }[];

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'repod-fleet-'));
    packager = await createPackagerKey('repod fleet packager');
    const epoch = 1700000000;
    const rpmCount = RPM_PUSHERS * PER_PUSHER;
    // One spec, many noarch subpackages without dependencies: installable into an empty root.
    const rpms = await buildRpms(
      [
        {
          name: 'fleet',
          arch: 'noarch',
          mainPackage: false,
          autoReqProv: false,
          sourceDateEpoch: epoch,
          subpackages: Array.from({ length: rpmCount + 1 }, (_, i) => ({
            name: i === rpmCount ? 'fleet-seed' : `fleet-${String(i).padStart(3, '0')}`,
            files: [{ path: `/usr/share/fleet/${i}.txt`, content: `fleet package ${i}\n` }],
          })),
        },
      ],
      join(work, 'rpms'),
    );
    await signRpms(packager, rpms);
    seedRpm = rpms.find((f) => basename(f).startsWith('fleet-seed-'))!;
    const pushedRpms = rpms.filter((f) => f !== seedRpm).sort();
    const debs = writeDebs(
      join(work, 'debs'),
      Array.from({ length: DEB_PUSHERS * PER_PUSHER + 1 }, (_, i) => ({
        name: i === 0 ? 'fleetdeb-seed' : `fleetdeb-${String(i).padStart(3, '0')}`,
        version: '1.0-1',
        arch: 'all',
        description: `fleet package ${i}`,
        files: [{ path: `usr/share/fleetdeb/${i}.txt`, content: `fleet deb ${i}\n` }],
      })),
    );
    seedDeb = debs[0];
    pushed = [
      ...Array.from({ length: RPM_PUSHERS }, (_, p) => ({ dist: RPM_DIST, files: pushedRpms.slice(p * PER_PUSHER, (p + 1) * PER_PUSHER) })),
      ...Array.from({ length: DEB_PUSHERS }, (_, p) => ({ dist: APT_DIST, files: debs.slice(1 + p * PER_PUSHER, 1 + (p + 1) * PER_PUSHER) })),
    ];

    rgw = await startRgw();
    for (let i = 1; i <= 3; i++) {
      const port = await freePort();
      nodes.push({ name: `node${i}`, port, url: `http://127.0.0.1:${port}`, server: null });
    }
    // The first node bootstraps the fresh bucket (signing key) alone; the others find it ready.
    await startNode(nodes[0]);
    await Promise.all([startNode(nodes[1]), startNode(nodes[2])]);
    nginx = await startNginx(nodes.map((n) => `127.0.0.1:${n.port}`));
  });

  after(async () => {
    await nginx?.stop();
    for (const n of nodes) await n.server?.stop('SIGKILL');
    await rgw?.stop();
  });

  async function startNode(node: Node): Promise<void> {
    node.server = await startServer({
      ...rgw.env,
      REPOD_STORAGE: `s3://${rgw.bucket}`,
      REPOD_PORT: String(node.port),
      REPOD_ADMIN_TOKEN: ADMIN,
      REPOD_ACCESS_LOG: '1',
    });
  }

  /** One upload through nginx; connections cut by a dying node (or nginx's 502 for them) are retried. */
  async function upload(dist: string, path: string, retried: { count: number }): Promise<Ack> {
    const bytes = await readFile(path);
    for (let attempt = 0; ; attempt++) {
      const form = new FormData();
      form.append('file', new Blob([bytes]), basename(path));
      form.append('distribution', dist);
      let response: Response;
      try {
        response = await fetch(`${nginx.url}/api/v1/upload`, {
          method: 'POST',
          body: form,
          headers: { authorization: `Bearer ${ADMIN}` },
          signal: AbortSignal.timeout(120_000),
        });
      } catch (error) {
        if (attempt >= 10) throw error;
        retried.count++;
        await sleep(200);
        continue;
      }
      const text = await response.text();
      if ((response.status === 502 || response.status === 503 || response.status === 504) && attempt < 10) {
        retried.count++;
        await sleep(200);
        continue;
      }
      assert.ok(response.status === 201 || response.status === 200, `upload ${basename(path)} to ${dist}: ${response.status} ${text}`);
      const body = JSON.parse(text);
      const digest = sha256(bytes);
      if (body.sha256) assert.equal(body.sha256, digest);
      return { dist, file: basename(path), sha256: digest, status: response.status, revision: body.revision?.number ?? 0 };
    }
  }

  /**
   * Reads repomd.xml or InRelease from one live node and every file it names from every other
   * live node, directly: they must match the index's checksums. Returns the mismatches.
   */
  const probedPackages = new Set<string>();
  async function probeOnce(round: number): Promise<string[]> {
    const live = nodes.filter((n) => n.server && n.server.process.exitCode === null);
    if (live.length < 2) return [];
    const from = live[round % live.length];
    const others = live.filter((n) => n !== from);
    const problems: string[] = [];
    const check = async (label: string, urls: string[], expected: string) => {
      for (const url of urls) {
        let got: Awaited<ReturnType<typeof getBytes>>;
        try {
          got = await getBytes(url);
        } catch {
          continue; // the node was killed under this request
        }
        if (got.status !== 200 || sha256(got.bytes) !== expected)
          problems.push(`${label}: ${url} -> ${got.status}${got.status === 200 ? ' (checksum mismatch)' : ` ${new TextDecoder().decode(got.bytes).slice(0, 200)}`}`);
      }
    };
    try {
      const base = `/repos/${RPM_DIST}/x86_64`;
      const repomd = await getBytes(`${from.url}${base}/repodata/repomd.xml`);
      if (repomd.status === 200) {
        const files = repomdFiles(new TextDecoder().decode(repomd.bytes));
        for (const [href, checksum] of files)
          await check(
            `repomd.xml of ${from.name}`,
            others.map((n) => `${n.url}${base}/${href}`),
            checksum,
          );
        const primaryHref = [...files.keys()].find((h) => h.endsWith('-primary.xml.gz'));
        const primary = primaryHref ? await getBytes(`${from.url}${base}/${primaryHref}`) : null;
        if (primary?.status === 200) {
          // The packages new since the last probe: the ones another node may not know yet.
          const fresh = [...primaryPackages(primary.bytes)].filter(([href]) => !probedPackages.has(href)).slice(0, 10);
          for (const [href, checksum] of fresh) {
            await check(
              `primary.xml of ${from.name}`,
              others.map((n) => `${n.url}${base}/${href}`),
              checksum,
            );
            probedPackages.add(href);
          }
        }
      }
      const inRelease = await getBytes(`${from.url}/repos/dists/${APT_DIST}/InRelease`);
      if (inRelease.status === 200) {
        for (const [path, checksum] of inReleaseFiles(new TextDecoder().decode(inRelease.bytes))) {
          if (!path.startsWith('main/binary-amd64/')) continue;
          await check(
            `InRelease of ${from.name}`,
            others.map((n) => `${n.url}/repos/dists/${APT_DIST}/${byHash(path, checksum)}`),
            checksum,
          );
        }
      }
    } catch {
      // `from` was killed while being read: the next round picks live nodes again.
    }
    return problems;
  }

  it('20 pushers, dnf and apt-get through nginx, one node killed mid-push: nothing lost, every revision consistent, every node serves the same files', {
    timeout: 600_000,
  }, async (t) => {
    const started = Date.now();
    const retried = { count: 0 };
    // Seed one package per distribution so the clients have something to install from the start.
    const seeds = [await upload(RPM_DIST, seedRpm, retried), await upload(APT_DIST, seedDeb, retried)];
    const key = await (await fetch(`${nginx.url}/repos/gpg.key`)).text();
    const dnf: DnfClient = await dnfClient(`${nginx.url}/repos/${RPM_DIST}/x86_64/`, { gpgkeys: [`${nginx.url}/repos/gpg.key`, `file://${packager.publicKeyPath}`] });
    const apt: AptClient = await aptClient({ url: `${nginx.url}/repos`, codename: APT_DIST, keyArmored: key });

    // ---- the push phase
    const acks: Ack[] = [...seeds];
    let pushing = true;
    let killedAt = 0;
    let restartedAt = 0;
    let ackedAtKill = 0;
    const total = pushed.reduce((n, p) => n + p.files.length, 0);
    const pushers = pushed.map(async ({ dist, files }) => {
      for (const file of files) acks.push(await upload(dist, file, retried));
    });
    const allPushed = Promise.all(pushers).finally(() => {
      pushing = false;
    });

    // dnf and apt-get refresh (and install) through nginx for as long as the pushes last.
    const clientRuns = { dnf: 0, apt: 0 };
    const dnfLoop = (async () => {
      await dnf.dnf(['install', 'fleet-seed']);
      do {
        await dnf.dnf(['makecache']);
        clientRuns.dnf++;
      } while (pushing);
    })();
    const aptLoop = (async () => {
      do {
        const out = await apt.aptGet(['update']);
        assert.doesNotMatch(out, /^(W|E):/m, out);
        clientRuns.apt++;
        if (clientRuns.apt === 1) await apt.aptGet(['install', 'fleetdeb-seed']);
      } while (pushing);
    })();
    // Index from one node, files from the others, as long as the pushes last.
    const probeProblems: string[] = [];
    let probes = 0;
    const probeLoop = (async () => {
      while (pushing) {
        probeProblems.push(...(await probeOnce(probes++)));
        await sleep(100);
      }
    })();

    // What dnf does on every refresh, as fast as it goes: repomd.xml, then repomd.xml.asc, through
    // nginx. The signature must verify the repomd.xml just read, however many publishes land between.
    const verificationKeys = await readKeys({ armoredKeys: key });
    const signatures = { pairs: 0, failed: [] as string[], mismatched: [] as { at: number; etags: string }[] };
    const signatureLoop = (async () => {
      const base = `${nginx.url}/repos/${RPM_DIST}/x86_64/repodata/repomd.xml`;
      while (pushing) {
        const at = Date.now() - started;
        const repomd = await getBytes(base);
        const asc = await getBytes(`${base}.asc`);
        if (repomd.status !== 200 || asc.status !== 200) {
          signatures.failed.push(`${repomd.status} ${asc.status}`);
          continue;
        }
        const result = await verify({
          message: await createMessage({ binary: repomd.bytes }),
          signature: await readSignature({ armoredSignature: new TextDecoder().decode(asc.bytes) }),
          verificationKeys,
        });
        // Like librepo, only the first signature counts.
        const ok = await result.signatures[0].verified.then(
          () => true,
          () => false,
        );
        signatures.pairs++;
        if (!ok) signatures.mismatched.push({ at, etags: `${repomd.headers.get('etag')} / ${asc.headers.get('etag')}` });
      }
    })();

    // Kill node 2 with SIGKILL once a quarter of the uploads are acknowledged (others are in flight), restart it 2 s later.
    const killer = (async () => {
      while (acks.length - seeds.length < total / 4 && pushing) await sleep(20);
      ackedAtKill = acks.length - seeds.length;
      killedAt = Date.now() - started;
      await nodes[1].server!.stop('SIGKILL');
      await sleep(2000);
      await startNode(nodes[1]);
      restartedAt = Date.now() - started;
    })();

    await Promise.all([allPushed, killer]);
    await Promise.all([dnfLoop, aptLoop, probeLoop, signatureLoop]);
    const pushSeconds = (Date.now() - started) / 1000;
    // Every pair is answered, and signed consistently: nginx sends a client's entry points to one
    // node, which answers the signature of the repomd.xml it gave that client. Only when that node
    // dies or comes back between the two requests can the second one reach a node that does not
    // know what the client read: at most once per change, around the kill and the restart (then
    // nginx's fail_timeout, 5 s). Real dnf, above and below, never failed.
    assert.deepEqual(signatures.failed, [], 'every repomd.xml and repomd.xml.asc was answered');
    const aroundKill = (at: number) => at >= killedAt - 1000 && at <= restartedAt + 6000;
    assert.deepEqual(
      signatures.mismatched.filter((m) => !aroundKill(m.at)),
      [],
      `repomd.xml.asc signs the repomd.xml read just before it (${signatures.pairs} pairs; node 2 down from ${killedAt} to ${restartedAt} ms)`,
    );
    assert.ok(signatures.mismatched.length <= 2, `at most one mismatched pair per topology change: ${JSON.stringify(signatures.mismatched)}`);
    assert.deepEqual(probeProblems, [], 'an index read from one node names files every other node serves');

    // ---- nothing acknowledged is lost
    const current = async (dist: string) => {
      const list = await json(`${nodes[0].url}/api/v1/distributions/${dist}/revisions?limit=1`);
      return json(`${nodes[0].url}/api/v1/distributions/${dist}/revisions/${list.revisions[0].number}`);
    };
    for (const dist of [RPM_DIST, APT_DIST]) {
      const head = await current(dist);
      const present = new Set<string>(head.packages.map((p: { sha256: string }) => p.sha256));
      const mine = acks.filter((a) => a.dist === dist);
      const lost = mine.filter((a) => !present.has(a.sha256)).map((a) => a.file);
      assert.deepEqual(lost, [], `${dist}: every acknowledged upload is in revision ${head.number}`);
      assert.equal(head.packages.length, mine.length, `${dist}: exactly the uploaded packages`);
    }

    // ---- every revision is its parent plus its change
    const revisionCounts: Record<string, number> = {};
    for (const dist of [RPM_DIST, APT_DIST]) {
      type Summary = { number: number; id: string; parent: string | null };
      const summaries: Summary[] = [];
      for (let before: number | null = null; ; ) {
        const page: { revisions: Summary[]; next: number | null } = await json(
          `${nodes[2].url}/api/v1/distributions/${dist}/revisions?limit=500${before === null ? '' : `&before=${before}`}`,
        );
        summaries.push(...page.revisions);
        if (page.next === null) break;
        before = page.next;
      }
      summaries.reverse();
      revisionCounts[dist] = summaries.length;
      let previous = new Map<string, string>();
      let previousSummary = null as Summary | null;
      for (const s of summaries) {
        assert.equal(s.number, (previousSummary?.number ?? 0) + 1, `${dist}: revisions are numbered without gaps`);
        assert.equal(s.parent, previousSummary?.id ?? null, `${dist}: revision ${s.number}'s parent is revision ${s.number - 1}`);
        const revision = await json(`${nodes[s.number % 3].url}/api/v1/distributions/${dist}/revisions/${s.number}`);
        const expected = new Map(previous);
        for (const r of revision.changes.removed) {
          assert.equal(expected.get(r.key), r.id, `${dist} ${s.number}: removes what its parent had`);
          expected.delete(r.key);
        }
        for (const a of revision.changes.added) expected.set(a.key, a.id);
        const actual = new Set<string>(revision.packages.map((p: { sha256: string }) => p.sha256));
        assert.deepEqual(actual, new Set(expected.values()), `${dist} revision ${s.number} = revision ${s.number - 1} ± its change`);
        assert.equal(revision.packageCount, revision.packages.length);
        if (previousSummary) {
          const diff = await json(`${nodes[(s.number + 1) % 3].url}/api/v1/distributions/${dist}/revisions/${previousSummary.number}/diff/${s.number}`);
          assert.deepEqual(
            new Set(diff.added.map((d: { sha256: string }) => d.sha256)),
            new Set(revision.changes.added.map((a: { id: string }) => a.id)),
            `${dist} diff ${s.number - 1}..${s.number}`,
          );
          assert.deepEqual(diff.removed, []);
        }
        previous = expected;
        previousSummary = s;
      }
    }

    // ---- after the pushes: dnf and apt install a pushed package through nginx
    await dnf.dnf(['install', '--refresh', 'fleet-007']);
    assert.equal(await readFile(join(dnf.root, 'usr/share/fleet/7.txt'), 'utf8'), 'fleet package 7\n');
    await apt.aptGet(['update']);
    await apt.aptGet(['install', 'fleetdeb-007']);
    assert.equal(await readFile(join(apt.root, 'usr/share/fleetdeb/7.txt'), 'utf8'), 'fleet deb 7\n');

    // ---- an index read from node 1 names files that node 2, node 3 and nginx serve, checksums equal
    const viaAll = (path: string) => [nodes[1].url, nodes[2].url, nginx.url, nginx.url].map((u) => `${u}${path}`);
    const cacheStatuses: string[] = [];
    const matchEverywhere = async (path: string, checksum: string) => {
      for (const url of viaAll(path)) {
        const got = await getBytes(url);
        assert.equal(got.status, 200, `${url}: ${got.status}`);
        assert.equal(sha256(got.bytes), checksum, `${url} matches its index`);
        if (url.startsWith(nginx.url)) cacheStatuses.push(`${got.headers.get('x-cache-status')} ${path}`);
      }
    };
    const base = `/repos/${RPM_DIST}/x86_64`;
    const repomd = await getBytes(`${nodes[0].url}${base}/repodata/repomd.xml`);
    const files = repomdFiles(new TextDecoder().decode(repomd.bytes));
    assert.ok(files.size >= 3, 'repomd.xml names primary, filelists, other');
    for (const [href, checksum] of files) await matchEverywhere(`${base}/${href}`, checksum);
    const primaryHref = [...files.keys()].find((h) => h.endsWith('-primary.xml.gz'))!;
    const packages = primaryPackages((await getBytes(`${nodes[0].url}${base}/${primaryHref}`)).bytes);
    assert.equal(packages.size, RPM_PUSHERS * PER_PUSHER + 1);
    for (const [href, checksum] of packages) {
      // Packages are redirects to presigned RGW URLs: the same bytes whichever node signed the URL.
      for (const url of viaAll(`${base}/${href}`).slice(0, 3)) assert.equal(sha256((await getBytes(url)).bytes), checksum, url);
    }
    const inRelease = await getBytes(`${nodes[0].url}/repos/dists/${APT_DIST}/InRelease`);
    const indexes = inReleaseFiles(new TextDecoder().decode(inRelease.bytes));
    assert.ok(indexes.size > 0);
    for (const [path, checksum] of indexes) await matchEverywhere(`/repos/dists/${APT_DIST}/${byHash(path, checksum)}`, checksum);
    // The second read through nginx of every content-addressed file came from its cache, with the same bytes.
    const second = cacheStatuses.filter((_, i) => i % 2 === 1);
    assert.ok(
      second.every((s) => s.startsWith('HIT ')),
      `nginx serves content-addressed files from its cache:\n${second.filter((s) => !s.startsWith('HIT')).join('\n')}`,
    );
    // Entry points are never cached: always one node's current answer.
    for (const path of [`${base}/repodata/repomd.xml`, `/repos/dists/${APT_DIST}/InRelease`]) {
      for (let i = 0; i < 2; i++) assert.notEqual((await getBytes(`${nginx.url}${path}`)).headers.get('x-cache-status'), 'HIT', path);
    }

    // ---- clients saw no error: every GET through nginx was answered 2xx/3xx (a killed node's requests were retried on another)
    const log = await nginx.accessLog();
    const gets = log.filter((l) => l.startsWith('GET ') || l.startsWith('HEAD '));
    const failedGets = gets.filter((l) => !/^\S+ \S+ (200|206|302|304) /.test(l));
    assert.deepEqual(failedGets, [], 'no GET through nginx failed');
    const retriedGets = gets.filter((l) => l.split(' ')[3]?.endsWith(',')).length;
    const posts = log.filter((l) => l.startsWith('POST '));
    const failedPosts = posts.filter((l) => !/^\S+ \S+ (200|201) /.test(l));
    assert.ok(
      failedPosts.every((l) => /^\S+ \S+ 502 /.test(l)),
      `the only failed uploads are the ones the kill cut off (502, retried):\n${failedPosts.join('\n')}`,
    );
    assert.equal(acks.length, total + seeds.length);
    // The restarted node took its share again (its own access log, since the restart).
    const servedAfterRestart = nodes[1]
      .server!.logs.join('')
      .split('\n')
      .filter((l) => l.includes('"message":"request"')).length;
    assert.ok(servedAfterRestart > 0, 'the restarted node serves requests again');

    t.diagnostic(
      `uploads acknowledged: ${acks.length} (${acks.filter((a) => a.status === 200).length} as 200 after a retry), pusher retries: ${retried.count} (502 from nginx: ${failedPosts.length})`,
    );
    t.diagnostic(
      `revisions: ${JSON.stringify(revisionCounts)}; node2 SIGKILL at ${(killedAt / 1000).toFixed(1)} s after ${ackedAtKill} acknowledged uploads, restarted at ${(restartedAt / 1000).toFixed(1)} s`,
    );
    t.diagnostic(
      `push phase ${pushSeconds.toFixed(1)} s, whole test ${((Date.now() - started) / 1000).toFixed(1)} s; dnf runs ${clientRuns.dnf}, apt runs ${clientRuns.apt}, probes ${probes}, repomd.xml + .asc pairs verified ${signatures.pairs} (mismatched around the kill: ${signatures.mismatched.length})`,
    );
    t.diagnostic(`GETs through nginx: ${gets.length}, retried on another node: ${retriedGets}; requests served by node 2 after its restart: ${servedAfterRestart}`);
  });

  it('a node that has not seen the newest revision yet serves every file and package an index of it names', { timeout: 120_000 }, async () => {
    // A node that trusts its view of the current revision for a minute: the widest staleness.
    const port = await freePort();
    const stale: Node = { name: 'stale', port, url: `http://127.0.0.1:${port}`, server: null };
    stale.server = await startServer({ ...rgw.env, REPOD_STORAGE: `s3://${rgw.bucket}`, REPOD_PORT: String(port), REPOD_ADMIN_TOKEN: ADMIN, REPOD_REF_TTL_MS: '60000' });
    try {
      const base = `/repos/${RPM_DIST}/x86_64`;
      assert.equal((await getBytes(`${stale.url}${base}/repodata/repomd.xml`)).status, 200);
      assert.equal((await getBytes(`${stale.url}/hashed/${RPM_DIST}/x86_64/repodata/repomd.xml`)).status, 200);
      assert.equal((await getBytes(`${stale.url}/repos/dists/${APT_DIST}/InRelease`)).status, 200);
      // New packages published through node 1, which the stale node's view does not have.
      const [rpm] = await buildRpms(
        [{ name: 'fleet-late', arch: 'noarch', autoReqProv: false, files: [{ path: '/usr/share/fleet/late.txt', content: 'late\n' }] }],
        join(work, 'late'),
      );
      await signRpms(packager, [rpm]);
      const [deb] = writeDebs(join(work, 'late'), [{ name: 'fleetdeb-late', version: '1.0-1', arch: 'all' }]);
      for (const [dist, file] of [
        [RPM_DIST, rpm],
        [APT_DIST, deb],
      ] as const) {
        const form = new FormData();
        form.append('file', new Blob([await readFile(file)]), basename(file));
        form.append('distribution', dist);
        const response = await fetch(`${nodes[0].url}/api/v1/upload`, { method: 'POST', body: form, headers: { authorization: `Bearer ${ADMIN}` } });
        assert.equal(response.status, 201, await response.text());
      }
      const stillOld = await getBytes(`${stale.url}${base}/repodata/repomd.xml`);
      const fresh = await getBytes(`${nodes[0].url}${base}/repodata/repomd.xml`);
      assert.notEqual(sha256(stillOld.bytes), sha256(fresh.bytes), 'the stale node still serves the previous repomd.xml');
      const files = repomdFiles(new TextDecoder().decode(fresh.bytes));
      for (const [href, checksum] of files) {
        const got = await getBytes(`${stale.url}${base}/${href}`);
        assert.equal(got.status, 200, `${href} from the stale node: ${new TextDecoder().decode(got.bytes).slice(0, 200)}`);
        assert.equal(sha256(got.bytes), checksum);
      }
      // The hashed variant (reposync's) of the same revision: its filelists and other are the
      // plain variant's bytes, so the by-hash pointer of each names the view rendered first.
      const hashedRepomd = await getBytes(`${nodes[0].url}/hashed/${RPM_DIST}/x86_64/repodata/repomd.xml`);
      for (const [href, checksum] of repomdFiles(new TextDecoder().decode(hashedRepomd.bytes))) {
        const got = await getBytes(`${stale.url}/hashed/${RPM_DIST}/x86_64/${href}`);
        assert.equal(got.status, 200, `hashed ${href} from the stale node: ${new TextDecoder().decode(got.bytes).slice(0, 200)}`);
        assert.equal(sha256(got.bytes), checksum);
      }
      const primaryHref = [...files.keys()].find((h) => h.endsWith('-primary.xml.gz'))!;
      const late = [...primaryPackages((await getBytes(`${nodes[0].url}${base}/${primaryHref}`)).bytes)].find(([href]) => href.includes('fleet-late'));
      assert.ok(late, 'primary.xml of the new revision lists the new package');
      const pkg = await getBytes(`${stale.url}${base}/${late[0]}`);
      assert.equal(pkg.status, 200, `${late[0]} from the stale node: ${new TextDecoder().decode(pkg.bytes).slice(0, 200)}`);
      assert.equal(sha256(pkg.bytes), late[1]);
      const inRelease = new TextDecoder().decode((await getBytes(`${nodes[0].url}/repos/dists/${APT_DIST}/InRelease`)).bytes);
      for (const [path, checksum] of inReleaseFiles(inRelease)) {
        const got = await getBytes(`${stale.url}/repos/dists/${APT_DIST}/${byHash(path, checksum)}`);
        assert.equal(got.status, 200, `${path} by hash from the stale node`);
        assert.equal(sha256(got.bytes), checksum);
      }
      const packagesPath = [...inReleaseFiles(inRelease).entries()].find(([path]) => path === 'main/binary-amd64/Packages')!;
      const stanzas = new TextDecoder().decode((await getBytes(`${nodes[0].url}/repos/dists/${APT_DIST}/${byHash(...packagesPath)}`)).bytes);
      const filename = /^Filename: (.*fleetdeb-late.*)$/m.exec(stanzas)![1];
      const debGot = await getBytes(`${stale.url}/repos/${filename}`);
      assert.equal(debGot.status, 200, `${filename} from the stale node`);
    } finally {
      await stale.server.stop('SIGKILL');
    }
  });
});
