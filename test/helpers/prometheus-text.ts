/**
 * A strict reader of the Prometheus text exposition format (0.0.4), written for the tests from
 * the format's description: it refuses what a Prometheus server would refuse (a sample before its
 * TYPE, a bad name or label, a bad escape, a histogram whose buckets are not cumulative or whose
 * +Inf bucket is not its count, a series twice) instead of guessing. (parse-prometheus-text-format
 * from npm merges labelled histogram series and drops their _sum and _count, so it cannot check
 * ours.)
 */
export interface Series {
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';
  /** Every sample line of the family, histogram parts (`_bucket`, `_sum`, `_count`) under their own names. */
  samples: Array<Series & { name: string }>;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function parseNumber(text: string, line: string): number {
  if (text === '+Inf') return Number.POSITIVE_INFINITY;
  if (text === '-Inf') return Number.NEGATIVE_INFINITY;
  if (text === 'NaN') return Number.NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) throw new Error(`bad value ${JSON.stringify(text)} in: ${line}`);
  return Number(text);
}

function parseLabels(text: string, line: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let i = 0;
  while (i < text.length) {
    const eq = text.indexOf('=', i);
    const name = text.slice(i, eq);
    if (eq < 0 || !LABEL.test(name) || text[eq + 1] !== '"') throw new Error(`bad label at ${i} in: ${line}`);
    let value = '';
    let j = eq + 2;
    for (; j < text.length && text[j] !== '"'; j++) {
      if (text[j] === '\\') {
        const next = text[++j];
        if (next === 'n') value += '\n';
        else if (next === '\\' || next === '"') value += next;
        else throw new Error(`bad escape \\${next} in: ${line}`);
      } else value += text[j];
    }
    if (j >= text.length) throw new Error(`unterminated label value in: ${line}`);
    if (name in labels) throw new Error(`label ${name} twice in: ${line}`);
    labels[name] = value;
    i = j + 1;
    if (text[i] === ',') i++;
    else if (i < text.length) throw new Error(`expected , after a label in: ${line}`);
  }
  return labels;
}

export function parsePrometheusText(text: string): Family[] {
  if (!text.endsWith('\n')) throw new Error('the exposition must end with a newline');
  const families = new Map<string, Family>();
  const seen = new Set<string>();
  let current: Family | null = null;
  for (const line of text.slice(0, -1).split('\n')) {
    if (line === '') continue;
    const comment = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
    if (comment) {
      const [, kind, name, rest] = comment;
      if (!NAME.test(name)) throw new Error(`bad metric name in: ${line}`);
      let family = families.get(name);
      if (!family) {
        family = { name, help: '', type: 'untyped', samples: [] };
        families.set(name, family);
      } else if (current !== family) throw new Error(`${name} is described in two places`);
      if (kind === 'HELP') family.help = rest.replaceAll('\\n', '\n').replaceAll('\\\\', '\\');
      else {
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(rest)) throw new Error(`bad type in: ${line}`);
        if (family.samples.length) throw new Error(`TYPE after samples in: ${line}`);
        family.type = rest as Family['type'];
      }
      current = family;
      continue;
    }
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: (-?\d+))?$/.exec(line);
    if (!m) throw new Error(`bad sample line: ${line}`);
    const [, name, labelText, valueText] = m;
    const family = current && (name === current.name || (current.type === 'histogram' && /^(.*)_(bucket|sum|count)$/.exec(name)?.[1] === current.name)) ? current : null;
    if (!family) throw new Error(`sample ${name} outside its family (no TYPE before it)`);
    const labels = parseLabels(labelText ?? '', line);
    const key = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    if (seen.has(key)) throw new Error(`series twice: ${line}`);
    seen.add(key);
    family.samples.push({ name, labels, value: parseNumber(valueText, line) });
  }
  for (const family of families.values()) if (family.type === 'histogram') checkHistogram(family);
  return [...families.values()];
}

/** Buckets cumulative and ordered by `le`, ending at +Inf equal to _count, with a _sum. */
function checkHistogram(family: Family): void {
  const groups = new Map<string, { buckets: Array<[number, number]>; sum?: number; count?: number }>();
  for (const s of family.samples) {
    const { le, ...rest } = s.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    const group = groups.get(key) ?? { buckets: [] };
    groups.set(key, group);
    if (s.name.endsWith('_bucket')) group.buckets.push([parseNumber(le, `le of ${family.name}`), s.value]);
    else if (s.name.endsWith('_sum')) group.sum = s.value;
    else if (s.name.endsWith('_count')) group.count = s.value;
  }
  for (const [key, g] of groups) {
    const last = g.buckets.at(-1);
    if (!last || last[0] !== Number.POSITIVE_INFINITY) throw new Error(`${family.name}${key}: no +Inf bucket last`);
    for (let i = 1; i < g.buckets.length; i++) {
      if (!(g.buckets[i][0] > g.buckets[i - 1][0]) || g.buckets[i][1] < g.buckets[i - 1][1]) throw new Error(`${family.name}${key}: buckets not cumulative`);
    }
    if (g.count !== last[1] || g.sum === undefined) throw new Error(`${family.name}${key}: _count must equal the +Inf bucket, with a _sum`);
  }
}

/** The sum of the samples named `name` whose labels include `labels` (a histogram: pass `<name>_count`). */
export function sampleValue(families: Family[], name: string, labels: Record<string, string> = {}): number {
  const samples = families.flatMap((f) => f.samples).filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (!families.some((f) => f.name === name || f.samples.some((s) => s.name === name))) throw new Error(`${name} is not exposed`);
  return samples.reduce((n, s) => n + s.value, 0);
}
