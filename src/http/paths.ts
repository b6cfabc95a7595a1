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
