/**
 * REPOD_WORKERS=2: the real server as `npm start` runs it, with two worker processes on one port.
 * A fresh store is bootstrapped once (one admin token printed, by one process); clients get
 * consistent metadata whichever worker answers; a worker killed with SIGKILL is replaced while
 * the other keeps answering; dnf installs from it.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile } from 'node:fs/promises';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { dnfClient } from '../helpers/rpm-clients.ts';
import { buildRpms } from '../helpers/rpmbuild.ts';
import { type RunningServer, startServer, uploadFile } from '../helpers/server.ts';

const BASE = '/repos/rocky9/x86_64';
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** Worker pids from the servers' "repod listening" lines, in order of appearance. */
function workerPids(logs: string[]): number[] {
  return [...logs.join('').matchAll(/"repod listening".*?"pid":(\d+)/g)].map((m) => Number(m[1]));
}

/** The status of a GET on a new connection. */
function freshGet(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    get(url, { agent: false }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode ?? 0));
    }).on('error', reject);
  });
}

async function waitUntil(what: string, condition: () => boolean, logs: string[]): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (condition()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`${what}; server log:\n${logs.join('').slice(-3000)}`);
}

/** repomd.xml and everything it lists, each checked against its checksum; `rounds` times, spread over workers. */
async function consistentMetadata(url: string, rounds: number): Promise<string> {
  const repomds = new Set<string>();
  for (let round = 0; round < rounds; round++) {
    const repomd = await (await fetch(`${url}${BASE}/repodata/repomd.xml`)).text();
    repomds.add(repomd);
    for (const m of repomd.matchAll(/<data type="([^"]+)">[\s\S]*?<checksum type="sha256">([0-9a-f]+)<\/checksum>[\s\S]*?<location href="([^"]+)"/g)) {
      const response = await fetch(`${url}${BASE}/${m[3]}`);
      assert.equal(response.status, 200);
      const bytes = new Uint8Array(await response.arrayBuffer());
      assert.equal(sha256(bytes), m[2], `${m[3]} matches repomd.xml`);
      if (m[1] === 'primary') {
        for (const p of new TextDecoder().decode(gunzipSync(bytes)).matchAll(/pkgid="YES">([0-9a-f]+)<\/checksum>[\s\S]*?<location href="([^"]+)"/g)) {
          const pkg = new Uint8Array(await (await fetch(`${url}${BASE}/${p[2]}`)).arrayBuffer());
          assert.equal(sha256(pkg), p[1], `${p[2]} matches primary.xml`);
        }
      }
    }
  }
  assert.equal(repomds.size, 1, 'every worker serves the same repomd.xml');
  return [...repomds][0];
}

describe('REPOD_WORKERS=2', () => {
  let server: RunningServer;
  let token: string;
  let rpms: string[];

  before(async () => {
    const out = await mkdtemp(join(tmpdir(), 'repod-workers-'));
    const spec = (name: string) => ({ name, version: '1.0', arch: 'noarch', autoReqProv: false, files: [{ path: `/usr/share/${name}/data`, content: `${name}\n` }] });
    rpms = await buildRpms([spec('workers-a'), spec('workers-b')], out);
    // No REPOD_ADMIN_TOKEN: the fresh store mints one, which must be printed exactly once.
    server = await startServer({ REPOD_WORKERS: '2', REPOD_ADMIN_TOKEN: '', REPOD_REF_TTL_MS: '0' });
    await waitUntil('two workers listen', () => workerPids(server.logs).length >= 2, server.logs);
    const printed = [...server.logs.join('').matchAll(/admin token \(shown once, store it now\): (\S+)/g)];
    assert.equal(printed.length, 1, `one admin token printed:\n${server.logs.join('')}`);
    token = printed[0][1];
  });
  after(() => server?.stop());

  it('publishes through either worker and serves consistent metadata from both', async () => {
    for (const rpm of rpms) {
      const { status, body } = await uploadFile({ url: server.url, adminToken: token }, 'rocky9', rpm);
      assert.equal(status, 201, JSON.stringify(body));
    }
    const repomd = await consistentMetadata(server.url, 6);
    assert.match(repomd, /primary\.xml\.gz/);
  });

  it('replaces a worker killed with SIGKILL and keeps answering meanwhile', async () => {
    const [victim, survivor] = workerPids(server.logs);
    const before = await consistentMetadata(server.url, 1);
    process.kill(victim, 'SIGKILL');
    await waitUntil('the primary sees the worker die', () => /repod worker died, starting another/.test(server.logs.join('')), server.logs);
    // Until its replacement listens, the other worker answers every request (on new connections:
    // the ones the killed worker held died with it).
    for (let i = 0; i < 10; i++) assert.equal(await freshGet(`${server.url}${BASE}/repodata/repomd.xml`), 200);
    await waitUntil('the primary starts a new worker', () => workerPids(server.logs).length >= 3, server.logs);
    const pids = workerPids(server.logs);
    assert.ok(!pids.slice(2).includes(victim) && pids.includes(survivor));
    assert.equal(await consistentMetadata(server.url, 6), before);
  });

  it('dnf installs from it', async () => {
    const client = await dnfClient(`${server.url}${BASE}/`, { gpgkeys: [`${server.url}/repos/gpg.key`], gpgcheck: false });
    await client.dnf(['install', 'workers-a', 'workers-b']);
    assert.equal((await readFile(join(client.root, 'usr/share/workers-b/data'), 'utf8')).trim(), 'workers-b');
  });
});
