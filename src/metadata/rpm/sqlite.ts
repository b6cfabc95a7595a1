/**
 * The sqlite metadata createrepo_c 0.17 writes with `--database` (primary.sqlite,
 * filelists.sqlite, other.sqlite; database version 10), built with sql.js from the same package
 * model the XML renderers use, so both always describe the same packages the same way.
 *
 * Pure: no I/O and no `node:` imports. The caller initialises sql.js (the runtime loads its wasm),
 * compresses the results (createrepo_c uses bzip2 by default, `--general-compress-type` changes
 * it) and lists them in repomd.xml as primary_db, filelists_db and other_db.
 *
 * What goes into each column, as createrepo_c's sqlite.c and parsehdr.c decide it:
 * - packages (primary): the text fields of the model; `description`, `url` and `rpm_packager`
 *   are NULL when empty; `rpm_vendor` and `rpm_sourcerpm` are '' when absent; `summary`,
 *   `rpm_license`, `rpm_group`, `rpm_buildhost` and `arch` are NULL when the header has no such
 *   tag, which the model writes as '' (see `nullIfEmpty` below); `location_base` is NULL (no
 *   --baseurl), `checksum_type` 'sha256'. Times and header offsets are bound as 32-bit ints
 *   (sqlite3_bind_int), sizes as 64-bit.
 * - dependency tables: the entries primary.xml lists, including ones without a name; flags,
 *   epoch, version and release NULL when absent (a version without flags is kept here, where
 *   primary.xml drops it); `requires.pre` is the text 'TRUE' or 'FALSE'.
 * - files (primary): only the "primary" files (/etc/..., .../bin/..., /usr/lib/sendmail), with
 *   type 'file', 'dir' or 'ghost'.
 * - filelist: one row per directory of a package: the directory without trailing slashes ('.'
 *   for the empty directory of source packages), its entries' base names joined with '/' (the
 *   root directory's empty name written as '/'), and one letter per entry: f, d or g.
 * - changelog: the newest `changelogLimit` entries, oldest first, with createrepo_c's spreading
 *   of equal dates (as other.xml), dates bound as 32-bit ints.
 * - db_info: one row, (10, sha256 of the matching compressed XML file as listed in repomd.xml).
 */
import type { Database, SqlJsStatic, SqlValue, Statement } from 'sql.js';
import { createrepoChangelogs, isPrimaryFile } from '../../formats/rpm/index.ts';
import type { RpmDependency, RpmFile, RpmFileFacts, RpmPackage } from '../../formats/rpm/model.ts';
import { DEFAULT_CHANGELOG_LIMIT } from './other.ts';
import type { DependencyTable } from './sqlite-schema.ts';
import {
  CREATE_DB_INFO,
  DEPENDENCY_TABLES,
  FILELISTS_INDEXES,
  FILELISTS_TABLES,
  INSERT_CHANGELOG,
  INSERT_DB_INFO,
  INSERT_FILELIST,
  INSERT_PACKAGE_ID,
  INSERT_PRIMARY_FILE,
  INSERT_PRIMARY_PACKAGE,
  insertDependency,
  OTHER_INDEXES,
  OTHER_TABLES,
  PRAGMAS,
  PRIMARY_INDEXES,
  PRIMARY_TABLES,
  SQLITE_DB_VERSION,
} from './sqlite-schema.ts';

export { SQLITE_DB_VERSION };

export interface SqlitePackage {
  pkg: RpmPackage;
  facts: RpmFileFacts;
  /** The location href, exactly as in primary.xml. */
  href: string;
}

export interface SqliteDatabases {
  primary: Uint8Array;
  filelists: Uint8Array;
  other: Uint8Array;
}

/** sha256 hex of the compressed primary/filelists/other XML files, as repomd.xml lists them. */
export interface SqliteChecksums {
  primary: string;
  filelists: string;
  other: string;
}

export interface SqliteOptions {
  /** Changelog entries kept per package: createrepo_c's default 10; negative or Infinity keeps all. */
  changelogLimit?: number;
}

/**
 * Builds the three databases at once. `sql` is an initialised sql.js module; `xmlChecksums` are
 * the sha256 of the matching compressed XML files, stored in `db_info` as createrepo_c does.
 * For many packages, feed a `SqliteBuilder` chunk by chunk instead of materialising a list.
 */
export function buildSqliteDatabases(sql: SqlJsStatic, packages: Iterable<SqlitePackage>, xmlChecksums: SqliteChecksums, options: SqliteOptions = {}): SqliteDatabases {
  const builder = new SqliteBuilder(sql, xmlChecksums, options);
  try {
    for (const p of packages) builder.add(p);
    return builder.finish();
  } catch (error) {
    builder.dispose();
    throw error;
  }
}

/**
 * Incremental builder of all three databases: one open transaction per database and prepared
 * statements, so adding a package costs its rows and nothing more; indexes are made at the end.
 * Packages get pkgKey 1, 2, ... in the order they are added, the same in all three databases.
 * The checksums may be given to the constructor or, when the XML is rendered alongside, to finish().
 * After finish() or dispose() the builder is spent.
 */
export class SqliteBuilder {
  readonly #primary: PrimaryDbBuilder;
  readonly #filelists: FilelistsDbBuilder;
  readonly #other: OtherDbBuilder;
  readonly #checksums: SqliteChecksums | undefined;

  constructor(sql: SqlJsStatic, xmlChecksums?: SqliteChecksums, options: SqliteOptions = {}) {
    this.#checksums = xmlChecksums;
    const opened: { dispose(): void }[] = [];
    try {
      this.#primary = new PrimaryDbBuilder(sql);
      opened.push(this.#primary);
      this.#filelists = new FilelistsDbBuilder(sql);
      opened.push(this.#filelists);
      this.#other = new OtherDbBuilder(sql, options);
    } catch (error) {
      for (const db of opened) db.dispose();
      throw error;
    }
  }

  /** Packages added so far. */
  get count(): number {
    return this.#primary.count;
  }

  add(p: SqlitePackage): void {
    this.#primary.add(p);
    this.#filelists.add(p);
    this.#other.add(p);
  }

  /** Writes db_info and the indexes, commits and returns the three database files. */
  finish(xmlChecksums: SqliteChecksums | undefined = this.#checksums): SqliteDatabases {
    if (!xmlChecksums) throw new TypeError('SqliteBuilder.finish: the checksums of the XML files are needed for db_info');
    try {
      return {
        primary: this.#primary.finish(xmlChecksums.primary),
        filelists: this.#filelists.finish(xmlChecksums.filelists),
        other: this.#other.finish(xmlChecksums.other),
      };
    } finally {
      this.dispose();
    }
  }

  /** Frees the databases without producing anything (safe to call more than once). */
  dispose(): void {
    this.#primary.dispose();
    this.#filelists.dispose();
    this.#other.dispose();
  }
}

/** What the three single-database builders share: open, tweak, create, one transaction, finish. */
abstract class DbBuilder {
  protected db: Database | undefined;
  #statements: Statement[] = [];
  #count = 0;

  protected constructor(
    sql: SqlJsStatic,
    tables: readonly string[],
    private readonly indexes: readonly string[],
  ) {
    const db = new sql.Database();
    this.db = db;
    try {
      for (const pragma of PRAGMAS) db.run(pragma);
      db.run('BEGIN');
      db.run(CREATE_DB_INFO);
      for (const statement of tables) db.run(statement);
    } catch (error) {
      this.dispose();
      throw error;
    }
  }

  /** Packages added so far; also the pkgKey of the last one (INTEGER PRIMARY KEY counts from 1). */
  get count(): number {
    return this.#count;
  }

  protected prepare(sql: string): Statement {
    const statement = this.open().prepare(sql);
    this.#statements.push(statement);
    return statement;
  }

  protected open(): Database {
    if (!this.db) throw new Error('sqlite metadata builder: already finished or disposed');
    return this.db;
  }

  /** Inserts the package's rows; returns its pkgKey. */
  protected nextKey(): number {
    return ++this.#count;
  }

  /** Writes db_info (after the rows, before the indexes, as createrepo_c does), indexes, commits, exports. */
  finish(xmlChecksum: string): Uint8Array {
    const db = this.open();
    try {
      db.run('DELETE FROM db_info');
      db.run(INSERT_DB_INFO, [SQLITE_DB_VERSION, xmlChecksum]);
      for (const statement of this.indexes) db.run(statement);
      this.#freeStatements();
      db.run('COMMIT');
      return db.export();
    } finally {
      this.dispose();
    }
  }

  dispose(): void {
    this.#freeStatements();
    const db = this.db;
    this.db = undefined;
    db?.close();
  }

  #freeStatements(): void {
    for (const statement of this.#statements) statement.free();
    this.#statements = [];
  }
}

/** primary.sqlite: packages, the dependency tables and the primary files. */
export class PrimaryDbBuilder extends DbBuilder {
  readonly #package: Statement;
  readonly #deps: Record<DependencyTable, Statement>;
  readonly #files: Statement;

  constructor(sql: SqlJsStatic) {
    super(sql, PRIMARY_TABLES, PRIMARY_INDEXES);
    try {
      this.#package = this.prepare(INSERT_PRIMARY_PACKAGE);
      const deps = {} as Record<DependencyTable, Statement>;
      for (const table of DEPENDENCY_TABLES) deps[table] = this.prepare(insertDependency(table));
      this.#deps = deps;
      this.#files = this.prepare(INSERT_PRIMARY_FILE);
    } catch (error) {
      this.dispose();
      throw error;
    }
  }

  add({ pkg, facts, href }: SqlitePackage): number {
    this.open();
    const key = this.nextKey();
    exec(this.#package, [
      facts.sha256,
      pkg.name,
      nullIfEmpty(pkg.arch),
      pkg.version,
      pkg.epoch,
      pkg.release,
      nullIfEmpty(pkg.summary),
      nullIfEmpty(pkg.description),
      nullIfEmpty(pkg.url),
      int32(facts.fileTime),
      int32(pkg.buildTime),
      nullIfEmpty(pkg.license),
      pkg.vendor,
      nullIfEmpty(pkg.group),
      nullIfEmpty(pkg.buildHost),
      pkg.sourceRpm,
      int32(pkg.headerStart),
      int32(pkg.headerEnd),
      nullIfEmpty(pkg.packager),
      facts.size,
      pkg.installedSize,
      pkg.archiveSize,
      href,
      null,
      'sha256',
    ]);
    // createrepo_c's insertion order; the order of the rows is all it changes.
    this.#dependencies('provides', pkg.provides, key);
    this.#dependencies('conflicts', pkg.conflicts, key);
    this.#dependencies('obsoletes', pkg.obsoletes, key);
    this.#dependencies('requires', pkg.requires, key);
    this.#dependencies('suggests', pkg.suggests, key);
    this.#dependencies('enhances', pkg.enhances, key);
    this.#dependencies('recommends', pkg.recommends, key);
    this.#dependencies('supplements', pkg.supplements, key);
    for (const file of pkg.files) {
      if (isPrimaryFile(file.path)) exec(this.#files, [file.path, file.type, key]);
    }
    return key;
  }

  #dependencies(table: DependencyTable, deps: readonly RpmDependency[], key: number): void {
    const statement = this.#deps[table];
    for (const dep of deps) {
      const row: SqlValue[] = [dep.name, dep.flags ?? null, dep.epoch ?? null, dep.version ?? null, dep.release ?? null, key];
      if (table === 'requires') row.push(dep.pre ? 'TRUE' : 'FALSE');
      exec(statement, row);
    }
  }
}

/** filelists.sqlite: package ids and one filelist row per directory of each package. */
export class FilelistsDbBuilder extends DbBuilder {
  readonly #package: Statement;
  readonly #filelist: Statement;

  constructor(sql: SqlJsStatic) {
    super(sql, FILELISTS_TABLES, FILELISTS_INDEXES);
    try {
      this.#package = this.prepare(INSERT_PACKAGE_ID);
      this.#filelist = this.prepare(INSERT_FILELIST);
    } catch (error) {
      this.dispose();
      throw error;
    }
  }

  add({ pkg, facts }: SqlitePackage): number {
    this.open();
    const key = this.nextKey();
    exec(this.#package, [facts.sha256]);
    for (const row of filelistRows(pkg.files)) exec(this.#filelist, [key, row.dirname, row.filenames, row.filetypes]);
    return key;
  }
}

/** other.sqlite: package ids and changelogs. */
export class OtherDbBuilder extends DbBuilder {
  readonly #package: Statement;
  readonly #changelog: Statement;
  readonly #limit: number;

  constructor(sql: SqlJsStatic, options: SqliteOptions = {}) {
    super(sql, OTHER_TABLES, OTHER_INDEXES);
    this.#limit = options.changelogLimit ?? DEFAULT_CHANGELOG_LIMIT;
    try {
      this.#package = this.prepare(INSERT_PACKAGE_ID);
      this.#changelog = this.prepare(INSERT_CHANGELOG);
    } catch (error) {
      this.dispose();
      throw error;
    }
  }

  add({ pkg, facts }: SqlitePackage): number {
    this.open();
    const key = this.nextKey();
    exec(this.#package, [facts.sha256]);
    for (const entry of createrepoChangelogs(pkg.changelogs, this.#limit)) {
      exec(this.#changelog, [key, entry.author, int32(entry.date), entry.text]);
    }
    return key;
  }
}

export interface FilelistRow {
  dirname: string;
  filenames: string;
  filetypes: string;
}

/**
 * A package's files grouped by directory as createrepo_c's filelists.sqlite stores them (one
 * row per distinct directory string, entries in header order). Paths are split at their last
 * '/', which gives back rpm's DIRNAMES/BASENAMES for every header rpm writes. Rows come in order
 * of first appearance; createrepo_c's come in hash-table order, which no reader relies on.
 */
export function filelistRows(files: readonly RpmFile[]): FilelistRow[] {
  const dirs = new Map<string, { names: string[]; types: string }>();
  for (const file of files) {
    const slash = file.path.lastIndexOf('/');
    const dir = file.path.slice(0, slash + 1);
    const name = file.path.slice(slash + 1);
    let entry = dirs.get(dir);
    if (!entry) {
      entry = { names: [], types: '' };
      dirs.set(dir, entry);
    }
    // The root directory has an empty base name, written as '/'.
    entry.names.push(name === '' ? '/' : name);
    entry.types += file.type === 'dir' ? 'd' : file.type === 'ghost' ? 'g' : 'f';
  }
  const rows: FilelistRow[] = [];
  for (const [dir, entry] of dirs) rows.push({ dirname: dirname(dir), filenames: entry.names.join('/'), filetypes: entry.types });
  return rows;
}

/** Trailing slashes cut (a path of only slashes keeps one); the empty directory is '.'. */
function dirname(dir: string): string {
  let end = dir.length;
  while (end > 1 && dir.charCodeAt(end - 1) === 0x2f) end--;
  return end === 0 ? '.' : dir.slice(0, end);
}

/**
 * The model writes '' both for an empty string and for a tag the header lacks; createrepo_c
 * binds NULL for a missing tag and, for description, url and packager, for an empty one too.
 * An empty value here is taken as a missing tag (rpmbuild never writes these tags empty).
 */
function nullIfEmpty(value: string): string | null {
  return value === '' ? null : value;
}

/** sqlite3_bind_int: C's conversion of a 64-bit value to int (the low 32 bits, signed). */
function int32(value: number): number {
  return value | 0;
}

function exec(statement: Statement, values: SqlValue[]): void {
  statement.run(values);
}
