/**
 * The signature a receiver checks: `sha256=` and the hex HMAC-SHA256 of the exact request body
 * keyed with the webhook's secret (the scheme GitHub's X-Hub-Signature-256 made familiar, so
 * existing receiver code works). Web Crypto, so it runs the same on Node and Workers.
 */
export async function signatureHeader(secret: string, body: Uint8Array): Promise<string> {
  const key = await crypto.subtle.importKey('raw', new TextEncoder().encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, body as Uint8Array<ArrayBuffer>));
  let hex = '';
  for (const byte of mac) hex += byte.toString(16).padStart(2, '0');
  return `sha256=${hex}`;
}
