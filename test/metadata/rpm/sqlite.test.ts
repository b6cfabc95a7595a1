/**
 * Our sqlite metadata against createrepo_c 0.17.3 `--database` on the same files: every shared
 * RPM fixture, copies of one fixture with a header tag removed (createrepo_c writes NULL for a
 * missing tag), and a generated set (every dependency kind and flag, pre-requires, epochs, the
 * primary file filter, dirs, ghosts, long and colliding changelogs, dates past 2^31, non-ASCII
 * text). createrepo_c's databases are bzip2-compressed (its default for sqlite, while the XML is
 * gzip); ours are built with sql.js from parseRpm's model, the file's sha256, size and mtime, the
 * href createrepo_c wrote and the XML checksums from its repomd.xml. Compared with the `sqlite3`
 * command-line tool: sqlite_master (the CREATE statements' text, in creation order), every row of
 * every table as quote()d values (so NULL, '' and integer-or-text are told apart) with pkgKey
 * replaced by the package's pkgId, db_info, a few file-level pragmas, and integrity_check.
 *
 * Deliberate differences (none shows on this corpus):
 * - Rows of filelist come in order of a directory's first appearance; createrepo_c's come in
 *   GHashTable order. Nothing reads the rowid of filelist rows, so rows are compared as multisets.
 * - The model writes '' both for a missing tag and for a tag holding an empty string. Where
 *   createrepo_c writes NULL for a missing Summary, License, Group, BuildHost or Arch and '' for
 *   an empty one, we write NULL for both; rpmbuild refuses empty tags, so the missing tag is the
 *   case that happens (the tag-removed fixtures below prove it). For description, url and
 *   packager createrepo_c writes NULL either way, for vendor and sourcerpm '' either way: exact.
 * - File names that are not UTF-8: createrepo_c re-reads the dirname and the '/'-joined base
 *   names of a directory as Latin-1 separately (and binds the converted dirname with the length
 *   of the original bytes, cutting or padding it), where the model holds each whole path decoded
 *   once. Not reproducible from the model; rpmbuild cannot make such names.
 * - Byte layout of the files (page order, change counters, free pages) is not compared, only
 *   their content.
 */

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { SqlJsStatic } from 'sql.js';
import initSqlJs from 'sql.js';
import { parseRpm } from '../../../src/formats/rpm/index.ts';
import type { RpmFileFacts } from '../../../src/formats/rpm/model.ts';
import type { SqliteChecksums, SqliteDatabases, SqlitePackage } from '../../../src/metadata/rpm/sqlite.ts';
import { buildSqliteDatabases, filelistRows, SQLITE_DB_VERSION, SqliteBuilder } from '../../../src/metadata/rpm/sqlite.ts';
import { corpusFiles } from '../../helpers/corpus.ts';
import { selfBuilt } from '../../helpers/packages.ts';
import type { RpmSpec } from '../../helpers/rpmbuild.ts';
import { buildRpms } from '../../helpers/rpmbuild.ts';

/** Third-party corpus files (helpers/corpus.ts) that are packages under another name: copied into the repository as <name>.rpm. */
const RENAMED_FIXTURES = new Map<string, string>([['hello-1.0-1.x86_64.rpm-v3', 'hello-1.0-1.x86_64-v3.rpm']]);

/** sq-hello-2.0-1.x86_64.rpm with one header tag renumbered to an unknown tag, i.e. removed. */
const TAG_REMOVED = new Map<string, number>([
  ['hello-nosummary-2.0-1.x86_64.rpm', 1004],
  ['hello-nodescription-2.0-1.x86_64.rpm', 1005],
  ['hello-nobuildhost-2.0-1.x86_64.rpm', 1007],
  ['hello-nolicense-2.0-1.x86_64.rpm', 1014],
  ['hello-nogroup-2.0-1.x86_64.rpm', 1016],
]);

const DAY = 86400;
const T = 1600000000;
/** Past 2^31: createrepo_c binds times with sqlite3_bind_int, so these come out negative. */
const FAR = 2200000000;

const CORPUS: RpmSpec[] = [
  // No URL, packager or vendor; the base of TAG_REMOVED.
  { name: 'sq-hello', version: '2.0', release: '1', license: 'GPL', group: 'Applications/Text', files: [{ path: '/usr/bin/sq-hello', mode: '0755' }] },
  {
    name: 'sq-flags',
    epoch: 2,
    version: '3.4.5',
    release: '6',
    requires: ['req-lt < 1', 'req-le <= 2:1.0', 'req-eq = 1.0-1', 'req-ge >= 0:3', 'req-gt > 4.0-2.el9', 'req-plain', 'dup', 'dup'],
    provides: ['prov-eq = 5:1.2-3', 'prov-plain', 'prov(paren) = 1', 'prov-le <= 2'],
    conflicts: ['con-lt < 1', 'con-ge >= 4', 'con-plain'],
    obsoletes: ['obs-lt < 1:1-1', 'obs-gt > 5'],
    files: [{ path: '/usr/bin/sq-flags', mode: '0755' }],
  },
  {
    name: 'sq-weak',
    arch: 'noarch',
    recommends: ['rec-a', 'rec-b >= 1.0', '(rec-c if rec-d)'],
    suggests: ['sug-a', 'sug-b = 2-1'],
    supplements: ['sup-a', '(sup-b and sup-c)'],
    enhances: ['enh-a < 9', 'enh-b'],
  },
  {
    name: 'sq-pre',
    arch: 'noarch',
    scripts: { pre: 'exit 0', post: 'exit 0', preun: 'exit 0' },
    requiresPre: ['pre-only', 'shadow-utils'],
    requiresPost: ['post-only'],
    requires: ['shadow-utils', 'plain-req'],
  },
  {
    name: 'sq-req-filter',
    version: '2.0',
    files: [{ path: '/usr/bin/sq-req-filter', mode: '0755' }, { path: '/usr/share/sq-req-filter/data' }, { path: '/etc/sq-req-filter.conf', kind: 'config' }],
    requires: ['/usr/bin/sq-req-filter', '/usr/share/sq-req-filter/data', 'self-cap = 1.0', 'libc.so.6()(64bit)', 'libc.so.6(GLIBC_2.34)(64bit)', 'zzz-last'],
    provides: ['self-cap = 1.0'],
  },
  { name: 'sq-epoch-none', arch: 'noarch' },
  { name: 'sq-epoch-zero', epoch: 0, arch: 'noarch', requires: ['sq-epoch-none = 0:1.0-1'] },
  { name: 'sq-epoch-big', epoch: 4294, version: '1.0~rc1^post2', release: '0.1.fc40', arch: 'noarch' },
  {
    name: 'sq-files',
    files: [
      { path: '/usr/bin/fm', mode: '0755' },
      { path: '/usr/sbin/fm-admin', mode: '0755' },
      { path: '/bin/fm-old' },
      { path: '/etc/fm', kind: 'dir' },
      { path: '/etc/fm/fm.conf', kind: 'config' },
      { path: '/etc/fm.d/x.conf' },
      { path: '/opt/fm/bin/tool' },
      { path: '/usr/lib/sendmail' },
      { path: '/usr/lib/sendmail.cf' },
      { path: '/usr/share/fm', kind: 'dir' },
      { path: '/usr/share/fm/empty-dir', kind: 'dir' },
      { path: '/usr/share/fm/with space.txt' },
      { path: '/usr/share/fm/amp&lt<gt>.txt' },
      { path: '/usr/share/fm/ünïcødé-文件.txt' },
      { path: '/usr/bin/ünï' },
      { path: '/var/log/fm.log', kind: 'ghost' },
      { path: '/etc/fm/ghost.conf', kind: 'ghost' },
      { path: '/run/fm', kind: 'ghost' },
      { path: '/usr/lib/fm-link', kind: 'symlink', target: '../bin/fm' },
      { path: '/usr/share/doc/fm/README', kind: 'doc' },
    ],
  },
  { name: 'sq-nofiles', arch: 'noarch' },
  {
    name: 'sq-changelog-long',
    arch: 'noarch',
    changelog: Array.from({ length: 14 }, (_, i) => ({
      time: T + i * DAY,
      author: 'Dev ' + i + ' <dev' + i + '@example.com> - 1.0-' + i,
      text: '- change number ' + i,
    })),
  },
  {
    name: 'sq-changelog-same',
    arch: 'noarch',
    changelog: [
      { time: T, author: 'A <a@example.com> - 3', text: '- three' },
      { time: T, author: 'B <b@example.com> - 2', text: '- two' },
      { time: T, author: 'C <c@example.com> - 1', text: '- one' },
      { time: T - DAY, author: 'D <d@example.com> - 0', text: '- zero' },
    ],
  },
  {
    name: 'sq-changelog-chars',
    arch: 'noarch',
    changelog: [
      { time: T, author: 'Tomáš Ünïcødé <t@example.com> - 1.0-1', text: '- Fix <tags> & "quotes" \'apostrophes\'\n- Ünïcødé 😀 text' },
      { time: T - 5 * DAY, author: 'Plain <p@example.com>', text: '- first' },
    ],
  },
  // Dates past 2^31 in a changelog and in the build time (and the file's mtime, set below).
  {
    name: 'sq-far-future',
    arch: 'noarch',
    sourceDateEpoch: FAR,
    files: [{ path: '/usr/share/sq-far/a.txt' }],
    changelog: [
      { time: FAR + DAY, author: 'Future <f@example.com> - 2', text: '- later' },
      { time: T, author: 'Past <p@example.com> - 1', text: '- earlier' },
    ],
  },
  {
    name: 'sq-text',
    summary: 'Summary with <markup> & "quotes" and ünïcødé',
    license: 'GPL-2.0-or-later AND (MIT OR Apache-2.0)',
    description: 'First line & <second>\n\n  Indented "quoted" text\twith a tab.\nÜnïcødé: 日本語 😀.',
    url: 'https://example.com/path?a=1&b=<2>',
    vendor: 'Vendor & Co',
    packager: 'Pàckager <p@example.com>',
    group: 'Applications/Ünïcødé',
  },
  {
    name: 'sq_name.dots+plus',
    version: '1.2.3+git20240101.abc',
    release: '7.el9_3',
    arch: 'noarch',
    provides: ['bundled(golang(github.com/x/y)) = 0.0.0-20240101', 'pkgconfig(foo) >= 1.2', 'perl(Foo::Bar) = 0.01'],
    requires: ['(pkg-a >= 1.0 with pkg-a < 2.0)', 'font(:lang=en)'],
  },
  {
    name: 'sq-multi',
    version: '5.0',
    subpackages: 3,
    files: [
      { path: '/usr/share/sq-multi', kind: 'dir' },
      { path: '/usr/bin/sq-multi', mode: '0755' },
    ],
  },
  {
    name: 'sq-many-files',
    files: Array.from({ length: 300 }, (_, i) => ({
      path: (i % 10 === 0 ? '/usr/bin/mf-' : i % 3 === 0 ? '/usr/share/sq-many/a/f-' : '/usr/share/sq-many/b/f-') + i,
    })),
  },
  { name: 'sq-autodeps', files: [{ path: '/usr/bin/sq-autodeps.sh', mode: '0755', content: '#!/bin/sh\necho hi\n' }] },
  { name: 'sq-obsoletes', version: '2.0', provides: ['sq-old = 2.0-1'], obsoletes: ['sq-old < 2.0-1'], conflicts: ['other-thing'] },
];

const TABLES = {
  primary: ['db_info', 'packages', 'files', 'requires', 'provides', 'conflicts', 'obsoletes', 'suggests', 'enhances', 'recommends', 'supplements'],
  filelists: ['db_info', 'packages', 'filelist'],
  other: ['db_info', 'packages', 'changelog'],
} as const;
type Kind = keyof typeof TABLES;
const KINDS: Kind[] = ['primary', 'filelists', 'other'];

function sqlite(db: string, sql: string): Record<string, unknown>[] {
  const run = spawnSync('sqlite3', ['-batch', '-bail', '-json', db, sql], { encoding: 'utf8', maxBuffer: 512 * 1024 * 1024 });
  assert.equal(run.status, 0, `sqlite3 ${db} failed: ${run.stderr}`);
  return run.stdout.trim() === '' ? [] : (JSON.parse(run.stdout) as Record<string, unknown>[]);
}

/** Every row of a table as a JSON array of quote()d values, pkgKey replaced by the package's pkgId; sorted. */
function tableRows(db: string, table: string): string[] {
  const columns = sqlite(db, `PRAGMA table_info(${table})`).map((c) => String(c.name));
  assert.ok(columns.length > 0, `${db} has no table ${table}`);
  const select = columns
    .filter((c) => !(table === 'packages' && c === 'pkgKey'))
    .map((c) => (c === 'pkgKey' ? `quote((SELECT pkgId FROM packages p WHERE p.pkgKey = t.pkgKey)) AS c_${c}` : `quote(t.${c}) AS c_${c}`));
  return sqlite(db, `SELECT ${select.join(', ')} FROM ${table} t`)
    .map((row) => JSON.stringify(Object.values(row)))
    .sort();
}

function schema(db: string): string[] {
  return sqlite(db, 'SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY rowid').map((r) => JSON.stringify(r));
}

function normalizeSql(statement: string): string {
  return statement.replace(/\s+/g, ' ').replace(/\( /g, '(').replace(/ \)/g, ')').trim();
}

/** Up to `max` rows on each side that the other lacks, for a readable failure. */
function rowDifference(ours: string[], theirs: string[], max = 5): string {
  const count = (rows: string[]) => rows.reduce((m, r) => m.set(r, (m.get(r) ?? 0) + 1), new Map<string, number>());
  const a = count(ours);
  const b = count(theirs);
  const only = (x: Map<string, number>, y: Map<string, number>) =>
    [...x]
      .filter(([r, n]) => (y.get(r) ?? 0) < n)
      .map(([r]) => r)
      .slice(0, max);
  return `ours only:\n  ${only(a, b).join('\n  ')}\ntheirs only:\n  ${only(b, a).join('\n  ')}`;
}

/** A copy of an RPM whose main-header entry `tag` is renumbered to an unknown tag (rpm and parseRpm then see no such tag). */
function withoutTag(rpm: Uint8Array, tag: number): Uint8Array {
  const out = new Uint8Array(rpm);
  const view = new DataView(out.buffer);
  let offset = 96;
  const sigEntries = view.getUint32(offset + 8);
  const sigData = view.getUint32(offset + 12);
  offset = (offset + 16 + sigEntries * 16 + sigData + 7) & ~7;
  const entries = view.getUint32(offset + 8);
  let found = 0;
  for (let i = 0; i < entries; i++) {
    const at = offset + 16 + i * 16;
    if (view.getUint32(at) === tag) {
      view.setUint32(at, tag + 100000);
      found++;
    }
  }
  assert.equal(found, 1, `tag ${tag} not found`);
  return out;
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

describe('sqlite metadata: createrepo_c --database equivalence', () => {
  let workDir = '';
  let repoDir = '';
  let SQL: SqlJsStatic;
  let checksums: SqliteChecksums;
  const inputs: SqlitePackage[] = [];
  let ours: SqliteDatabases;
  const theirPaths = {} as Record<Kind, string>;
  const ourPaths = {} as Record<Kind, string>;
  let sqliteCompression = '';

  before(async () => {
    SQL = await initSqlJs();
    workDir = await mkdtemp(join(tmpdir(), 'repod-sqlite-eq-'));
    repoDir = join(workDir, 'repo');
    await mkdir(repoDir);
    // The third-party corpus too, when it is there.
    for (const path of corpusFiles((name) => RENAMED_FIXTURES.has(name) || name.endsWith('.rpm'))) {
      const name = basename(path);
      await copyFile(path, join(repoDir, RENAMED_FIXTURES.get(name) ?? name));
    }
    await buildRpms(CORPUS, repoDir);
    await copyFile(await selfBuilt('hello-1.0-1.src.rpm'), join(repoDir, 'sq-hello-1.0-1.src.rpm'));
    const hello = new Uint8Array(await readFile(join(repoDir, 'sq-hello-2.0-1.x86_64.rpm')));
    for (const [name, tag] of TAG_REMOVED) await writeFile(join(repoDir, name), withoutTag(hello, tag));
    // A file time past 2^31 too.
    await utimes(join(repoDir, 'sq-far-future-1.0-1.noarch.rpm'), FAR, FAR);

    const run = spawnSync('createrepo_c', ['--quiet', '--database', '--workers', '2', repoDir], { encoding: 'utf8' });
    assert.equal(run.status, 0, 'createrepo_c failed: ' + run.stderr);
    const repomd = await readFile(join(repoDir, 'repodata', 'repomd.xml'), 'utf8');
    const record = (type: string) => {
      const body = new RegExp(`<data type="${type}">([\\s\\S]*?)</data>`).exec(repomd)?.[1];
      assert.ok(body, `no ${type} in repomd.xml`);
      return { checksum: /<checksum type="sha256">([0-9a-f]{64})</.exec(body)![1], href: /<location href="([^"]+)"/.exec(body)![1], body };
    };
    checksums = { primary: record('primary').checksum, filelists: record('filelists').checksum, other: record('other').checksum };
    for (const kind of KINDS) {
      const { href, body } = record(kind + '_db');
      assert.match(body, new RegExp(`<database_version>${SQLITE_DB_VERSION}</database_version>`));
      sqliteCompression = href.slice(href.lastIndexOf('.') + 1);
      const out = spawnSync(sqliteCompression === 'bz2' ? 'bzip2' : sqliteCompression === 'xz' ? 'xz' : 'gzip', ['-dc', join(repoDir, href)], { maxBuffer: 1 << 30 });
      assert.equal(out.status, 0, `cannot decompress ${href}`);
      theirPaths[kind] = join(workDir, `theirs-${kind}.sqlite`);
      await writeFile(theirPaths[kind], out.stdout);
    }

    // Our input, in createrepo_c's pkgKey order (any order would do: rows are compared by pkgId).
    for (const row of sqlite(theirPaths.primary, 'SELECT pkgId, location_href FROM packages ORDER BY pkgKey')) {
      const href = String(row.location_href);
      const path = join(repoDir, href);
      const bytes = new Uint8Array(await readFile(path));
      const { pkg } = parseRpm(bytes);
      const facts: RpmFileFacts = {
        sha256: sha256(bytes),
        size: bytes.length,
        fileTime: Math.floor((await stat(path)).mtimeMs / 1000),
        fileName: basename(href),
      };
      assert.equal(facts.sha256, row.pkgId);
      inputs.push({ pkg, facts, href });
    }
    ours = buildSqliteDatabases(SQL, inputs, checksums);
    for (const kind of KINDS) {
      ourPaths[kind] = join(workDir, `ours-${kind}.sqlite`);
      await writeFile(ourPaths[kind], ours[kind]);
    }
  });

  after(async () => {
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  test("the corpus: every package file is in createrepo_c's databases", async (t) => {
    const files = (await readdir(repoDir)).filter((n) => n.endsWith('.rpm'));
    assert.ok(files.length >= CORPUS.length + TAG_REMOVED.size + 1, `only ${files.length} packages`);
    assert.equal(inputs.length, files.length);
    t.diagnostic(`${inputs.length} packages; createrepo_c compresses sqlite with ${sqliteCompression}`);
    assert.equal(sqliteCompression, 'bz2');
  });

  test('both sets of files pass sqlite3 integrity_check and share page size, encoding, versions', () => {
    for (const kind of KINDS) {
      for (const path of [theirPaths[kind], ourPaths[kind]]) {
        assert.deepEqual(sqlite(path, 'PRAGMA integrity_check'), [{ integrity_check: 'ok' }], path);
      }
      for (const pragma of ['page_size', 'encoding', 'user_version', 'application_id', 'auto_vacuum']) {
        assert.deepEqual(sqlite(ourPaths[kind], `PRAGMA ${pragma}`), sqlite(theirPaths[kind], `PRAGMA ${pragma}`), `${kind} ${pragma}`);
      }
    }
  });

  test('sqlite_master: the same objects with the same CREATE text, in the same order', () => {
    for (const kind of KINDS) {
      const theirs = schema(theirPaths[kind]);
      // Exact text (stricter than the normalised comparison, which is what a reader could notice).
      assert.deepEqual(schema(ourPaths[kind]), theirs, kind);
      const normalized = (rows: string[]) =>
        rows.map((r) => {
          const o = JSON.parse(r) as { sql: string | null };
          return JSON.stringify({ ...o, sql: o.sql === null ? null : normalizeSql(o.sql) });
        });
      assert.deepEqual(normalized(schema(ourPaths[kind])), normalized(theirs), kind);
      const tables = sqlite(theirPaths[kind], "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY rowid").map((r) => r.name);
      assert.deepEqual(tables, [...TABLES[kind]], kind);
    }
  });

  test('db_info: version 10 and the sha256 of the compressed XML, as createrepo_c writes it', () => {
    for (const kind of KINDS) {
      const theirs = sqlite(theirPaths[kind], 'SELECT quote(dbversion) AS v, quote(checksum) AS c FROM db_info');
      assert.deepEqual(theirs, [{ v: '10', c: `'${checksums[kind]}'` }], `createrepo_c ${kind}`);
      assert.deepEqual(sqlite(ourPaths[kind], 'SELECT quote(dbversion) AS v, quote(checksum) AS c FROM db_info'), theirs, kind);
    }
  });

  test('every table: the same rows (values and types), pkgKey matched through pkgId', (t) => {
    const failures: string[] = [];
    let total = 0;
    for (const kind of KINDS) {
      for (const table of TABLES[kind]) {
        const a = tableRows(ourPaths[kind], table);
        const b = tableRows(theirPaths[kind], table);
        total += b.length;
        if (JSON.stringify(a) !== JSON.stringify(b)) failures.push(`${kind}.${table} (${a.length} rows, createrepo_c ${b.length}):\n${rowDifference(a, b)}`);
      }
    }
    t.diagnostic(`${total} rows compared`);
    assert.deepEqual(failures, []);
  });

  test('pkgKey: 1..n in the order packages were added, the same in all three databases', () => {
    const expected = inputs.map((p, i) => ({ k: i + 1, id: p.facts.sha256 }));
    for (const kind of KINDS) assert.deepEqual(sqlite(ourPaths[kind], 'SELECT pkgKey AS k, pkgId AS id FROM packages ORDER BY pkgKey'), expected, kind);
  });

  test("the NULL rules: missing tags and empty description/url/packager are NULL, vendor/sourcerpm are ''", () => {
    const row = (file: string, columns: string) => sqlite(ourPaths.primary, `SELECT ${columns} FROM packages WHERE location_href = '${file}'`)[0];
    assert.deepEqual(row('hello-nogroup-2.0-1.x86_64.rpm', 'rpm_group IS NULL AS g, rpm_license AS l'), { g: 1, l: 'GPL' });
    assert.deepEqual(row('hello-nosummary-2.0-1.x86_64.rpm', 'summary IS NULL AS s'), { s: 1 });
    assert.deepEqual(row('sq-hello-2.0-1.x86_64.rpm', "url IS NULL AS u, rpm_packager IS NULL AS p, rpm_vendor = '' AS v"), { u: 1, p: 1, v: 1 });
    assert.deepEqual(row('sq-hello-1.0-1.src.rpm', "rpm_sourcerpm = '' AS s, arch AS a"), { s: 1, a: 'src' });
    assert.deepEqual(row('sq-far-future-1.0-1.noarch.rpm', 'time_file AS f, time_build AS b'), { f: FAR | 0, b: FAR | 0 });
  });

  test('an incremental SqliteBuilder fed in chunks, checksums given at finish, writes the same files', () => {
    const builder = new SqliteBuilder(SQL);
    for (let i = 0; i < inputs.length; i += 7) for (const p of inputs.slice(i, i + 7)) builder.add(p);
    assert.equal(builder.count, inputs.length);
    const again = builder.finish(checksums);
    for (const kind of KINDS) assert.deepEqual(again[kind], ours[kind], kind);
    assert.throws(() => builder.add(inputs[0]), /finished or disposed/);
    assert.throws(() => new SqliteBuilder(SQL).finish(), /checksums/);
  });

  test('changelog limit: all entries with a negative limit, one with 1', () => {
    const all = buildSqliteDatabases(SQL, inputs, checksums, { changelogLimit: -1 });
    const one = buildSqliteDatabases(SQL, inputs, checksums, { changelogLimit: 1 });
    const count = (bytes: Uint8Array) => {
      const db = new SQL.Database(bytes);
      try {
        return db.exec('SELECT count(*) FROM changelog')[0].values[0][0];
      } finally {
        db.close();
      }
    };
    assert.equal(
      count(all.other),
      inputs.reduce((n, p) => n + p.pkg.changelogs.length, 0),
    );
    assert.equal(count(one.other), inputs.filter((p) => p.pkg.changelogs.length > 0).length);
  });
});

describe('filelistRows', () => {
  test('groups by directory, cuts trailing slashes, names the root "/" and the empty directory "."', () => {
    assert.deepEqual(
      filelistRows([
        { path: '/', type: 'dir' },
        { path: '/usr/bin/a', type: 'file' },
        { path: '/usr', type: 'dir' },
        { path: '/usr/bin/b', type: 'ghost' },
        { path: 'hello.spec', type: 'file' },
        { path: '//x', type: 'file' },
      ]),
      [
        { dirname: '/', filenames: '//usr', filetypes: 'dd' },
        { dirname: '/usr/bin', filenames: 'a/b', filetypes: 'fg' },
        { dirname: '.', filenames: 'hello.spec', filetypes: 'f' },
        { dirname: '/', filenames: 'x', filetypes: 'f' },
      ],
    );
  });
});
