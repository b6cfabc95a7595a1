/**
 * APT `Contents-<arch>` indexes, as `apt-ftparchive contents` writes them (ftparchive/contents.cc):
 * one line per path, `path`, padding to column 60 (tabs to each tab stop that does not pass it,
 * then spaces; at least one space), then the comma-separated locations (`section/package`) of the
 * packages holding it. Directories are not listed; paths have no leading "./" or "/". Lines are
 * sorted by path bytes (apt walks a tree sorted per path component with strcmp, which gives the
 * same order); a path in several packages gets one line, the first package seen first, then the
 * others most recent first (apt's duplicate list); no header.
 */
import type { DebControl } from '../../formats/deb/control.ts';

const encoder = new TextEncoder();

function byteLength(text: string): number {
  // ASCII fast path; apt counts bytes.
  // eslint-disable-next-line no-control-regex
  return /^[\x00-\x7f]*$/.test(text) ? text.length : encoder.encode(text).length;
}

/** apt's GenContents::WriteSpace(): from column `current` to column 60 (at least one blank). */
export function contentsPadding(current: number, target = 60): string {
  if (target <= current) target = current + 1;
  let out = '';
  while ((Math.floor(current / 8) + 1) * 8 < target) {
    out += '\t';
    current = (Math.floor(current / 8) + 1) * 8;
  }
  return out + ' '.repeat(target - current);
}

/**
 * The location apt-ftparchive gives a package: `<section>/<package>` (apt's flCombine), or the
 * package alone when it has no section.
 */
export function contentsLocation(control: DebControl): string {
  const section = control.get('Section')?.trim() ?? '';
  if (section === '') return control.package;
  return section.endsWith('/') ? `${section}${control.package}` : `${section}/${control.package}`;
}

function cleanPath(path: string): string | undefined {
  let p = path.startsWith('./') ? path.slice(2) : path;
  p = p.replace(/^\/+/, '');
  if (p === '' || p.endsWith('/')) return undefined;
  return p;
}

/**
 * One package's Contents lines (each ending in "\n"), in the order of `files`: what the full index
 * holds for a path only this package has. `files` is DebParseResult.files.
 */
export function contentsLines(files: Iterable<string>, location: string): string {
  let out = '';
  for (const file of files) {
    const path = cleanPath(file);
    if (path === undefined) continue;
    out += `${path}${contentsPadding(byteLength(path))}${location}\n`;
  }
  return out;
}

/** Byte order of UTF-8 paths, the order of Contents lines. */
export function compareContentsPaths(a: string, b: string): number {
  if (a === b) return 0;
  // UTF-16 code unit order equals UTF-8 byte order except around surrogate pairs; compare code points.
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const ca = a.codePointAt(i)!;
    const cb = b.codePointAt(i)!;
    if (ca !== cb) return ca < cb ? -1 : 1;
    if (ca > 0xffff) i++;
  }
  return a.length < b.length ? -1 : a.length > b.length ? 1 : 0;
}

/**
 * A whole Contents index from packages given in processing order, identical to
 * `apt-ftparchive contents` over the same packages. Holds every path in memory: for tests and small
 * repositories; large ones merge pre-sorted per-package fragments instead.
 */
export function renderContentsIndex(packages: Iterable<{ location: string; files: Iterable<string> }>): string {
  const byPath = new Map<string, string[]>();
  for (const { location, files } of packages) {
    for (const file of files) {
      const path = cleanPath(file);
      if (path === undefined) continue;
      const holders = byPath.get(path);
      if (holders === undefined) {
        byPath.set(path, [location]);
      } else if (!holders.some((h) => h.toLowerCase() === location.toLowerCase())) {
        // apt links a new duplicate right after the first holder.
        holders.splice(1, 0, location);
      }
    }
  }
  const paths = [...byPath.keys()].sort(compareContentsPaths);
  let out = '';
  for (const path of paths) out += `${path}${contentsPadding(byteLength(path))}${byPath.get(path)!.join(',')}\n`;
  return out;
}
