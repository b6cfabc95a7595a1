import type { RevisionSummary } from '../../revisions/history.ts';
import { Csrf, Layout, renderPage, type Viewer, when } from '../layout.tsx';
import type { PackageRow } from '../package-search.ts';

export interface DistributionView {
  name: string;
  kind: 'rpm' | 'apt';
  architectures: string[];
  components: string[];
  private: boolean;
}

export interface DistributionPageData {
  dist: DistributionView;
  current: RevisionSummary | null;
  search: { query: string; rows: PackageRow[]; next: string | null; partial: boolean; after?: string };
  history: { revisions: RevisionSummary[]; next: number | null };
  tags: Array<{ name: string; number: number; revision: string; updated: string }>;
  base: string;
  setup: string;
  canMaintain: boolean;
}

const distPath = (name: string) => `/ui/distributions/${encodeURIComponent(name)}`;

/** One distribution: its packages (searched, paged), its revisions (compare, roll back), tags and pinned URLs, client set-up. */
export function distributionPage(viewer: Viewer, data: DistributionPageData): Promise<string> {
  const { dist, current, search, history } = data;
  const path = distPath(dist.name);
  const nextHref = search.next ? `${path}?${new URLSearchParams({ q: search.query, after: search.next })}#packages` : null;
  const severityShown = search.rows.some((r) => r.severity);
  const pinnedRoot = dist.kind === 'rpm' ? `/${dist.architectures[0]}/` : '';
  return renderPage(
    <Layout title={dist.name} viewer={viewer}>
      <h1>
        {dist.name} <span class="muted">({dist.kind === 'rpm' ? 'RPM' : 'APT'})</span>
      </h1>
      <p>
        Architectures: {dist.architectures.join(', ')}
        {dist.kind === 'apt' ? <> · Components: {dist.components.join(', ')}</> : null}
        {dist.private ? ' · private' : ''}
        {current ? (
          <>
            {' '}
            · Revision {current.number}, {current.packageCount} packages, published {when(current.created)} by {current.author}
          </>
        ) : (
          ' · never published'
        )}
      </p>

      <section aria-labelledby="packages">
        <h2 id="packages">Packages</h2>
        <form method="get" action={path} aria-label="Package search" class="row">
          <div>
            <label for="q">Search packages</label>
            <input type="search" id="q" name="q" value={search.query} placeholder="name:hello arch:x86_64 version:2 severity:high text" aria-describedby="q-help" />
          </div>
          <button type="submit">Search</button>
        </form>
        <p id="q-help" class="muted">
          <code>name:</code> starts the name, <code>version:</code> starts the version, <code>arch:</code> is the architecture, <code>severity:</code> (critical, high, medium, low)
          keeps packages with an advisory at least that severe; other words appear anywhere in the package's name.
        </p>
        {search.rows.length ? (
          <table>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Version</th>
                <th scope="col">Architecture</th>
                {dist.kind === 'apt' ? <th scope="col">Component</th> : null}
                <th scope="col">File</th>
                {severityShown ? <th scope="col">Severity</th> : null}
              </tr>
            </thead>
            <tbody>
              {search.rows.map((r) => (
                <tr>
                  <th scope="row">
                    <a href={`${path}/packages/${r.sha256}`}>{r.name}</a>
                  </th>
                  <td>{r.version}</td>
                  <td>{r.arch}</td>
                  {dist.kind === 'apt' ? <td>{r.component}</td> : null}
                  <td>
                    <code>{r.file}</code>
                  </td>
                  {severityShown ? (
                    <td>
                      <a href={`/ui/security?${new URLSearchParams({ distribution: dist.name })}`} class={r.severity === 'critical' || r.severity === 'high' ? 'bad' : undefined}>
                        {r.severity}
                      </a>
                    </td>
                  ) : null}
                </tr>
              ))}
            </tbody>
          </table>
        ) : (
          <p class="muted">{search.partial ? 'No match in this part of the distribution yet.' : 'No packages match.'}</p>
        )}
        <nav class="pager" aria-label="Package pages">
          {search.after ? <a href={`${path}?${new URLSearchParams({ q: search.query })}#packages`}>First page</a> : null}
          {nextHref ? <a href={nextHref}>{search.partial ? 'Keep searching' : 'Next page'}</a> : null}
        </nav>
      </section>

      <section aria-labelledby="revisions">
        <h2 id="revisions">Revisions</h2>
        {history.revisions.length ? (
          <>
            <form id="compare" method="get" action={`${path}/compare`}></form>
            <table>
              <thead>
                <tr>
                  <th scope="col">From</th>
                  <th scope="col">To</th>
                  <th scope="col">Revision</th>
                  <th scope="col">When</th>
                  <th scope="col">Who</th>
                  <th scope="col">What</th>
                  <th scope="col">Packages</th>
                  {data.canMaintain ? <th scope="col">Roll back</th> : null}
                </tr>
              </thead>
              <tbody>
                {history.revisions.map((r, i) => (
                  <tr>
                    <td>
                      <input type="radio" form="compare" name="a" value={String(r.number)} checked={i === 1} aria-label={`Compare from revision ${r.number}`} />
                    </td>
                    <td>
                      <input type="radio" form="compare" name="b" value={String(r.number)} checked={i === 0} aria-label={`Compare to revision ${r.number}`} />
                    </td>
                    <th scope="row">
                      {r.number}
                      {r.restoredFrom ? <span class="muted"> (rollback)</span> : null}
                    </th>
                    <td>{when(r.created)}</td>
                    <td>{r.author}</td>
                    <td>
                      {r.message}{' '}
                      <span class="muted">
                        (+{r.added} −{r.removed})
                      </span>
                    </td>
                    <td>{r.packageCount}</td>
                    {data.canMaintain ? (
                      <td>
                        {i > 0 && viewer.csrf ? (
                          <form class="inline" method="post" action={`${path}/rollback`}>
                            <Csrf token={viewer.csrf} />
                            <input type="hidden" name="revision" value={String(r.number)} />
                            <button type="submit" class="secondary">
                              Roll back to {r.number}
                            </button>
                          </form>
                        ) : null}
                      </td>
                    ) : null}
                  </tr>
                ))}
              </tbody>
            </table>
            <p class="row">
              <button type="submit" form="compare">
                Compare the chosen revisions
              </button>
              {history.next !== null ? <a href={`${path}?${new URLSearchParams({ before: String(history.next + 1) })}#revisions`}>Older revisions</a> : null}
            </p>
          </>
        ) : (
          <p class="muted">No revisions yet.</p>
        )}
      </section>

      <section aria-labelledby="pins">
        <h2 id="pins">Tags and pinned URLs</h2>
        <p>A revision's URL never changes what it serves. The current revision is pinned at:</p>
        {current ? <pre data-copy="the pinned URL">{`${data.base}/revisions/${dist.name}/${current.number}${pinnedRoot}`}</pre> : null}
        {data.tags.length ? (
          <table>
            <thead>
              <tr>
                <th scope="col">Tag</th>
                <th scope="col">Revision</th>
                <th scope="col">Updated</th>
                <th scope="col">URL</th>
              </tr>
            </thead>
            <tbody>
              {data.tags.map((t) => (
                <tr>
                  <th scope="row">{t.name}</th>
                  <td>{t.number}</td>
                  <td>{when(t.updated)}</td>
                  <td>
                    <code>{`${data.base}/tags/${dist.name}/${t.name}${pinnedRoot}`}</code>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : (
          <p class="muted">No tags.</p>
        )}
      </section>

      <section aria-labelledby="setup">
        <h2 id="setup">Client set-up</h2>
        <p>
          Signed with the key at <a href={`/repos/${encodeURIComponent(dist.name)}/gpg.key`}>{`${data.base}/repos/${dist.name}/gpg.key`}</a>.
        </p>
        <pre data-copy={`the client set-up for ${dist.name}`}>{data.setup}</pre>
      </section>
    </Layout>,
  );
}
