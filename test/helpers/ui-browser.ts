/**
 * A browser's cookie jar over the app, enough for one site: the UI tests sign in, follow the
 * session cookie and post forms with the page's CSRF token as a browser does, without one.
 *
 *   const admin = await new UiBrowser(app).signIn('admin', password);
 *   await admin.post('/ui/admin/tokens', { csrf: csrfOf(await admin.page('/ui/admin')), name: 'ci' });
 */
import assert from 'node:assert/strict';

/** What the tests hand requests to: a hono app (app.request). */
export interface RequestTarget {
  request(path: string, init?: RequestInit): Response | Promise<Response>;
}

/** The CSRF token of the first form of a page. */
export const csrfOf = (html: string): string => /name="csrf" value="([^"]+)"/.exec(html)![1]!;

export class UiBrowser {
  readonly cookies = new Map<string, string>();

  constructor(private readonly app: RequestTarget) {}

  async request(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.cookies.size) headers.set('cookie', [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '));
    const res = await this.app.request(path, { ...init, headers, redirect: 'manual' });
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const [k, v] = pair!.split('=');
      if (/max-age=0/i.test(line)) this.cookies.delete(k!);
      else this.cookies.set(k!, v!);
    }
    return res;
  }

  post(path: string, fields: Record<string, string>): Promise<Response> {
    return this.request(path, { method: 'POST', body: new URLSearchParams(fields) });
  }

  /** A page's HTML, which must answer 200. */
  async page(path: string): Promise<string> {
    const res = await this.request(path);
    assert.equal(res.status, 200, `${path}: ${res.status}`);
    return res.text();
  }

  async signIn(username: string, password: string): Promise<this> {
    const form = await (await this.request('/ui/sign-in')).text();
    const res = await this.post('/ui/sign-in', { csrf: csrfOf(form), username, password, next: '/' });
    assert.equal(res.status, 303, `sign-in of ${username}: ${res.status}`);
    return this;
  }
}
