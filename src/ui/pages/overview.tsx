import { Layout, renderPage, type Viewer, when } from '../layout.tsx';

export interface DistributionSummary {
  name: string;
  kind: 'rpm' | 'apt';
  architectures: string[];
  private: boolean;
  packageCount: number;
  /** Packages per architecture (from the chunk references: no chunk is read). */
  perArch: Record<string, number>;
  revision: { id: string; number: number; created: string; author: string; message: string } | null;
}

export interface ActivityItem {
  time: string;
  actor: string;
  what: string;
  href?: string;
}

/** The front page: every distribution the viewer may see, where each stands, and what happened lately. */
export function overviewPage(viewer: Viewer, data: { distributions: DistributionSummary[]; activity: ActivityItem[]; audit: ActivityItem[] | null }): Promise<string> {
  return renderPage(
    <Layout title="Overview" viewer={viewer}>
      <h1>Distributions</h1>
      <table>
        <caption class="muted" style="text-align:left">
          {data.distributions.length} distributions
        </caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Kind</th>
            <th scope="col">Architectures</th>
            <th scope="col">Packages</th>
            <th scope="col">Revision</th>
            <th scope="col">Last publish</th>
          </tr>
        </thead>
        <tbody>
          {data.distributions.map((d) => (
            <tr>
              <th scope="row">
                <a href={`/ui/distributions/${encodeURIComponent(d.name)}`}>{d.name}</a>
                {d.private ? <span class="muted"> (private)</span> : null}
              </th>
              <td>{d.kind === 'rpm' ? 'RPM' : 'APT'}</td>
              <td>{d.architectures.join(', ')}</td>
              <td>
                {d.packageCount}
                {Object.keys(d.perArch).length > 1 ? (
                  <span class="muted">
                    {' '}
                    (
                    {Object.entries(d.perArch)
                      .map(([a, n]) => `${a} ${n}`)
                      .join(', ')}
                    )
                  </span>
                ) : null}
              </td>
              <td>{d.revision ? d.revision.number : <span class="muted">none</span>}</td>
              <td>
                {d.revision ? (
                  <>
                    {when(d.revision.created)} by {d.revision.author}
                  </>
                ) : (
                  <span class="muted">never published</span>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <h2>Recent activity</h2>
      {data.activity.length ? (
        <ul>
          {data.activity.map((a) => (
            <li>
              {when(a.time)}: <strong>{a.actor}</strong> {a.href ? <a href={a.href}>{a.what}</a> : a.what}
            </li>
          ))}
        </ul>
      ) : (
        <p class="muted">Nothing published yet.</p>
      )}
      {data.audit ? (
        <>
          <h2>Audit log</h2>
          {data.audit.length ? (
            <ul>
              {data.audit.map((a) => (
                <li>
                  {when(a.time)}: <strong>{a.actor}</strong> {a.what}
                </li>
              ))}
            </ul>
          ) : (
            <p class="muted">No recorded writes in the last 30 days.</p>
          )}
        </>
      ) : null}
    </Layout>,
  );
}
