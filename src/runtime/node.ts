import { serve } from '@hono/node-server';
import { createApp } from '../http/app.ts';
import { buildNodeCore, jsonLog } from './node-core.ts';

/** `npm start`: serves the store named by REPOD_STORAGE (default file:./data) on REPOD_PORT (8080). */
const env = process.env;
const { core, bootstrapToken, signingKeyGenerated } = await buildNodeCore(env);
const app = createApp(core, { accessLog: env.REPOD_ACCESS_LOG === '1' });
const port = Number(env.REPOD_PORT ?? 8080);
const hostname = env.REPOD_HOST ?? '0.0.0.0';

const signer = await core.keyring.signer();
if (signingKeyGenerated) jsonLog('generated a new metadata signing key', { fingerprints: signer.fingerprints });
if (bootstrapToken) {
  // Printed once, on the first start of a fresh store: only its hash is kept.
  process.stdout.write(`\nrepod: admin token (shown once, store it now): ${bootstrapToken}\n\n`);
}
const server = serve({ fetch: app.fetch, port, hostname }, (info) => {
  jsonLog('repod listening', { url: `http://${hostname === '0.0.0.0' ? 'localhost' : hostname}:${info.port}`, storage: core.caps.store.driver, keys: signer.fingerprints });
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    server.close();
    process.exit(0);
  });
}
