/**
 * A test-only server: the wired app of wired-app.ts on the store named by ABUSE_STORAGE, on a
 * free port of 127.0.0.1 (printed as "listening on <port>"). Started twice on one store to show
 * that a lockout holds across servers.
 */
import { serve } from '@hono/node-server';
import { wiredApp } from './wired-app.ts';

const { app } = await wiredApp({ storage: process.env.ABUSE_STORAGE, lockout: { lockSeconds: 60 } });
serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => {
  process.stdout.write(`listening on ${info.port}\n`);
});
