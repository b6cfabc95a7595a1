import { Layout, renderPage, type Viewer } from '../layout.tsx';

/** The sign-in form: user name and password, tied to the sign-in cookie by its CSRF field. */
export function signInPage(viewer: Viewer, options: { csrf: string; next: string; error?: string; username?: string }): Promise<string> {
  return renderPage(
    <Layout title="Sign in" viewer={viewer}>
      <h1>Sign in</h1>
      {options.error ? (
        <p class="notice error" role="alert">
          {options.error}
        </p>
      ) : null}
      <form method="post" action="/ui/sign-in">
        <input type="hidden" name="csrf" value={options.csrf} />
        <input type="hidden" name="next" value={options.next} />
        <p>
          <label for="username">User name</label>
          <input type="text" id="username" name="username" autocomplete="username" required value={options.username ?? ''} autofocus />
        </p>
        <p>
          <label for="password">Password</label>
          <input type="password" id="password" name="password" autocomplete="current-password" required />
        </p>
        <p>
          <button type="submit">Sign in</button>
        </p>
      </form>
    </Layout>,
  );
}
