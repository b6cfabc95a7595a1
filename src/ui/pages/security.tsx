import { DECISION_ACTIONS } from '../../security/review/review-queue.ts';
import type { VulnerabilityReport } from '../../security/vulnerability-report.ts';
import { Csrf, Layout, renderPage, type Viewer, when } from '../layout.tsx';
import { SEVERITIES } from '../package-search.ts';

export interface ReviewRow {
  distribution: string;
  package: string;
  version: string;
  architecture: string;
  filename: string;
  sha256: string;
  submitted: string;
  submittedBy: string;
  findings: Array<{ step: string; message: string }>;
}

export interface SecurityPageData {
  distributions: string[];
  filter: { distribution: string; severity: string; page: number };
  report: VulnerabilityReport;
  /** Null when the viewer may not see the queue (below auditor). */
  queue: ReviewRow[] | null;
  canDecide: boolean;
}

const DECISION_WORDS: Record<(typeof DECISION_ACTIONS)[number], string> = {
  accept_risk: 'Accept the risk (publish)',
  exception: 'Grant an exception (publish)',
  reject: 'Reject (quarantine)',
  upgrade_required: 'Upgrade required (quarantine)',
};

/** Security: the review queue with decisions, and the vulnerabilities of published packages. */
export function securityPage(viewer: Viewer, data: SecurityPageData): Promise<string> {
  const { report, filter } = data;
  const v = report.vulnerabilities;
  const pageHref = (page: number) => `/ui/security?${new URLSearchParams({ distribution: filter.distribution, severity: filter.severity, page: String(page) })}#vulnerabilities`;
  return renderPage(
    <Layout title="Security" viewer={viewer}>
      <h1>Security</h1>
      {data.queue ? (
        <section aria-labelledby="review">
          <h2 id="review">Review queue ({data.queue.length})</h2>
          {data.queue.length ? (
            <table>
              <thead>
                <tr>
                  <th scope="col">Package</th>
                  <th scope="col">Distribution</th>
                  <th scope="col">Submitted</th>
                  <th scope="col">Findings</th>
                  {data.canDecide ? <th scope="col">Decide</th> : null}
                </tr>
              </thead>
              <tbody>
                {data.queue.map((item, i) => (
                  <tr>
                    <th scope="row">
                      {item.package} {item.version} <span class="muted">{item.architecture}</span>
                    </th>
                    <td>{item.distribution}</td>
                    <td>
                      {when(item.submitted)} by {item.submittedBy}
                    </td>
                    <td>
                      <ul>
                        {item.findings.map((f) => (
                          <li>
                            <strong>{f.step}</strong>: {f.message}
                          </li>
                        ))}
                      </ul>
                    </td>
                    {data.canDecide ? (
                      <td>
                        <form method="post" action="/ui/security/decide" aria-label={`Decide on ${item.package} ${item.version} in ${item.distribution}`}>
                          <Csrf token={viewer.csrf ?? ''} />
                          <input type="hidden" name="name" value={item.package} />
                          <input type="hidden" name="version" value={item.version} />
                          <input type="hidden" name="distribution" value={item.distribution} />
                          <p>
                            <label for={`action-${i}`}>Decision on {item.package}</label>
                            <select id={`action-${i}`} name="action" required>
                              {DECISION_ACTIONS.map((a) => (
                                <option value={a}>{DECISION_WORDS[a]}</option>
                              ))}
                            </select>
                          </p>
                          <p>
                            <label for={`justification-${i}`}>Justification for {item.package}</label>
                            <input type="text" id={`justification-${i}`} name="justification" required />
                          </p>
                          <p>
                            <label for={`expires-${i}`}>Accept {item.package} for (days)</label>
                            <input type="text" inputmode="numeric" id={`expires-${i}`} name="expires_in_days" value="90" />
                          </p>
                          <button type="submit" aria-label={`Decide on ${item.package} ${item.version} in ${item.distribution}`}>
                            Decide
                          </button>
                        </form>
                      </td>
                    ) : null}
                  </tr>
                ))}
              </tbody>
            </table>
          ) : (
            <p class="muted">Nothing waits for review.</p>
          )}
        </section>
      ) : null}

      <section aria-labelledby="vulnerabilities">
        <h2 id="vulnerabilities">Vulnerabilities of published packages</h2>
        <table class="summary">
          <caption class="muted" style="text-align:left">
            {report.packages_scanned} packages matched against the advisory feed
          </caption>
          <thead>
            <tr>
              {SEVERITIES.map((s) => (
                <th scope="col">{s}</th>
              ))}
            </tr>
          </thead>
          <tbody>
            <tr>
              {SEVERITIES.map((s) => (
                <td class={(s === 'critical' || s === 'high') && report.summary[s] ? 'bad' : undefined}>{report.summary[s]}</td>
              ))}
            </tr>
          </tbody>
        </table>
        <form method="get" action="/ui/security" class="row" aria-label="Filter vulnerabilities">
          <div>
            <label for="vuln-distribution">Distribution</label>
            <select id="vuln-distribution" name="distribution">
              <option value="">all</option>
              {data.distributions.map((d) => (
                <option value={d} selected={d === filter.distribution}>
                  {d}
                </option>
              ))}
            </select>
          </div>
          <div>
            <label for="vuln-severity">Severity</label>
            <select id="vuln-severity" name="severity">
              <option value="">any</option>
              {SEVERITIES.map((s) => (
                <option value={s} selected={s === filter.severity}>
                  {s}
                </option>
              ))}
            </select>
          </div>
          <button type="submit">Show</button>
        </form>
        {v.items.length ? (
          <table>
            <thead>
              <tr>
                <th scope="col">Advisory</th>
                <th scope="col">Severity</th>
                <th scope="col">Summary</th>
                <th scope="col">Fixed in</th>
                <th scope="col">Affected packages</th>
              </tr>
            </thead>
            <tbody>
              {v.items.map((item) => (
                <tr>
                  <th scope="row">
                    {item.urls[0] ? <a href={item.urls[0]}>{item.id}</a> : item.id}
                    {item.aliases.length ? <div class="muted">{item.aliases.join(', ')}</div> : null}
                  </th>
                  <td class={item.severity === 'Critical' || item.severity === 'High' ? 'bad' : undefined}>
                    {item.severity}
                    {item.cvss !== null ? <span class="muted"> ({item.cvss})</span> : null}
                  </td>
                  <td>{item.description}</td>
                  <td>{item.fix_versions.join(', ') || <span class="muted">not fixed</span>}</td>
                  <td>
                    <ul>
                      {item.affected_packages.map((p) => (
                        <li>
                          <a href={`/ui/distributions/${encodeURIComponent(p.distribution)}/packages/${p.sha256}`}>
                            {p.name} {p.version}
                          </a>{' '}
                          <span class="muted">
                            {p.architecture}, {p.distribution}
                          </span>
                        </li>
                      ))}
                    </ul>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : (
          <p class="muted">No published package is affected by a known advisory{filter.severity ? ` of ${filter.severity} severity` : ''}.</p>
        )}
        <nav class="pager" aria-label="Vulnerability pages">
          {v.page > 1 ? <a href={pageHref(v.page - 1)}>Previous page</a> : null}
          {v.page < v.pages ? <a href={pageHref(v.page + 1)}>Next page</a> : null}
        </nav>
      </section>
    </Layout>,
  );
}
