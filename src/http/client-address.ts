import type { Context, MiddlewareHandler } from 'hono';

/**
 * Where a request came from, for lockouts, sign-in limits and the audit log.
 *
 * - Node (@hono/node-server) hands the IncomingMessage over as `c.env.incoming`: its socket's
 *   peer address is the one thing a client cannot forge. It is read structurally so this file
 *   stays free of `node:*` and runs on Workers too.
 * - Workers have no socket; Cloudflare's edge sets `cf-connecting-ip` and overwrites any value a
 *   client sent. On Node the same header is just text from the client, so it is only believed
 *   where there is no socket.
 * - `X-Forwarded-For` is believed only when the operator says a proxy is in front
 *   (REPOD_TRUST_PROXY=1). Clients can put anything at its start; the proxy in front of repod
 *   appends the address it saw, so the last entry is the one to take.
 */
export interface ClientAddressOptions {
  trustProxy?: boolean;
}

export const UNKNOWN_ADDRESS = 'unknown';

export function clientAddress(c: Context, options: ClientAddressOptions = {}): string {
  if (options.trustProxy) {
    const forwarded = c.req.header('x-forwarded-for');
    if (forwarded) {
      const hops = forwarded
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s.length > 0);
      const last = hops[hops.length - 1];
      if (last) return normalize(last);
    }
  }
  const socketAddress = peerAddress(c.env);
  if (socketAddress) return normalize(socketAddress);
  const edge = c.req.header('cf-connecting-ip');
  if (edge) return normalize(edge.trim());
  return UNKNOWN_ADDRESS;
}

/** `env.incoming.socket.remoteAddress`, when `env` looks like @hono/node-server's bindings. */
function peerAddress(env: unknown): string | undefined {
  if (typeof env !== 'object' || env === null) return undefined;
  const incoming = (env as { incoming?: unknown }).incoming;
  if (typeof incoming !== 'object' || incoming === null) return undefined;
  const socket = (incoming as { socket?: unknown }).socket;
  if (typeof socket !== 'object' || socket === null) return undefined;
  const address = (socket as { remoteAddress?: unknown }).remoteAddress;
  return typeof address === 'string' && address.length > 0 ? address : undefined;
}

/** One spelling per address: IPv4 peers of a dual-stack socket arrive as `::ffff:a.b.c.d`. */
function normalize(address: string): string {
  const bounded = address.slice(0, 64).toLowerCase();
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(bounded);
  return mapped ? mapped[1] : bounded;
}

const remembered = new WeakMap<Request, string>();

/**
 * Works out each request's address once, with the operator's proxy setting, so every part that
 * needs it (sign-in, lockout, audit) sees the same one through `addressOf`. Mount it first.
 */
export function clientAddresses(options: ClientAddressOptions = {}): MiddlewareHandler {
  return async (c, next) => {
    remembered.set(c.req.raw, clientAddress(c, options));
    await next();
  };
}

/** The address `clientAddresses` found for this request (without it: the socket's, no proxy trusted). */
export function addressOf(c: Context): string {
  return remembered.get(c.req.raw) ?? clientAddress(c);
}
