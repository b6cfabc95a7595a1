import type { PackageRecord } from '../../bucket/package-record.ts';
import type { RpmDependency } from '../../formats/rpm/model.ts';
import { Csrf, Layout, renderPage, type Viewer, when } from '../layout.tsx';
import type { PackageRow } from '../package-search.ts';

export interface PackagePageData {
  dist: { name: string; kind: 'rpm' | 'apt' };
  row: PackageRow;
  record: PackageRecord | null;
  signature: { status?: string; signers?: string[]; trusted?: boolean; checked?: string } | null;
  /** The same package name in every distribution of the same kind the viewer may see. */
  versions: Array<{ dist: string; version: string; arch: string; sha256: string }>;
  download: string;
  /** Distributions it may be promoted to (shown to maintainers and admins only). */
  promoteTargets: string[] | null;
  canRemove: boolean;
  /** Advisories of the feed that match this package now; null where the distribution has no ecosystem. */
  findings: PackageFinding[] | null;
}

/** What the package page shows of a finding (security/advisories/feed.ts Finding). */
export interface PackageFinding {
  id: string;
  aliases: string[];
  severity: string;
  cvss?: number;
  summary: string;
  fixState: string;
  fixVersions: string[];
  urls: string[];
}

/** Files listed on the page before the rest is summed up (a package can hold tens of thousands). */
const FILES_SHOWN = 500;

const dep = (d: RpmDependency) =>
  d.flags
    ? `${d.name} ${{ EQ: '=', LT: '<', LE: '<=', GT: '>', GE: '>=' }[d.flags]} ${d.epoch && d.epoch !== '0' ? `${d.epoch}:` : ''}${d.version ?? ''}${d.release ? `-${d.release}` : ''}`
    : d.name;

/** Control fields of a .deb, continuation lines joined. */
function controlFields(control: string): Map<string, string> {
  const out = new Map<string, string>();
  let last = '';
  for (const line of control.split('\n')) {
    if (/^\s/.test(line) && last) out.set(last, `${out.get(last)}\n${line.trim() === '.' ? '' : line.trim()}`);
    else {
      const m = /^([^:\s]+):\s*(.*)$/.exec(line);
      if (m) out.set((last = m[1].toLowerCase()), m[2]);
    }
  }
  return out;
}

function humanSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB'];
  let n = bytes / 1024;
  let u = 0;
  while (n >= 1024 && u < units.length - 1) {
    n /= 1024;
    u++;
  }
  return `${n.toFixed(1)} ${units[u]} (${bytes} bytes)`;
}

/** One package of one distribution: facts, dependencies, files, changelog, signature, its versions elsewhere, and the actions a role allows. */
export function packagePage(viewer: Viewer, data: PackagePageData): Promise<string> {
  const { row, record, dist } = data;
  const distPath = `/ui/distributions/${encodeURIComponent(dist.name)}`;
  const rpm = record?.kind === 'rpm' ? record.package : null;
  const control = record?.kind === 'deb' || record?.kind === 'dsc' ? controlFields(record.control) : null;
  const files = rpm ? rpm.files.map((f) => f.path) : record?.kind === 'deb' ? record.files : [];
  // A source package: the .dsc and the files it names, each downloaded from the pool directory beside it.
  const sourceFiles = record?.kind === 'dsc' ? [{ ...record.facts, name: record.facts.fileName }, ...record.files] : null;
  const beside = (name: string) => `${data.download.slice(0, data.download.lastIndexOf('/') + 1)}${encodeURIComponent(name)}`;
  const relations =
    record?.kind === 'dsc'
      ? ['Build-Depends', 'Build-Depends-Arch', 'Build-Depends-Indep', 'Build-Conflicts', 'Build-Conflicts-Arch', 'Build-Conflicts-Indep', 'Binary']
      : ['Depends', 'Pre-Depends', 'Recommends', 'Suggests', 'Conflicts', 'Breaks', 'Provides', 'Replaces'];
  const dependencies: Array<[string, string[]]> = rpm
    ? (
        [
          ['Requires', rpm.requires],
          ['Provides', rpm.provides],
          ['Conflicts', rpm.conflicts],
          ['Obsoletes', rpm.obsoletes],
          ['Recommends', rpm.recommends],
          ['Suggests', rpm.suggests],
        ] as Array<[string, RpmDependency[]]>
      )
        .filter(([, list]) => list.length > 0)
        .map(([title, list]) => [title, list.map(dep)])
    : control
      ? relations
          .filter((f) => control.has(f.toLowerCase()))
          .map((f) => [
            f,
            control
              .get(f.toLowerCase())!
              .split(',')
              .map((s) => s.trim()),
          ])
      : [];
  const sig = data.signature;
  const verdict = !sig
    ? { text: 'not checked (no verification recorded)', cls: 'muted' }
    : sig.status === 'signed'
      ? {
          text: `signed by ${sig.signers?.join(', ') || 'a known key'}${sig.trusted === false ? ' (not a key this distribution trusts)' : ''}`,
          cls: sig.trusted === false ? 'bad' : 'good',
        }
      : { text: sig.status ?? 'unknown', cls: sig.status === 'unsigned' ? 'muted' : 'bad' };
  return renderPage(
    <Layout title={`${row.name} ${row.version} (${dist.name})`} viewer={viewer}>
      <p>
        <a href={distPath}>{dist.name}</a> › {row.name}
      </p>
      <h1>
        {row.name} {row.version} <span class="muted">{row.arch}</span>
      </h1>
      {rpm?.summary || control?.get('description') ? <p>{rpm ? rpm.summary : control!.get('description')!.split('\n')[0]}</p> : null}
      <p>
        <a class="button" href={data.download} download>
          Download {row.file.split('/').pop()}
        </a>
      </p>
      <div class="grid2">
        <section aria-labelledby="facts">
          <h2 id="facts">Facts</h2>
          <dl class="facts">
            <dt>File</dt>
            <dd>
              <code>{row.file}</code>
            </dd>
            <dt>Size</dt>
            <dd>{record ? humanSize(record.facts.size) : 'unknown'}</dd>
            {rpm ? (
              <>
                <dt>Installed size</dt>
                <dd>{humanSize(rpm.installedSize)}</dd>
                <dt>License</dt>
                <dd>{rpm.license}</dd>
                <dt>Built</dt>
                <dd>
                  {when(new Date(rpm.buildTime * 1000).toISOString())} on {rpm.buildHost}
                </dd>
                {rpm.url ? (
                  <>
                    <dt>URL</dt>
                    <dd>{rpm.url}</dd>
                  </>
                ) : null}
                {rpm.sourceRpm ? (
                  <>
                    <dt>Source</dt>
                    <dd>{rpm.sourceRpm}</dd>
                  </>
                ) : null}
              </>
            ) : null}
            {control ? (
              <>
                {control.has('maintainer') ? (
                  <>
                    <dt>Maintainer</dt>
                    <dd>{control.get('maintainer')}</dd>
                  </>
                ) : null}
                {control.has('installed-size') ? (
                  <>
                    <dt>Installed size</dt>
                    <dd>{control.get('installed-size')} KiB</dd>
                  </>
                ) : null}
                {control.has('section') ? (
                  <>
                    <dt>Section</dt>
                    <dd>{control.get('section')}</dd>
                  </>
                ) : null}
              </>
            ) : null}
            <dt>SHA-256</dt>
            <dd>
              <code>{row.sha256}</code>
            </dd>
            {record?.kind === 'dsc' ? (
              <>
                <dt>Source format</dt>
                <dd>{control?.get('format') ?? '1.0'}</dd>
                <dt>.dsc signature</dt>
                <dd>{record.signed ? 'clear-signed (dpkg-source verifies it)' : 'not signed'}</dd>
              </>
            ) : null}
            {record?.kind === 'deb' || record?.kind === 'dsc' ? (
              <>
                <dt>SHA-1</dt>
                <dd>
                  <code>{record.facts.sha1}</code>
                </dd>
                <dt>MD5</dt>
                <dd>
                  <code>{record.facts.md5}</code>
                </dd>
              </>
            ) : null}
            <dt>Signature</dt>
            <dd class={verdict.cls}>{verdict.text}</dd>
          </dl>
        </section>
        <section aria-labelledby="versions">
          <h2 id="versions">Versions across distributions</h2>
          <table>
            <thead>
              <tr>
                <th scope="col">Distribution</th>
                <th scope="col">Version</th>
                <th scope="col">Architecture</th>
              </tr>
            </thead>
            <tbody>
              {data.versions.map((v) => (
                <tr>
                  <th scope="row">{v.dist}</th>
                  <td>
                    {v.sha256 === row.sha256 && v.dist === dist.name ? (
                      <strong aria-current="page">{v.version}</strong>
                    ) : (
                      <a href={`/ui/distributions/${encodeURIComponent(v.dist)}/packages/${v.sha256}`}>{v.version}</a>
                    )}
                  </td>
                  <td>{v.arch}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      </div>

      {data.findings ? (
        <section aria-labelledby="vulnerabilities">
          <h2 id="vulnerabilities">Vulnerabilities ({data.findings.length})</h2>
          {data.findings.length === 0 ? (
            <p>No advisory of the feed matches this package.</p>
          ) : (
            <table>
              <thead>
                <tr>
                  <th scope="col">Advisory</th>
                  <th scope="col">Severity</th>
                  <th scope="col">Summary</th>
                  <th scope="col">Fixed in</th>
                </tr>
              </thead>
              <tbody>
                {data.findings.map((f) => (
                  <tr>
                    <th scope="row">
                      {f.urls[0] ? <a href={f.urls[0]}>{f.id}</a> : f.id}
                      {f.aliases.length ? <div class="muted">{f.aliases.join(', ')}</div> : null}
                    </th>
                    <td class={`severity-${f.severity}`}>
                      {f.severity}
                      {f.cvss !== undefined ? ` (CVSS ${f.cvss.toFixed(1)})` : ''}
                    </td>
                    <td>{f.summary}</td>
                    <td>{f.fixState === 'fixed' ? f.fixVersions.join(', ') || 'fixed' : f.fixState.replaceAll('_', ' ')}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
      ) : null}

      {data.promoteTargets || data.canRemove ? (
        <section aria-labelledby="actions">
          <h2 id="actions">Actions</h2>
          {data.promoteTargets && viewer.csrf ? (
            data.promoteTargets.length ? (
              <form method="post" action={`${distPath}/packages/${row.sha256}/promote`} class="row">
                <Csrf token={viewer.csrf} />
                <div>
                  <label for="to">Promote to</label>
                  <select id="to" name="to">
                    {data.promoteTargets.map((t) => (
                      <option value={t}>{t}</option>
                    ))}
                  </select>
                </div>
                <button type="submit">Promote</button>
              </form>
            ) : (
              <p class="muted">No other distribution of this kind to promote to.</p>
            )
          ) : null}
          {data.canRemove && viewer.csrf ? (
            <form method="post" action={`${distPath}/packages/${row.sha256}/remove`} class="row">
              <Csrf token={viewer.csrf} />
              <button type="submit" class="danger">
                Remove from {dist.name}
              </button>
            </form>
          ) : null}
        </section>
      ) : null}

      {rpm?.description || control?.has('description') ? (
        <section aria-labelledby="description">
          <h2 id="description">Description</h2>
          <pre style="white-space:pre-wrap">{rpm ? rpm.description : control!.get('description')}</pre>
        </section>
      ) : null}

      <section aria-labelledby="dependencies">
        <h2 id="dependencies">Dependencies</h2>
        {dependencies.length ? (
          dependencies.map(([title, list]) => (
            <details open={title === 'Requires' || title === 'Depends'}>
              <summary>
                {title} ({list.length})
              </summary>
              <ul>
                {list.map((d) => (
                  <li>
                    <code>{d}</code>
                  </li>
                ))}
              </ul>
            </details>
          ))
        ) : (
          <p class="muted">None recorded.</p>
        )}
      </section>

      {sourceFiles ? (
        <section aria-labelledby="source-files">
          <h2 id="source-files">Source files ({sourceFiles.length})</h2>
          <table>
            <thead>
              <tr>
                <th scope="col">File</th>
                <th scope="col">Size</th>
                <th scope="col">SHA-256</th>
              </tr>
            </thead>
            <tbody>
              {sourceFiles.map((f) => (
                <tr>
                  <th scope="row">
                    <a href={beside(f.name)} download>
                      {f.name}
                    </a>
                  </th>
                  <td>{humanSize(f.size)}</td>
                  <td>
                    <code>{f.sha256}</code>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      ) : null}

      <section aria-labelledby="files">
        <h2 id="files">Files ({files.length})</h2>
        <details>
          <summary>Show the files</summary>
          <ul>
            {files.slice(0, FILES_SHOWN).map((f) => (
              <li>
                <code>{f}</code>
              </li>
            ))}
          </ul>
          {files.length > FILES_SHOWN ? <p class="muted">… and {files.length - FILES_SHOWN} more.</p> : null}
        </details>
      </section>

      <section aria-labelledby="changelog">
        <h2 id="changelog">Changelog</h2>
        {rpm?.changelogs.length ? (
          rpm.changelogs.slice(0, 20).map((entry) => (
            <article>
              <h3 style="font-size:1rem">
                {when(new Date(entry.date * 1000).toISOString()).slice(0, 10)} {entry.author}
              </h3>
              <pre style="white-space:pre-wrap">{entry.text}</pre>
            </article>
          ))
        ) : (
          <p class="muted">{record?.kind === 'deb' || record?.kind === 'dsc' ? 'repod does not keep the changelogs of Debian packages.' : 'No changelog entries.'}</p>
        )}
      </section>
    </Layout>,
  );
}
