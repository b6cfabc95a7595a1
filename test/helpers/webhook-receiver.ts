/**
 * A webhook receiver for tests: a node:http server on 127.0.0.1 that keeps every delivery and
 * checks its `X-Repod-Signature-256` (`sha256=` + hex HMAC-SHA256 of the exact body, keyed with
 * the webhook's secret) the way a receiver in the wild does: recomputed over the raw bytes and
 * compared in constant time.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Delivery {
  event: string;
  headers: Record<string, string | string[] | undefined>;
  raw: string;
  body: { id: string; event: string; time: string; data: Record<string, any> };
  /** Whether the signature header matched the HMAC of the body with the receiver's secret. */
  signatureValid: boolean;
}

export interface WebhookReceiver {
  url: string;
  deliveries: Delivery[];
  /** Resolves with the first delivery (already received or coming) that satisfies `match`. */
  waitFor(match: (d: Delivery) => boolean, timeoutMs?: number): Promise<Delivery>;
  close(): Promise<void>;
}

export function expectedSignature(secret: string, body: Buffer): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

export async function startWebhookReceiver(secret: string): Promise<WebhookReceiver> {
  const deliveries: Delivery[] = [];
  const waiters = new Set<{ match: (d: Delivery) => boolean; resolve: (d: Delivery) => void }>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const given = Buffer.from(String(req.headers['x-repod-signature-256'] ?? ''));
      const wanted = Buffer.from(expectedSignature(secret, raw));
      const signatureValid = given.length === wanted.length && timingSafeEqual(given, wanted);
      let body: Delivery['body'];
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        res.writeHead(400).end();
        return;
      }
      const delivery: Delivery = { event: String(req.headers['x-repod-event'] ?? ''), headers: req.headers, raw: raw.toString('utf8'), body, signatureValid };
      deliveries.push(delivery);
      for (const w of waiters) {
        if (w.match(delivery)) {
          waiters.delete(w);
          w.resolve(delivery);
        }
      }
      res.writeHead(signatureValid ? 204 : 401).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    deliveries,
    waitFor(match, timeoutMs = 10_000) {
      const seen = deliveries.find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const waiter = {
          match,
          resolve: (d: Delivery) => {
            clearTimeout(timer);
            resolve(d);
          },
        };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`no matching webhook delivery within ${timeoutMs} ms; received: ${deliveries.map((d) => d.event).join(', ') || 'none'}`));
        }, timeoutMs);
        waiters.add(waiter);
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
