/** Medians and formatting for the benchmark tables. */
export function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Milliseconds as "812 ms" or "12.3 s". */
export function fmtMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '-';
  if (ms < 10) return `${ms.toFixed(1)} ms`;
  if (ms < 10_000) return `${ms.toFixed(0)} ms`;
  return `${(ms / 1000).toFixed(1)} s`;
}

export function fmtMiB(kib: number | null | undefined): string {
  if (kib === null || kib === undefined || !Number.isFinite(kib)) return '-';
  return `${(kib / 1024).toFixed(0)} MiB`;
}

/** createrepo_c time / repod time as "3.5x faster" or, below 1, "19x slower". */
export function fmtRatio(createrepo: number, repod: number): string {
  if (!Number.isFinite(createrepo) || !Number.isFinite(repod) || createrepo <= 0 || repod <= 0) return '-';
  const r = createrepo / repod;
  const x = (v: number) => (v >= 10 ? v.toFixed(0) : v.toFixed(1));
  return r >= 1 ? `${x(r)}x faster` : `${x(1 / r)}x slower`;
}

/** A plain text table: the first row is the header, columns after the first are right-aligned. */
export function table(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  const line = (r: string[]) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ');
  return [line(rows[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}
