import { Hono, type Context } from 'hono';
import type { Core } from '../../core.ts';
import { serveDocument } from '../serve.ts';

/** The public key clients import: /repos/gpg.key, and /repos/dists/depot.gpg where Repod puts it. */
export function keyRoutes(core: Core): Hono {
  const app = new Hono();
  const serveKey = (c: Context) => serveDocument(c, 'gpg.key', core.signer.publicKeyArmored, `"${core.signer.fingerprint}"`, new Date(0));
  app.get('/gpg.key', serveKey);
  app.get('/dists/depot.gpg', serveKey);
  return app;
}
