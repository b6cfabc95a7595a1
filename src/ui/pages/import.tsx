import type { CatalogPackage } from '../../import/catalog.ts';
import type { ImportSource } from '../../import/sources.ts';
import type { SyncJob } from '../../import/sync-jobs.ts';
import { Csrf, Layout, renderPage, type Viewer, when } from '../layout.tsx';

export interface ImportPageData {
  sources: ImportSource[];
  jobs: Array<Omit<SyncJob, 'events'>>;
  search: { q: string; sourceId: string; arch: string; results: CatalogPackage[] | null };
  /** Distributions packages may be imported into (not mirrors). */
  targets: string[];
  canMaintain: boolean;
  canImport: boolean;
}

const jobPath = (id: string) => `/ui/import/jobs/${encodeURIComponent(id)}`;

/** Import: upstream sources and their syncs, the catalog search, and importing a package by name. */
export function importPage(viewer: Viewer, data: ImportPageData): Promise<string> {
  const csrf = viewer.csrf ?? '';
  const names = new Map(data.sources.map((s) => [s.id, s.name]));
  return renderPage(
    <Layout title="Import" viewer={viewer}>
      <h1>Import from upstream repositories</h1>
      <section aria-labelledby="sources">
        <h2 id="sources">Sources</h2>
        {data.sources.length ? (
          <table>
            <thead>
              <tr>
                <th scope="col">Source</th>
                <th scope="col">Kind</th>
                <th scope="col">URL</th>
                <th scope="col">Last sync</th>
                {data.canMaintain ? <th scope="col">Sync</th> : null}
              </tr>
            </thead>
            <tbody>
              {data.sources.map((s) => (
                <tr>
                  <th scope="row">{s.name}</th>
                  <td>
                    {s.kind === 'rpm' ? 'RPM' : 'APT'}
                    {s.suite ? <span class="muted"> {s.suite}</span> : null}
                  </td>
                  <td>
                    <code>{s.url}</code>
                  </td>
                  <td>
                    {s.lastSync ? (
                      <a href={jobPath(s.lastSync.job)}>
                        {when(s.lastSync.at)}: {s.lastSync.count} packages
                      </a>
                    ) : (
                      <span class="muted">never</span>
                    )}
                  </td>
                  {data.canMaintain ? (
                    <td>
                      <form class="inline" method="post" action={`/ui/import/sources/${s.id}/sync`}>
                        <Csrf token={csrf} />
                        <button type="submit" class="secondary" aria-label={`Sync ${s.name}`}>
                          Sync now
                        </button>
                      </form>
                    </td>
                  ) : null}
                </tr>
              ))}
            </tbody>
          </table>
        ) : (
          <p class="muted">No sources yet.</p>
        )}
        {data.canMaintain ? (
          <details>
            <summary>Add a source</summary>
            <form method="post" action="/ui/import/sources" aria-label="Add a source">
              <Csrf token={csrf} />
              <div class="row">
                <div>
                  <label for="source-name">Source name</label>
                  <input type="text" id="source-name" name="name" required />
                </div>
                <div>
                  <label for="source-kind">Kind</label>
                  <select id="source-kind" name="kind">
                    <option value="apt">APT</option>
                    <option value="rpm">RPM</option>
                  </select>
                </div>
                <div>
                  <label for="source-url">Repository URL</label>
                  <input type="text" inputmode="url" id="source-url" name="url" required placeholder="https://deb.debian.org/debian" />
                </div>
              </div>
              <div class="row">
                <div>
                  <label for="source-suite">Suite (APT)</label>
                  <input type="text" id="source-suite" name="suite" placeholder="bookworm" />
                </div>
                <div>
                  <label for="source-components">Components (APT, space separated)</label>
                  <input type="text" id="source-components" name="components" placeholder="main" />
                </div>
                <div>
                  <label for="source-architectures">Architectures (APT, space separated)</label>
                  <input type="text" id="source-architectures" name="architectures" placeholder="amd64" />
                </div>
              </div>
              <p>
                <label for="source-key">Upstream signing key (ASCII-armored public key; without one, indexes are read unverified)</label>
                <textarea id="source-key" name="key" rows={4} cols={70}></textarea>
              </p>
              <button type="submit">Add the source</button>
            </form>
          </details>
        ) : null}
      </section>

      <section aria-labelledby="jobs">
        <h2 id="jobs">Recent syncs</h2>
        {data.jobs.length ? (
          <ul>
            {data.jobs.map((j) => (
              <li>
                <a href={jobPath(j.id)}>
                  {j.sourceName}: {j.status}
                </a>{' '}
                <span class="muted">
                  {when(j.started)}, {j.count} packages{j.message ? `, ${j.message}` : ''}
                </span>
              </li>
            ))}
          </ul>
        ) : (
          <p class="muted">No sync has run.</p>
        )}
      </section>

      <section aria-labelledby="catalog">
        <h2 id="catalog">Catalog</h2>
        <form method="get" action="/ui/import" class="row" aria-label="Catalog search">
          <div>
            <label for="catalog-q">Search the catalog</label>
            <input type="search" id="catalog-q" name="q" value={data.search.q} />
          </div>
          <div>
            <label for="catalog-source">Source</label>
            <select id="catalog-source" name="source_id">
              <option value="">all</option>
              {data.sources.map((s) => (
                <option value={String(s.id)} selected={String(s.id) === data.search.sourceId}>
                  {s.name}
                </option>
              ))}
            </select>
          </div>
          <div>
            <label for="catalog-arch">Architecture</label>
            <input type="text" id="catalog-arch" name="arch" value={data.search.arch} />
          </div>
          <button type="submit">Search</button>
        </form>
        {data.search.results === null ? null : data.search.results.length ? (
          <table>
            <thead>
              <tr>
                <th scope="col">Package</th>
                <th scope="col">Version</th>
                <th scope="col">Architecture</th>
                <th scope="col">Source</th>
                <th scope="col">Description</th>
                {data.canImport ? <th scope="col">Import</th> : null}
              </tr>
            </thead>
            <tbody>
              {data.search.results.map((p, i) => (
                <tr>
                  <th scope="row">{p.name}</th>
                  <td>{p.version}</td>
                  <td>{p.architecture}</td>
                  <td>{names.get(p.sourceId) ?? p.sourceId}</td>
                  <td>{p.description.split('\n')[0]}</td>
                  {data.canImport ? (
                    <td>
                      <form method="post" action="/ui/import/packages" class="row" aria-label={`Import ${p.name} ${p.version}`}>
                        <Csrf token={csrf} />
                        <input type="hidden" name="source_id" value={String(p.sourceId)} />
                        <input type="hidden" name="package" value={p.name} />
                        <input type="hidden" name="version" value={p.version} />
                        <div>
                          <label for={`import-dist-${i}`}>Import {p.name} into</label>
                          <select id={`import-dist-${i}`} name="distribution" required>
                            {data.targets.map((d) => (
                              <option value={d}>{d}</option>
                            ))}
                          </select>
                        </div>
                        <div>
                          <input type="checkbox" id={`import-deps-${i}`} name="with_dependencies" value="true" />{' '}
                          <label for={`import-deps-${i}`} style="display:inline">
                            with dependencies
                          </label>
                        </div>
                        <button type="submit" aria-label={`Import ${p.name} ${p.version}`}>
                          Import
                        </button>
                      </form>
                    </td>
                  ) : null}
                </tr>
              ))}
            </tbody>
          </table>
        ) : (
          <p class="muted">No package in the catalog matches.</p>
        )}
      </section>
    </Layout>,
  );
}

/** One sync: its progress so far; the page's script follows it live (the job's events). */
export function importJobPage(viewer: Viewer, job: SyncJob, canCancel: boolean): Promise<string> {
  const running = job.status === 'running';
  return renderPage(
    <Layout title={`Sync of ${job.sourceName}`} viewer={viewer}>
      <h1>Sync of {job.sourceName}</h1>
      <section aria-labelledby="job-progress" data-job-events={`${jobPath(job.id)}/events?from=${job.events.length}`}>
        <h2 id="job-progress">Progress</h2>
        <p>
          Status:{' '}
          <strong id="job-status" role="status" class={job.status === 'done' ? 'good' : job.status === 'running' ? undefined : 'bad'}>
            {job.status}
          </strong>
          , <span id="job-count">{job.count}</span> packages
        </p>
        <progress id="job-bar" aria-label="Sync progress" {...(running ? {} : { value: '1', max: '1' })}></progress>
        <ol id="job-events" aria-live="polite">
          {job.events.map((e) => (
            <li>
              {e.status}: {e.count} {e.message}
            </li>
          ))}
        </ol>
        {job.error ? (
          <p class="notice error" role="alert">
            {job.error.message}
          </p>
        ) : null}
      </section>
      {running && canCancel ? (
        <form method="post" action={`${jobPath(job.id)}/cancel`} data-job-running>
          <Csrf token={viewer.csrf ?? ''} />
          <button type="submit" class="danger">
            Cancel the sync
          </button>
        </form>
      ) : null}
      <p>
        {running ? (
          <span data-job-running>
            <a href={jobPath(job.id)}>Reload</a> ·{' '}
          </span>
        ) : null}
        <a href={`/ui/import?${new URLSearchParams({ source_id: String(job.sourceId) })}#catalog`}>Search the catalog of {job.sourceName}</a> ·{' '}
        <a href="/ui/import">Back to the sources</a>
      </p>
    </Layout>,
  );
}
