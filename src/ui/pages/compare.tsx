import type { RevisionDiff, RevisionSummary } from '../../revisions/history.ts';
import { Layout, renderPage, type Viewer, when } from '../layout.tsx';

/** What changed between two revisions of a distribution: added, removed, upgraded, downgraded. */
export function comparePage(viewer: Viewer, data: { dist: string; from: RevisionSummary; to: RevisionSummary; diff: RevisionDiff }): Promise<string> {
  const { diff, from, to } = data;
  const back = `/ui/distributions/${encodeURIComponent(data.dist)}`;
  const total = diff.added.length + diff.removed.length + diff.upgraded.length + diff.downgraded.length;
  return renderPage(
    <Layout title={`${data.dist}: revision ${from.number} to ${to.number}`} viewer={viewer}>
      <h1>
        {data.dist}: revision {from.number} → {to.number}
      </h1>
      <p>
        From {from.number} ({when(from.created)}, {from.author}) to {to.number} ({when(to.created)}, {to.author}). <a href={`${back}#revisions`}>Back to the revisions</a>
      </p>
      {total === 0 ? (
        <p class="notice" role="status">
          The two revisions hold the same packages.
        </p>
      ) : null}
      {(
        [
          ['Added', diff.added],
          ['Removed', diff.removed],
        ] as const
      ).map(([title, items]) =>
        items.length ? (
          <section>
            <h2>
              {title} ({items.length})
            </h2>
            <table>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Version</th>
                  <th scope="col">Architecture</th>
                </tr>
              </thead>
              <tbody>
                {items.map((i) => (
                  <tr>
                    <th scope="row">{title === 'Added' ? <a href={`${back}/packages/${i.sha256}`}>{i.name}</a> : i.name}</th>
                    <td>{i.version}</td>
                    <td>{i.arch}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </section>
        ) : null,
      )}
      {(
        [
          ['Upgraded', diff.upgraded],
          ['Downgraded', diff.downgraded],
        ] as const
      ).map(([title, items]) =>
        items.length ? (
          <section>
            <h2>
              {title} ({items.length})
            </h2>
            <table>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Architecture</th>
                  <th scope="col">From</th>
                  <th scope="col">To</th>
                </tr>
              </thead>
              <tbody>
                {items.map((i) => (
                  <tr>
                    <th scope="row">{i.name}</th>
                    <td>{i.arch}</td>
                    <td>{i.from}</td>
                    <td>{i.to}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </section>
        ) : null,
      )}
    </Layout>,
  );
}
