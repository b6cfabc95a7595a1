import { RepodError } from '../errors.ts';

/**
 * The decoded segments of the part of a request path after `prefix`. Clients encode differently
 * (apt sends %2b and %7e, dnf %2b with a literal ~, zypper both literally); each segment is
 * percent-decoded once and '+' stays '+'. A malformed escape is the client's error, not ours.
 */
export function pathAfter(path: string, prefix: string): string {
  const raw = path.slice(path.indexOf(prefix) + prefix.length);
  try {
    return raw.split('/').map(decodeURIComponent).join('/');
  } catch {
    throw new RepodError('invalid_path', `malformed percent-encoding in ${JSON.stringify(raw)}`, { status: 400 });
  }
}

/**
 * The origin a client used to reach repod, as it sees it behind a proxy (X-Forwarded-Proto and
 * -Host from nginx or a load balancer): URLs repod hands out must work from where the client is.
 */
export function baseUrl(request: Request): string {
  const url = new URL(request.url);
  const proto = request.headers.get('x-forwarded-proto')?.split(',')[0].trim() || url.protocol.replace(':', '');
  const host = request.headers.get('x-forwarded-host')?.split(',')[0].trim() || request.headers.get('host') || url.host;
  return `${proto}://${host}`;
}
