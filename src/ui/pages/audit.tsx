import type { AuditEvent } from '../../security/audit-log.ts';
import { Layout, renderPage, type Viewer, when } from '../layout.tsx';

export interface AuditPageData {
  events: AuditEvent[];
  filter: { actor: string; action: string; since: string };
  /** The query string of the next page, or null on the last. */
  next: string | null;
}

/** The audit log (auditor role and above): every write, newest first, filtered by actor, action and time. */
export function auditPage(viewer: Viewer, data: AuditPageData): Promise<string> {
  return renderPage(
    <Layout title="Audit log" viewer={viewer}>
      <h1>Audit log</h1>
      <form method="get" action="/ui/audit" class="row" aria-label="Filter the audit log">
        <div>
          <label for="audit-actor">Actor</label>
          <input type="text" id="audit-actor" name="actor" value={data.filter.actor} />
        </div>
        <div>
          <label for="audit-action">Action starts with</label>
          <input type="text" id="audit-action" name="action" value={data.filter.action} placeholder="POST /ui/admin" />
        </div>
        <div>
          <label for="audit-since">Since (date or time)</label>
          <input type="text" id="audit-since" name="since" value={data.filter.since} placeholder="2026-01-31" />
        </div>
        <button type="submit">Filter</button>
      </form>
      {data.events.length ? (
        <table>
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Actor</th>
              <th scope="col">Action</th>
              <th scope="col">Target</th>
              <th scope="col">Status</th>
              <th scope="col">Address</th>
            </tr>
          </thead>
          <tbody>
            {data.events.map((e) => (
              <tr>
                <td>{when(e.time)}</td>
                <th scope="row">
                  {e.actor}
                  {e.role ? <span class="muted"> ({e.role})</span> : null}
                </th>
                <td>
                  <code>{e.action}</code>
                </td>
                <td>{e.target ?? e.path ?? ''}</td>
                <td class={e.status >= 400 ? 'bad' : undefined}>{e.status}</td>
                <td>{e.address}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <p class="muted">No recorded writes match.</p>
      )}
      <nav class="pager" aria-label="Audit log pages">
        {data.next ? <a href={`/ui/audit?${data.next}`}>Older events</a> : null}
      </nav>
    </Layout>,
  );
}
