/**
 * What the CLI prints: with --json exactly one JSON document on stdout; otherwise short tables and
 * summaries. Everything goes through an `Io` so commands can be driven in tests.
 */

export interface Io {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown; isTTY?: boolean; columns?: number };
  env: Record<string, string | undefined>;
  /** Standard input as text (for --password-stdin). */
  readStdin(): Promise<string>;
}

export class Output {
  constructor(
    readonly io: Io,
    readonly json: boolean,
  ) {}

  /** The machine-readable answer: one document, pretty-printed, newline-terminated. */
  document(value: unknown): void {
    this.io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  }

  line(text = ''): void {
    this.io.stdout.write(`${text}\n`);
  }

  /** Notes for a human that must not end up in a captured value (e.g. beside a printed token). */
  note(text: string): void {
    this.io.stderr.write(`${text}\n`);
  }

  table(headers: string[], rows: Array<Array<string | number | null | undefined>>, options: { indent?: string } = {}): void {
    for (const line of table(headers, rows)) this.line(`${options.indent ?? ''}${line}`);
  }
}

/** Left-aligned columns, two spaces apart; trailing spaces trimmed. */
export function table(headers: string[], rows: Array<Array<string | number | null | undefined>>): string[] {
  const cells = [headers, ...rows.map((r) => r.map((c) => (c === null || c === undefined || c === '' ? '-' : String(c))))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells.map((r) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd(),
  );
}

export function formatBytes(n: number | undefined | null): string {
  if (n === undefined || n === null || !Number.isFinite(n)) return '-';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(v < 10 ? 1 : 0)} ${units[u]}`;
}

/** ISO timestamps as `2024-05-01 12:34:56Z`: sortable, short, unambiguous. */
export function formatTime(iso: unknown): string {
  if (typeof iso !== 'string' || !iso) return '-';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${d.toISOString().slice(0, 19).replace('T', ' ')}Z`;
}

/** Long content hashes (sha256) are cut to a prefix on screen; short ids (revision ids) stay whole. */
export function shortId(id: unknown): string {
  if (typeof id === 'string') return id.length > 20 ? id.slice(0, 12) : id;
  return id === undefined || id === null ? '-' : String(id);
}

/** A count that the server may send as a number or as the list itself. */
export function count(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (Array.isArray(value)) return value.length;
  return undefined;
}

export function plural(n: number, word: string, many = `${word}s`): string {
  return `${n} ${n === 1 ? word : many}`;
}

/** `revision 7 (3f2a1c9d8e7b)`, from {id, number} or an id string. */
export function describeRevision(rev: unknown): string {
  if (!rev) return 'no revision';
  if (typeof rev === 'string') return `revision ${shortId(rev)}`;
  const r = rev as { id?: unknown; number?: unknown; revision?: unknown };
  const id = r.id ?? r.revision;
  if (r.number !== undefined && id !== undefined) return `revision ${r.number} (${shortId(id)})`;
  if (r.number !== undefined) return `revision ${r.number}`;
  return `revision ${shortId(id)}`;
}

/**
 * A readable rendering of an answer whose shape the CLI does not know in detail (gc reports,
 * promote/migrate results): scalars as `key: value`, arrays of objects as tables, nested objects
 * indented.
 */
export function describeValue(value: unknown, indent = ''): string[] {
  if (value === null || typeof value !== 'object') return [`${indent}${scalar(value)}`];
  if (Array.isArray(value)) return describeArray(value, indent);
  const lines: string[] = [];
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    if (v !== null && typeof v === 'object') {
      if (Array.isArray(v) && v.length === 0) {
        lines.push(`${indent}${key}: none`);
        continue;
      }
      lines.push(`${indent}${key}:${Array.isArray(v) ? ` (${v.length})` : ''}`);
      lines.push(...describeValue(v, `${indent}  `));
    } else {
      lines.push(`${indent}${key}: ${scalar(v)}`);
    }
  }
  return lines;
}

function describeArray(list: unknown[], indent: string): string[] {
  if (list.every((x) => x !== null && typeof x === 'object' && !Array.isArray(x))) {
    const records = list as Array<Record<string, unknown>>;
    const keys = [...new Set(records.flatMap((r) => Object.keys(r)))];
    if (keys.every((k) => records.every((r) => r[k] === null || typeof r[k] !== 'object'))) {
      return table(
        keys.map((k) => k.toUpperCase()),
        records.map((r) => keys.map((k) => (r[k] === undefined ? undefined : scalar(r[k])))),
      ).map((l) => `${indent}${l}`);
    }
  }
  return list.flatMap((x, i) => (x !== null && typeof x === 'object' ? [`${indent}- [${i}]`, ...describeValue(x, `${indent}  `)] : [`${indent}- ${scalar(x)}`]));
}

function scalar(v: unknown): string {
  if (v === undefined || v === null) return '-';
  if (typeof v === 'string') return v;
  return JSON.stringify(v);
}
