/**
 * infra/compose/compose.yaml and infra/Dockerfile (no Docker daemon here: checked statically):
 * the services of a fleet are there (two repod nodes, MinIO and the bucket it needs, nginx), every
 * file a service mounts or builds from exists in infra/, nginx gets the shipped repod.conf and the
 * three site files it includes, nginx's nodes are the repod services on their port, the nodes
 * share one bucket, and the image runs the same command line as the systemd unit.
 */
import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { REPO_ROOT } from '../helpers/paths.ts';
import { parseUnit } from './systemd-unit.ts';

const DIR = join(REPO_ROOT, 'infra/compose');

type Doc = Record<string, any>;

async function compose(): Promise<Doc> {
  // YAML 1.1 merge keys (<<: *repod) as Docker Compose reads them.
  return parse(await readFile(join(DIR, 'compose.yaml'), 'utf8'), { merge: true });
}

/** The files infra/nginx/repod.conf includes (relative to nginx's configuration directory). */
async function nginxIncludes(): Promise<string[]> {
  const conf = await readFile(join(REPO_ROOT, 'infra/nginx/repod.conf'), 'utf8');
  return [...new Set([...conf.matchAll(/^\s*include\s+(\S+);/gm)].map((m) => m[1]))].sort();
}

describe('infra/compose', () => {
  it('has two repod nodes, MinIO, the bucket job and nginx; the nodes share one bucket on MinIO', async () => {
    const doc = await compose();
    const services = doc.services as Record<string, Doc>;
    for (const name of ['repod1', 'repod2', 'minio', 'bucket', 'nginx']) assert.ok(services[name], `service ${name}`);
    const nodes = Object.entries(services).filter(([, s]) => s.environment?.REPOD_STORAGE);
    assert.deepEqual(nodes.map(([n]) => n).sort(), ['repod1', 'repod2']);
    const storages = new Set(nodes.map(([, s]) => s.environment.REPOD_STORAGE));
    assert.equal(storages.size, 1, 'one bucket');
    const bucket = /^s3:\/\/([^/]+)/.exec([...storages][0])![1];
    assert.match(services.bucket.command.join(' '), new RegExp(`mc mb --ignore-existing \\w+/${bucket}\\b`), 'the bucket job creates that bucket');
    for (const [name, s] of nodes) {
      assert.equal(s.environment.REPOD_S3_ENDPOINT, 'http://minio:9000', `${name} reaches MinIO`);
      assert.equal(s.environment.AWS_ACCESS_KEY_ID, services.minio.environment.MINIO_ROOT_USER);
      assert.match(s.healthcheck.test.join(' '), /\/api\/v1\/ready/);
    }
    assert.equal(services.repod2.depends_on.repod1.condition, 'service_healthy', 'the second node starts on a bootstrapped bucket');
  });

  it('every file a service builds from or mounts exists; nginx gets the shipped repod.conf and the site files it includes', async () => {
    const services = (await compose()).services as Record<string, Doc>;
    for (const [name, s] of Object.entries(services)) {
      if (s.build) {
        const context = resolve(DIR, s.build.context);
        assert.equal(context, REPO_ROOT, `${name} builds from the repository root`);
        assert.ok(existsSync(join(context, s.build.dockerfile)), `${name}: ${s.build.dockerfile}`);
      }
      for (const volume of s.volumes ?? []) {
        const [source] = String(volume).split(':');
        if (!source.startsWith('.') && !source.startsWith('/')) continue; // a named volume
        assert.ok(existsSync(resolve(DIR, source)), `${name} mounts ${source}`);
      }
    }
    const mounts = new Map<string, string>((services.nginx.volumes as string[]).map((v) => [v.split(':')[1], resolve(DIR, v.split(':')[0])]));
    assert.equal(mounts.get('/etc/nginx/conf.d/default.conf'), join(REPO_ROOT, 'infra/nginx/repod.conf'), 'the shipped configuration, as is');
    const siteDir = mounts.get('/etc/nginx/repod')!;
    assert.ok(siteDir && statSync(siteDir).isDirectory());
    for (const include of await nginxIncludes()) {
      assert.ok(include.startsWith('repod/'), `repod.conf includes ${include} relative to /etc/nginx`);
      assert.ok(existsSync(join(siteDir, include.slice('repod/'.length))), `compose provides ${include}`);
      assert.ok(existsSync(join(REPO_ROOT, 'infra/nginx', include)), `infra/nginx has an example of ${include}`);
    }
    // nginx's nodes are exactly the repod services, on the port they listen on.
    const nodes = [...(await readFile(join(siteDir, 'nodes.conf'), 'utf8')).matchAll(/^server\s+([\w.-]+):(\d+)/gm)].map((m) => `${m[1]}:${m[2]}`);
    assert.deepEqual(nodes.sort(), ['repod1:8080', 'repod2:8080']);
    const cache = await readFile(join(siteDir, 'cache.conf'), 'utf8');
    const cachePath = /proxy_cache_path\s+(\S+)/.exec(cache)![1];
    assert.ok(mounts.has(cachePath), `the cache directory ${cachePath} is a volume`);
    assert.match(cache, /keys_zone=repod_cache:/, 'the zone repod.conf uses');
  });

  it("infra/Dockerfile copies what exists and runs the systemd unit's command line as a non-root user", async () => {
    const dockerfile = await readFile(join(REPO_ROOT, 'infra/Dockerfile'), 'utf8');
    for (const m of dockerfile.matchAll(/^COPY\s+(.+)\s+\S+$/gm)) {
      for (const source of m[1].split(/\s+/)) assert.ok(existsSync(join(REPO_ROOT, source)), `COPY ${source}`);
    }
    const cmd = JSON.parse(/^CMD\s+(\[.*\])$/m.exec(dockerfile)![1]) as string[];
    const unit = parseUnit(await readFile(join(REPO_ROOT, 'infra/systemd/repod.service'), 'utf8'));
    const execStart = unit.get('Service')!.get('ExecStart')![0].split(/\s+/);
    assert.deepEqual(cmd.slice(1), execStart.slice(1), 'the same arguments as ExecStart');
    assert.equal(cmd[0], 'node');
    assert.match(dockerfile, /^USER\s+(?!root)\w+/m);
    assert.match(dockerfile, /npm ci --omit=dev/);
    const pkg = JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8'));
    assert.ok(pkg.dependencies.esbuild, 'esbuild, which builds the bundle the command line runs, is a runtime dependency');
    assert.match(dockerfile, /^RUN node scripts\/build-server\.mjs/m, 'the image builds the bundle its command runs');
  });
});
