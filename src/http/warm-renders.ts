import type { Hono } from 'hono';
import type { Core } from '../core/core.ts';

/**
 * Renders each changed distribution's entry points right after a publish, so the first client
 * after it does not pay for the render. On Workers this runs in waitUntil, after the answer.
 * It asks the app itself, so a warmed render is exactly the one a client would get.
 */
export function renderWarmer(core: Pick<Core, 'distributions' | 'repository' | 'caps'>, app: Pick<Hono, 'fetch'>) {
  const warmed = new Map<string, string>();
  return async (origin: string): Promise<string[]> => {
    const done: string[] = [];
    for (const dist of core.distributions.all()) {
      const revision = await core.repository.current(dist.name);
      if (!revision || warmed.get(dist.name) === revision.id) continue;
      warmed.set(dist.name, revision.id);
      const paths = dist.kind === 'apt' ? [`/repos/dists/${dist.name}/InRelease`] : [...dist.architectures, 'src'].map((arch) => `/repos/${dist.name}/${arch}/repodata/repomd.xml`);
      for (const path of paths) {
        try {
          const response = await app.fetch(new Request(`${origin}${path}`));
          await response.body?.cancel();
          done.push(path);
        } catch (error) {
          core.caps.log('render warm-up failed', { path, error: (error as Error).message });
        }
      }
    }
    return done;
  };
}
