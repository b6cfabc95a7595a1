/**
 * infra/kubernetes: every manifest parses, kustomization.yaml lists them all, each object has the
 * fields its kind requires and the references between them hold (selectors, port names, the
 * Secret and ConfigMap the pods read, the HPA's target), the settings are ones repod reads, and the
 * probe paths are answered 200 by a real running repod.
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { REPO_ROOT } from '../helpers/paths.ts';
import { startServer } from '../helpers/server.ts';

const DIR = join(REPO_ROOT, 'infra/kubernetes');

type Manifest = Record<string, any>;

async function manifests(): Promise<{ file: string; doc: Manifest }[]> {
  const out: { file: string; doc: Manifest }[] = [];
  for (const file of (await readdir(DIR)).filter((f) => /\.ya?ml$/.test(f)).sort()) {
    for (const document of parseAllDocuments(await readFile(join(DIR, file), 'utf8'))) {
      assert.deepEqual(document.errors, [], `${file} parses`);
      const doc = document.toJS() as Manifest | null;
      if (doc) out.push({ file, doc });
    }
  }
  return out;
}

const subset = (small: Record<string, string>, big: Record<string, string> | undefined) => Object.entries(small).every(([k, v]) => big?.[k] === v);

describe('infra/kubernetes', () => {
  it('parses; kustomization.yaml lists every manifest; each object has apiVersion, kind and metadata.name', async () => {
    const all = await manifests();
    const kustomization = all.find((m) => m.doc.kind === 'Kustomization')!;
    assert.ok(kustomization, 'kustomization.yaml');
    const files = [...new Set(all.map((m) => m.file))].filter((f) => f !== kustomization.file).sort();
    assert.deepEqual([...kustomization.doc.resources].sort(), files);
    for (const { file, doc } of all.filter((m) => m !== kustomization)) {
      assert.ok(typeof doc.apiVersion === 'string' && typeof doc.kind === 'string', `${file}: apiVersion and kind`);
      assert.match(doc.metadata?.name ?? '', /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, `${file}: metadata.name is a DNS label`);
    }
    const kinds = all.map((m) => `${m.doc.apiVersion} ${m.doc.kind}`).sort();
    for (const kind of ['apps/v1 Deployment', 'v1 Service', 'autoscaling/v2 HorizontalPodAutoscaler', 'policy/v1 PodDisruptionBudget', 'v1 Secret', 'v1 ConfigMap']) {
      assert.ok(kinds.includes(kind), `a ${kind}`);
    }
  });

  it('the objects fit together: selectors, ports, probes, the Secret and ConfigMap, the HPA target, the PDB', async () => {
    const all = (await manifests()).map((m) => m.doc);
    const only = (kind: string) => {
      const found = all.filter((d) => d.kind === kind);
      assert.equal(found.length, 1, `one ${kind}`);
      return found[0];
    };
    const deployment = only('Deployment');
    const pod = deployment.spec.template;
    assert.ok(subset(deployment.spec.selector.matchLabels, pod.metadata.labels), 'the Deployment selects its own pods');
    const containers: Manifest[] = pod.spec.containers;
    assert.equal(containers.length, 1);
    const [repod] = containers;
    assert.ok(repod.image, 'an image');
    const portNames = new Map<string, number>(repod.ports.map((p: Manifest) => [p.name, p.containerPort]));
    for (const probe of ['readinessProbe', 'livenessProbe', 'startupProbe']) {
      const get = repod[probe]?.httpGet;
      assert.ok(get?.path?.startsWith('/'), `${probe}.httpGet.path`);
      assert.ok(portNames.has(get.port) || Object.values(Object.fromEntries(portNames)).includes(get.port), `${probe} port ${get.port} is a container port`);
    }
    assert.notEqual(repod.livenessProbe.httpGet.path, repod.readinessProbe.httpGet.path, 'liveness does not depend on the store, readiness does');
    // Hardening the restricted Pod Security profile asks for.
    assert.equal(pod.spec.securityContext.runAsNonRoot, true);
    assert.equal(pod.spec.securityContext.seccompProfile.type, 'RuntimeDefault');
    assert.equal(repod.securityContext.allowPrivilegeEscalation, false);
    assert.deepEqual(repod.securityContext.capabilities.drop, ['ALL']);
    assert.ok(repod.resources?.requests?.cpu, 'a CPU request (the HPA scales on its utilization)');

    const service = only('Service');
    assert.ok(subset(service.spec.selector, pod.metadata.labels), 'the Service selects the pods');
    for (const port of service.spec.ports) assert.ok(portNames.has(port.targetPort) || [...portNames.values()].includes(port.targetPort), `Service targetPort ${port.targetPort}`);

    const hpa = only('HorizontalPodAutoscaler');
    assert.deepEqual(hpa.spec.scaleTargetRef, { apiVersion: deployment.apiVersion, kind: 'Deployment', name: deployment.metadata.name });
    assert.ok(hpa.spec.minReplicas >= 2 && hpa.spec.minReplicas <= hpa.spec.maxReplicas);
    assert.ok(hpa.spec.metrics.length > 0);

    const pdb = only('PodDisruptionBudget');
    assert.ok(subset(pdb.spec.selector.matchLabels, pod.metadata.labels), 'the PDB covers the pods');
    assert.ok(pdb.spec.minAvailable < hpa.spec.minReplicas && pdb.spec.minAvailable < deployment.spec.replicas, 'a node drain can always evict one pod');

    const secret = only('Secret');
    const config = only('ConfigMap');
    const from = repod.envFrom.map((e: Manifest) => e.secretRef?.name ?? e.configMapRef?.name);
    assert.deepEqual(from.sort(), [config.metadata.name, secret.metadata.name].sort(), 'the pods read the ConfigMap and the Secret');
    for (const key of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'REPOD_ADMIN_TOKEN']) assert.ok(key in secret.stringData, `the Secret holds ${key}`);
    assert.equal(Number(config.data.REPOD_PORT), portNames.get('http'), 'repod listens on the container port');
    assert.match(config.data.REPOD_STORAGE, /^s3:\/\//, 'a fleet shares a bucket');
    // Every setting is one repod reads (a misspelled name would be silently ignored).
    const sources = await readAll(join(REPO_ROOT, 'src'));
    for (const name of [...Object.keys(config.data), ...Object.keys(secret.stringData), ...(repod.env ?? []).map((e: Manifest) => e.name)]) {
      if (name === 'NODE_ENV') continue;
      assert.ok(sources.includes(name), `${name} is read by repod`);
    }
  });

  it('the probe paths are answered 200 by a running repod', { timeout: 60_000 }, async () => {
    const deployment = (await manifests()).find((m) => m.doc.kind === 'Deployment')!.doc;
    const [repod] = deployment.spec.template.spec.containers;
    const server = await startServer({ REPOD_STORAGE: 'memory:' });
    try {
      for (const probe of ['readinessProbe', 'livenessProbe', 'startupProbe']) {
        const response = await fetch(`${server.url}${repod[probe].httpGet.path}`);
        assert.equal(response.status, 200, `${probe} ${repod[probe].httpGet.path}`);
      }
      // And a path that does not exist is not 200: the check above means something.
      assert.equal((await fetch(`${server.url}/api/v1/readyz`)).status, 404);
    } finally {
      await server.stop();
    }
  });
});

async function readAll(dir: string): Promise<string> {
  let text = '';
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    text += entry.isDirectory() ? await readAll(path) : entry.name.endsWith('.ts') ? await readFile(path, 'utf8') : '';
  }
  return text;
}
