import type { Child } from 'hono/jsx';
import { type Principal, roleAtLeast } from '../auth/roles.ts';

/** Who is looking at a page: their principal and the CSRF token their forms carry (null when signed out). */
export interface Viewer {
  principal: Principal | null;
  csrf: string | null;
}

/** Every page: landmarks (banner, navigation, main), a skip link, and the sign-in state. */
export function Layout(props: { title: string; viewer: Viewer; children: Child }) {
  const { principal, csrf } = props.viewer;
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${props.title} - repod`}</title>
        <link rel="stylesheet" href="/ui/assets/app.css" />
        <script src="/ui/assets/app.js" defer></script>
      </head>
      <body>
        <a class="skip" href="#main">
          Skip to content
        </a>
        <header class="site">
          <a class="brand" href="/">
            repod
          </a>
          <nav aria-label="Main">
            <ul>
              <li>
                <a href="/">Overview</a>
              </li>
              {principal && roleAtLeast(principal.role, 'uploader') ? (
                <li>
                  <a href="/ui/upload">Upload</a>
                </li>
              ) : null}
              {principal ? (
                <>
                  <li>
                    <a href="/ui/import">Import</a>
                  </li>
                  <li>
                    <a href="/ui/security">Security</a>
                  </li>
                </>
              ) : null}
              {principal && roleAtLeast(principal.role, 'auditor') ? (
                <li>
                  <a href="/ui/audit">Audit log</a>
                </li>
              ) : null}
              {principal && roleAtLeast(principal.role, 'admin') ? (
                <li>
                  <a href="/ui/admin">Admin</a>
                </li>
              ) : null}
              <li>
                <a href="/api/docs">API</a>
              </li>
            </ul>
          </nav>
          <div class="who">
            {principal && csrf ? (
              <>
                <span>
                  Signed in as <strong>{principal.subject}</strong> <span class="muted">({principal.role})</span>
                </span>
                <form class="inline" method="post" action="/ui/sign-out">
                  <input type="hidden" name="csrf" value={csrf} />
                  <button type="submit" class="secondary">
                    Sign out
                  </button>
                </form>
              </>
            ) : (
              <a href="/ui/sign-in">Sign in</a>
            )}
          </div>
        </header>
        <main id="main" tabindex={-1}>
          {props.children}
        </main>
      </body>
    </html>
  );
}

/** A whole page as text, with its doctype. */
export async function renderPage(page: { toString(): string | Promise<string> }): Promise<string> {
  return `<!doctype html>${await page.toString()}`;
}

/** A date as people read it in the UI (UTC, to the minute). */
export function when(iso: string): string {
  return iso.replace('T', ' ').replace(/:\d\d(\.\d+)?Z$/, ' UTC');
}

/** The hidden field every form of a signed-in page carries. */
export function Csrf(props: { token: string }) {
  return <input type="hidden" name="csrf" value={props.token} />;
}
