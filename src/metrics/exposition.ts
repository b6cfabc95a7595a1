import type { HistogramSample, Labels, MetricFamily, Sample } from './registry.ts';

/**
 * The Prometheus text exposition format (version 0.0.4): `# HELP`, `# TYPE`, then one line per
 * sample; a histogram as cumulative `_bucket{le=...}` lines ending with `+Inf`, then `_sum` and
 * `_count`. Also sums the families of several processes into one (a REPOD_WORKERS cluster).
 */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

function escapeHelp(text: string): string {
  return text.replaceAll('\\', '\\\\').replaceAll('\n', '\\n');
}

function escapeLabel(value: string): string {
  return value.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n');
}

function number(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Number.POSITIVE_INFINITY) return '+Inf';
  if (value === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(value);
}

function labelText(labels: Labels, extra?: [string, string]): string {
  const pairs = Object.entries(labels).filter(([, v]) => v !== '');
  if (extra) pairs.push(extra);
  return pairs.length ? `{${pairs.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',')}}` : '';
}

export function renderExposition(families: MetricFamily[]): string {
  const lines: string[] = [];
  for (const family of families) {
    lines.push(`# HELP ${family.name} ${escapeHelp(family.help)}`, `# TYPE ${family.name} ${family.type}`);
    if (family.type === 'histogram') {
      for (const s of family.samples) {
        family.bounds.forEach((bound, i) => {
          lines.push(`${family.name}_bucket${labelText(s.labels, ['le', number(bound)])} ${number(s.buckets[i])}`);
        });
        lines.push(`${family.name}_bucket${labelText(s.labels, ['le', '+Inf'])} ${number(s.count)}`);
        lines.push(`${family.name}_sum${labelText(s.labels)} ${number(s.sum)}`, `${family.name}_count${labelText(s.labels)} ${number(s.count)}`);
      }
    } else {
      for (const s of family.samples) lines.push(`${family.name}${labelText(s.labels)} ${number(s.value)}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

const keyOf = (labels: Labels) => JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

/**
 * Counters and histograms of several processes, summed series by series (same name, same
 * labels). Families keep the order they first appear in.
 */
export function sumFamilies(sets: MetricFamily[][]): MetricFamily[] {
  const merged = new Map<string, MetricFamily>();
  for (const families of sets) {
    for (const family of families) {
      const into = merged.get(family.name);
      if (!into) {
        merged.set(family.name, structuredClone(family));
        continue;
      }
      if (into.type !== family.type) continue;
      if (into.type === 'histogram' && family.type === 'histogram') {
        if (into.bounds.join() !== family.bounds.join()) continue;
        const byKey = new Map<string, HistogramSample>(into.samples.map((s) => [keyOf(s.labels), s]));
        for (const s of family.samples) {
          const found = byKey.get(keyOf(s.labels));
          if (!found) {
            const copy = structuredClone(s);
            into.samples.push(copy);
            byKey.set(keyOf(s.labels), copy);
            continue;
          }
          for (let i = 0; i < s.buckets.length; i++) found.buckets[i] += s.buckets[i];
          found.sum += s.sum;
          found.count += s.count;
        }
      } else if (into.type !== 'histogram' && family.type !== 'histogram') {
        const byKey = new Map<string, Sample>(into.samples.map((s) => [keyOf(s.labels), s]));
        for (const s of family.samples) {
          const found = byKey.get(keyOf(s.labels));
          if (found) found.value += s.value;
          else {
            const copy = { labels: { ...s.labels }, value: s.value };
            into.samples.push(copy);
            byKey.set(keyOf(s.labels), copy);
          }
        }
      }
    }
  }
  return [...merged.values()];
}
