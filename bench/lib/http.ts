/** A lean HTTP/1.1 client on node:http with keep-alive (less client CPU than fetch on a 2-core box). */
import { Agent, request } from 'node:http';
import { type FormPart, multipartBody } from '../../src/cli/multipart.ts';

export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The body when `keep` was set, else empty. */
  body: Buffer;
  /** Bytes received. */
  bytes: number;
}

export function keepAliveAgent(maxSockets: number): Agent {
  return new Agent({ keepAlive: true, maxSockets });
}

export function httpRequest(url: string, options: { method?: string; headers?: Record<string, string>; body?: Buffer; agent?: Agent; keep?: boolean } = {}): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? 'GET', headers: options.headers, agent: options.agent }, (res) => {
      const parts: Buffer[] = [];
      let bytes = 0;
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (options.keep) parts.push(chunk);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts), bytes }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/**
 * A multipart/form-data body the way curl -F sends it: text fields and one file, written by the
 * CLI's multipart writer and collected into one Buffer (node:http wants the body whole; the bench
 * reads packages into memory before timing).
 */
export async function multipart(fields: Record<string, string>, file: { field: string; name: string; bytes: Uint8Array }): Promise<{ body: Buffer; contentType: string }> {
  const parts: FormPart[] = [
    ...Object.entries(fields).map(([name, value]) => ({ name, value })),
    { name: file.field, file: { bytes: file.bytes, filename: file.name, contentType: 'application/x-rpm' } },
  ];
  const { body, contentType } = multipartBody(parts);
  return { body: Buffer.from(await new Response(body).arrayBuffer()), contentType };
}
