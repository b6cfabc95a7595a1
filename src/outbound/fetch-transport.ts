import { isAddressLiteral, normalizeHost } from './address-policy.ts';
import type { OutboundTransport } from './outbound-client.ts';

/**
 * The outbound transport over the web `fetch`, for Cloudflare Workers. A Worker cannot resolve a
 * name before connecting, so only literal-address hosts are checked here (and the names reserved
 * for loopback by RFC 6761, judged as 127.0.0.1); a name whose DNS answer is private is not caught
 * by repod on Workers. Cloudflare itself refuses a Worker's subrequests to private and loopback
 * networks, which closes that gap there. Do not use this transport on Node: use
 * runtime/node-outbound.ts, which checks every DNS answer at connect time.
 */
export const fetchTransport: OutboundTransport = async (url, init) => {
  const host = normalizeHost(url.hostname);
  if (isAddressLiteral(host)) init.checkAddress(host);
  else if (host === 'localhost' || host.endsWith('.localhost')) init.checkAddress('127.0.0.1');
  return fetch(url, { method: init.method, headers: init.headers, body: init.body as Uint8Array<ArrayBuffer> | undefined, signal: init.signal, redirect: 'manual' });
};
