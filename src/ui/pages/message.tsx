import { Layout, renderPage, type Viewer } from '../layout.tsx';

/** An error (or a notice) as a page: what happened, in the words of the error, and a way on. */
export function messagePage(viewer: Viewer, options: { title: string; message: string; status: number }): Promise<string> {
  const signIn = options.status === 401 && !viewer.principal;
  return renderPage(
    <Layout title={options.title} viewer={viewer}>
      <h1>{options.title}</h1>
      <p class={`notice ${options.status >= 400 ? 'error' : 'ok'}`} role={options.status >= 400 ? 'alert' : 'status'}>
        {options.message}
      </p>
      <p>{signIn ? <a href="/ui/sign-in">Sign in</a> : <a href="/">Back to the overview</a>}</p>
    </Layout>,
  );
}
