/**
 * The SQL createrepo_c 0.17 (src/sqlite.c, database version 10) runs to make primary.sqlite,
 * filelists.sqlite and other.sqlite, statement for statement and in the same order, so that the
 * `sql` column of `sqlite_master` (a copy of each CREATE statement) is the same text as in its
 * databases. Do not reformat these strings: the double spaces are part of the stored schema.
 */

/** createrepo_c's CR_DB_CACHE_DBVERSION, written into `db_info.dbversion` and repomd.xml's `<database_version>`. */
export const SQLITE_DB_VERSION = 10;

/** Run first in every database (before the tables of its kind). */
export const CREATE_DB_INFO = 'CREATE TABLE db_info (dbversion INTEGER, checksum TEXT)';

/** createrepo_c's dependency tables in the order it creates them and their indexes. */
export const DEPENDENCY_TABLES = ['requires', 'provides', 'conflicts', 'obsoletes', 'suggests', 'enhances', 'recommends', 'supplements'] as const;
export type DependencyTable = (typeof DEPENDENCY_TABLES)[number];

export const PRIMARY_TABLES: readonly string[] = [
  'CREATE TABLE packages (' +
    '  pkgKey INTEGER PRIMARY KEY,' +
    '  pkgId TEXT,' +
    '  name TEXT,' +
    '  arch TEXT,' +
    '  version TEXT,' +
    '  epoch TEXT,' +
    '  release TEXT,' +
    '  summary TEXT,' +
    '  description TEXT,' +
    '  url TEXT,' +
    '  time_file INTEGER,' +
    '  time_build INTEGER,' +
    '  rpm_license TEXT,' +
    '  rpm_vendor TEXT,' +
    '  rpm_group TEXT,' +
    '  rpm_buildhost TEXT,' +
    '  rpm_sourcerpm TEXT,' +
    '  rpm_header_start INTEGER,' +
    '  rpm_header_end INTEGER,' +
    '  rpm_packager TEXT,' +
    '  size_package INTEGER,' +
    '  size_installed INTEGER,' +
    '  size_archive INTEGER,' +
    '  location_href TEXT,' +
    '  location_base TEXT,' +
    '  checksum_type TEXT)',
  'CREATE TABLE files (' + '  name TEXT,' + '  type TEXT,' + '  pkgKey INTEGER)',
  ...DEPENDENCY_TABLES.map(
    (table) =>
      'CREATE TABLE ' +
      table +
      ' (' +
      '  name TEXT,' +
      '  flags TEXT,' +
      '  epoch TEXT,' +
      '  version TEXT,' +
      '  release TEXT,' +
      '  pkgKey INTEGER ' +
      (table === 'requires' ? ', pre BOOLEAN DEFAULT FALSE' : '') +
      ')',
  ),
  'CREATE TRIGGER removals AFTER DELETE ON packages' +
    '  BEGIN' +
    '    DELETE FROM files WHERE pkgKey = old.pkgKey;' +
    '    DELETE FROM requires WHERE pkgKey = old.pkgKey;' +
    '    DELETE FROM provides WHERE pkgKey = old.pkgKey;' +
    '    DELETE FROM conflicts WHERE pkgKey = old.pkgKey;' +
    '    DELETE FROM obsoletes WHERE pkgKey = old.pkgKey;' +
    '    DELETE FROM suggests WHERE pkgKey = old.pkgKey;' +
    '    DELETE FROM enhances WHERE pkgKey = old.pkgKey;' +
    '    DELETE FROM recommends WHERE pkgKey = old.pkgKey;' +
    '    DELETE FROM supplements WHERE pkgKey = old.pkgKey;' +
    '  END;',
];

/** Created when the database is closed, after every row is in (as createrepo_c does). */
export const PRIMARY_INDEXES: readonly string[] = [
  'CREATE INDEX IF NOT EXISTS packagename ON packages (name)',
  'CREATE INDEX IF NOT EXISTS packageId ON packages (pkgId)',
  'CREATE INDEX IF NOT EXISTS filenames ON files (name)',
  'CREATE INDEX IF NOT EXISTS pkgfiles ON files (pkgKey)',
  // Every dependency table gets a pkgKey index; only requires and provides one on name.
  ...DEPENDENCY_TABLES.flatMap((table, i) => [
    'CREATE INDEX IF NOT EXISTS pkg' + table + ' on ' + table + ' (pkgKey)',
    ...(i < 2 ? ['CREATE INDEX IF NOT EXISTS ' + table + 'name ON ' + table + ' (name)'] : []),
  ]),
];

export const FILELISTS_TABLES: readonly string[] = [
  'CREATE TABLE packages (' + '  pkgKey INTEGER PRIMARY KEY,' + '  pkgId TEXT)',
  'CREATE TABLE filelist (' + '  pkgKey INTEGER,' + '  dirname TEXT,' + '  filenames TEXT,' + '  filetypes TEXT)',
  'CREATE TRIGGER remove_filelist AFTER DELETE ON packages' + '  BEGIN' + '    DELETE FROM filelist WHERE pkgKey = old.pkgKey;' + '  END;',
];

export const FILELISTS_INDEXES: readonly string[] = [
  'CREATE INDEX IF NOT EXISTS keyfile ON filelist (pkgKey)',
  'CREATE INDEX IF NOT EXISTS pkgId ON packages (pkgId)',
  'CREATE INDEX IF NOT EXISTS dirnames ON filelist (dirname)',
];

export const OTHER_TABLES: readonly string[] = [
  'CREATE TABLE packages (' + '  pkgKey INTEGER PRIMARY KEY,' + '  pkgId TEXT)',
  'CREATE TABLE changelog (' + '  pkgKey INTEGER,' + '  author TEXT,' + '  date INTEGER,' + '  changelog TEXT)',
  'CREATE TRIGGER remove_changelogs AFTER DELETE ON packages' + '  BEGIN' + '    DELETE FROM changelog WHERE pkgKey = old.pkgKey;' + '  END;',
];

export const OTHER_INDEXES: readonly string[] = ['CREATE INDEX IF NOT EXISTS keychange ON changelog (pkgKey)', 'CREATE INDEX IF NOT EXISTS pkgId ON packages (pkgId)'];

export const INSERT_DB_INFO = 'INSERT INTO db_info (dbversion, checksum) VALUES (?, ?)';

export const INSERT_PRIMARY_PACKAGE =
  'INSERT INTO packages (' +
  '  pkgId, name, arch, version, epoch, release, summary, description,' +
  '  url, time_file, time_build, rpm_license, rpm_vendor, rpm_group,' +
  '  rpm_buildhost, rpm_sourcerpm, rpm_header_start, rpm_header_end,' +
  '  rpm_packager, size_package, size_installed, size_archive,' +
  '  location_href, location_base, checksum_type) ' +
  'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,' +
  '  ?, ?, ?, ?, ?, ?, ?)';

export function insertDependency(table: DependencyTable): string {
  return table === 'requires'
    ? 'INSERT INTO requires (name, flags, epoch, version, release, pkgKey, pre) VALUES (?, ?, ?, ?, ?, ?, ?)'
    : 'INSERT INTO ' + table + ' (name, flags, epoch, version, release, pkgKey) VALUES (?, ?, ?, ?, ?, ?)';
}

export const INSERT_PRIMARY_FILE = 'INSERT INTO files (name, type, pkgKey) VALUES (?, ?, ?)';
export const INSERT_PACKAGE_ID = 'INSERT INTO packages (pkgId) VALUES (?)';
export const INSERT_FILELIST = 'INSERT INTO filelist (pkgKey, dirname, filenames, filetypes)  VALUES (?, ?, ?, ?)';
export const INSERT_CHANGELOG = 'INSERT INTO changelog (pkgKey, author, date, changelog)  VALUES (?, ?, ?, ?)';

/** createrepo_c's db_tweak: nothing is synced and the journal stays in memory (it is thrown away anyway). */
export const PRAGMAS: readonly string[] = ['PRAGMA synchronous = OFF', 'PRAGMA journal_mode = MEMORY', 'PRAGMA temp_store = MEMORY'];
