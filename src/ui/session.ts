import type { Capabilities } from '../capabilities.ts';

/**
 * The browser session: the cookie holds a sign-in's access token (issued by Tokens, verified by
 * the server on every request like a bearer token), HttpOnly so page scripts never see it, and
 * SameSite=Lax so other sites' forms do not carry it. Every form also carries a CSRF token derived
 * from the session's token: a page of another site can neither read it nor compute it.
 */
export const SESSION_COOKIE = 'repod_session';
/** Before sign-in there is no session: the sign-in form is tied to this random cookie instead. */
export const SIGN_IN_COOKIE = 'repod_sign_in';

/** The CSRF token of a session (or of a sign-in cookie): a hash of its secret under a label of its own. */
export async function csrfTokenOf(caps: Pick<Capabilities, 'hash'>, secret: string): Promise<string> {
  const h = caps.hash('sha256');
  h.update(new TextEncoder().encode(`repod-ui-csrf\u0000${secret}`));
  return h.digest();
}

/** Equality of two tokens whose duration does not depend on where they differ. */
export function sameToken(a: string, b: string): boolean {
  if (a.length !== b.length || a.length === 0) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/** Where a sign-in may send the browser back to: a path of this site only, never another origin. */
export function localPath(next: string | undefined, fallback = '/'): string {
  if (!next?.startsWith('/') || next.startsWith('//') || next.startsWith('/\\')) return fallback;
  return next;
}
