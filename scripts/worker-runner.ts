// Runs a Worker locally the way `wrangler dev` does, minus its proxy: wrangler bundles it
// (`deploy --dry-run`, the bundle a deploy would upload) and Miniflare runs the bundle in workerd,
// R2 persisted on disk. wrangler dev's proxy in front of the Worker was measured holding requests
// for 20 s and more behind earlier ones (after a large upload, after a failed one) while the
// Worker itself answered at once; clients and tests need the Worker's own behaviour.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Miniflare } from 'miniflare';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const WRANGLER = join(root, 'node_modules', 'wrangler', 'bin', 'wrangler.js');

/**
 * Bundles the Worker of `config` (a wrangler.toml) and starts it. `vars` become its string
 * bindings (vars and secrets alike); each R2 bucket binding of the config persists under `persist`.
 * Returns the URL it answers on and `stop()`.
 */
export interface RunningWorker {
  url: URL;
  stop(): Promise<void>;
}

export async function runWorker({
  config,
  vars = {},
  persist,
  host = '127.0.0.1',
  port = 0,
}: {
  config: string;
  vars?: Record<string, string>;
  persist: string;
  host?: string;
  port?: number;
}): Promise<RunningWorker> {
  const toml = readFileSync(config, 'utf8');
  const main = /^main = "(.*)"$/m.exec(toml)?.[1];
  if (!main) throw new Error(`${config} names no main module`);
  const dir = mkdtempSync(join(tmpdir(), 'repod-worker-bundle-'));
  const removeDir = () => rmSync(dir, { recursive: true, force: true });
  // A copy of the config beside the bundle, so wrangler writes nothing into the checkout.
  const copy = join(dir, 'wrangler.toml');
  const mainPath = isAbsolute(main) ? main : join(dirname(config), main);
  writeFileSync(copy, toml.replace(/^main = .*$/m, `main = ${JSON.stringify(mainPath)}`));
  const bundle = spawnSync(process.execPath, [WRANGLER, 'deploy', '--dry-run', '--config', copy, '--outdir', join(dir, 'bundle')], {
    cwd: dir,
    encoding: 'utf8',
    timeout: 180_000,
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CI: '1', NO_COLOR: '1', WRANGLER_LOG_PATH: join(dir, 'logs') },
  });
  if (bundle.status !== 0) {
    removeDir();
    throw new Error(`bundling the Worker failed:\n${bundle.stdout}${bundle.stderr}${bundle.error ?? ''}`);
  }
  const script = join(dir, 'bundle', `${main.replace(/^.*\//, '').replace(/\.[cm]?[jt]s$/, '')}.js`);
  // workerd refuses source-map paths outside the bundle's directory.
  writeFileSync(script, readFileSync(script, 'utf8').replace(/^\/\/# sourceMappingURL=.*$/m, ''));
  rmSync(`${script}.map`, { force: true });
  const r2Buckets: Record<string, string> = {};
  for (const m of toml.matchAll(/\[\[r2_buckets\]\]\s*\nbinding = "([^"]+)"\s*\nbucket_name = "([^"]+)"/g)) r2Buckets[m[1]] = m[2];
  const mf = new Miniflare({
    modules: true,
    scriptPath: script,
    modulesRoot: join(dir, 'bundle'),
    modulesRules: [{ type: 'CompiledWasm', include: ['**/*.wasm'] }],
    compatibilityDate: /^compatibility_date = "(.*)"$/m.exec(toml)?.[1],
    compatibilityFlags: JSON.parse(/^compatibility_flags = (\[.*\])$/m.exec(toml)?.[1] ?? '[]') as string[],
    r2Buckets,
    r2Persist: persist,
    cachePersist: join(persist, '.cache'),
    bindings: vars,
    host,
    port,
  });
  let url: URL;
  try {
    url = await mf.ready;
  } catch (error) {
    await mf.dispose().catch(() => undefined);
    removeDir();
    throw error;
  }
  return {
    url,
    stop: async () => {
      await mf.dispose();
      removeDir();
    },
  };
}
