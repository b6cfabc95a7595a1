import type { LookupAddress, LookupOptions } from 'node:dns';
import { lookup as dnsLookup } from 'node:dns';
import { request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import type { OutboundTransport } from '../outbound/outbound-client.ts';

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

const NULL_BODY = new Set([101, 204, 205, 304]);

/**
 * The outbound transport on Node. The name is resolved by our own `lookup`, which checks every
 * answer and hands the socket exactly the addresses it checked: there is no second resolution
 * between the check and the connect for a rebinding DNS server to answer differently. A literal
 * address never reaches `lookup`, so it is checked before the request starts. Each request gets
 * its own connection (no shared agent): a pooled socket opened under one client's allow list must
 * not serve another's request.
 */
export const nodeOutboundTransport: OutboundTransport = (url, init) =>
  new Promise<Response>((resolve, reject) => {
    const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    try {
      if (isIP(host)) init.checkAddress(host);
    } catch (error) {
      reject(error);
      return;
    }
    const lookup = (hostname: string, options: LookupOptions, callback: LookupCallback) => {
      dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
        if (error) return callback(error, []);
        try {
          // Refused when any answer is private: which one the socket would try first is not ours to guess.
          for (const a of addresses) init.checkAddress(a.address);
        } catch (refusal) {
          return callback(refusal as NodeJS.ErrnoException, []);
        }
        if (options.all) callback(null, addresses);
        else if (addresses.length === 0) callback(Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }), []);
        else callback(null, addresses[0].address, addresses[0].family);
      });
    };
    const headers: Record<string, string> = {};
    init.headers.forEach((value, key) => {
      headers[key] = value;
    });
    if (init.body) headers['content-length'] = String(init.body.byteLength);
    const options: RequestOptions = { method: init.method, headers, signal: init.signal, lookup, agent: false };
    const request = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, options, (response) => {
      try {
        resolve(toResponse(response));
      } catch (error) {
        // A status outside 200..599 or a header the web Headers refuse: not an answer we can pass on.
        response.destroy();
        reject(error);
      }
    });
    request.on('error', reject);
    request.end(init.body);
  });

/** A web Response over Node's answer, its body read only as fast as the consumer pulls. */
function toResponse(message: IncomingMessage): Response {
  const headers = new Headers();
  for (let i = 0; i + 1 < message.rawHeaders.length; i += 2) headers.append(message.rawHeaders[i], message.rawHeaders[i + 1]);
  const status = message.statusCode ?? 502;
  if (NULL_BODY.has(status)) {
    message.resume();
    return new Response(null, { status, statusText: message.statusMessage, headers });
  }
  const chunks = message[Symbol.asyncIterator]();
  const body = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const { done, value } = await chunks.next();
          if (done) controller.close();
          else controller.enqueue(new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
        } catch (error) {
          controller.error(error);
        }
      },
      cancel() {
        message.destroy();
      },
    },
    { highWaterMark: 0 },
  );
  return new Response(body, { status, statusText: message.statusMessage, headers });
}
