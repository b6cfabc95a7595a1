/**
 * The Release file of an APT distribution (dists/<codename>/Release), laid out as
 * `apt-ftparchive release` writes it: the header fields, then one section per hash, each line
 * " <hash> <size right-aligned in 16 columns> <path relative to dists/<codename>/>".
 * repod lists SHA256 only: it is what apt (since 1.1) verifies and fetches by-hash under, and
 * every further hash would cost a pass over every index at each revision.
 */
export interface ReleaseFile {
  path: string;
  size: number;
  sha256: string;
}

export interface ReleaseInput {
  origin?: string;
  label?: string;
  suite?: string;
  codename: string;
  date: Date;
  architectures: string[];
  components: string[];
  description?: string;
  files: ReleaseFile[];
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const two = (n: number) => String(n).padStart(2, '0');

/** RFC 2822 date in UTC, as apt-ftparchive writes it: "Sun, 22 Nov 2026 20:01:02 +0000". */
export function releaseDate(date: Date): string {
  return `${DAYS[date.getUTCDay()]}, ${two(date.getUTCDate())} ${MONTHS[date.getUTCMonth()]} ${date.getUTCFullYear()} ${two(date.getUTCHours())}:${two(date.getUTCMinutes())}:${two(date.getUTCSeconds())} +0000`;
}

function field(name: string, value: string | undefined): string {
  return value === undefined || value === '' ? '' : `${name}: ${value}\n`;
}

export function renderRelease(input: ReleaseInput): string {
  let out = '';
  out += field('Origin', input.origin);
  out += field('Label', input.label);
  out += field('Suite', input.suite);
  out += field('Codename', input.codename);
  out += field('Date', releaseDate(input.date));
  out += field('Acquire-By-Hash', 'yes');
  out += field('Architectures', input.architectures.join(' '));
  out += field('Components', input.components.join(' '));
  out += field('Description', input.description);
  const files = [...input.files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  out += 'SHA256:\n';
  for (const f of files) out += ` ${f.sha256} ${String(f.size).padStart(16)} ${f.path}\n`;
  return out;
}
