import type { BatchResult } from '../../revisions/publish.ts';
import { Csrf, Layout, renderPage, type Viewer } from '../layout.tsx';

/**
 * The upload form. Without JavaScript it posts every chosen file at once (one revision); the
 * page's script adds drag and drop and sends each file on its own with its progress, then shows the
 * validation steps of each file's answer and the newest revision.
 */
export function uploadPage(viewer: Viewer, data: { distributions: string[]; selected?: string }): Promise<string> {
  return renderPage(
    <Layout title="Upload" viewer={viewer}>
      <h1>Upload packages</h1>
      <form method="post" action="/ui/upload" enctype="multipart/form-data" data-upload>
        {viewer.csrf ? <Csrf token={viewer.csrf} /> : null}
        <p>
          <label for="distribution">Distribution</label>
          <select id="distribution" name="distribution" required>
            {data.distributions.map((d) => (
              <option value={d} selected={d === data.selected}>
                {d}
              </option>
            ))}
          </select>
        </p>
        <div class="drop">
          <label for="file">Package files (.rpm or .deb)</label>
          <input type="file" id="file" name="file" multiple required accept=".rpm,.deb" />
          <p class="muted">or drop them here</p>
          <p id="upload-chosen" aria-live="polite"></p>
        </div>
        <p>
          <button type="submit">Upload</button>
        </p>
      </form>
      <ul id="upload-progress" aria-label="Uploads" aria-live="polite"></ul>
      <p id="upload-result" role="status"></p>
    </Layout>,
  );
}

/** What an upload without the script did: each package's outcome and the new revision. */
export function uploadResultPage(viewer: Viewer, result: BatchResult, options: { title?: string } = {}): Promise<string> {
  const path = `/ui/distributions/${encodeURIComponent(result.distribution)}`;
  return renderPage(
    <Layout title={options.title ? 'Imported' : 'Uploaded'} viewer={viewer}>
      <h1>{options.title ?? `Upload to ${result.distribution}`}</h1>
      <p class="notice ok" role="status">
        {result.status === 'published' && result.revision
          ? `Published as revision ${result.revision.number}.`
          : result.status === 'pending_review'
            ? 'Held for review: nothing is published until a reviewer decides.'
            : 'Nothing changed: these packages were already there.'}
      </p>
      <table>
        <thead>
          <tr>
            <th scope="col">Package</th>
            <th scope="col">Version</th>
            <th scope="col">Architecture</th>
            <th scope="col">Outcome</th>
            <th scope="col">Checks</th>
          </tr>
        </thead>
        <tbody>
          {result.packages.map((p) => (
            <tr>
              <th scope="row">{p.sha256 ? <a href={`${path}/packages/${p.sha256}`}>{p.package}</a> : p.package}</th>
              <td>{p.version}</td>
              <td>{p.architecture}</td>
              <td>{p.status}</td>
              <td>
                {p.validation ? (
                  <ul class="steps">
                    {p.validation.steps.map((s) => (
                      <li class={s.passed ? 'good' : 'bad'}>
                        {s.name}: {s.message}
                      </li>
                    ))}
                  </ul>
                ) : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <p>
        <a href={`${path}#revisions`}>See the revisions of {result.distribution}</a>
      </p>
    </Layout>,
  );
}
