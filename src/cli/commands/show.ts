import { type Command, distOption, positionalCount, required } from '../command.ts';
import { seg } from '../http-client.ts';
import { formatTime, plural, shortId } from '../output.ts';
import { change, type RevisionSummary } from './revisions.ts';

interface RevisionDetail extends RevisionSummary {
  changes?: { added?: unknown[]; removed?: unknown[] };
  packages?: Array<{ label: string; arch?: string; file?: string; sha256?: string }>;
}

/** A change entry may be a label string or an object naming one. */
export function labelOf(entry: unknown): string {
  if (typeof entry === 'string') return entry;
  const e = (entry ?? {}) as Record<string, unknown>;
  for (const k of ['label', 'nevra', 'filename', 'file', 'name']) if (typeof e[k] === 'string') return e[k] as string;
  return JSON.stringify(entry);
}

export const show: Command = {
  name: 'show',
  summary: 'show one revision: its change and its packages',
  usage: ['repod show --dist <name> <revision>'],
  description: 'A revision is named by its number or its id.',
  options: { dist: distOption },
  examples: ['repod show --dist rocky9 12', 'repod show --dist rocky9 3f2a1c9d8e7b... --json'],
  api: ['GET /api/v1/distributions/<dist>/revisions/<revision>'],

  async run(ctx) {
    positionalCount(ctx, 'show', 1, 1, 'the revision (number or id)');
    const dist = required(ctx.values, 'dist', 'show');
    const r = await ctx.client.get<RevisionDetail>(`/api/v1/distributions/${seg(dist)}/revisions/${seg(ctx.positionals[0])}`);
    if (ctx.out.json) return ctx.out.document(r);
    ctx.out.line(`revision ${r.number} of ${dist}`);
    ctx.out.line(`  id:       ${r.id}`);
    ctx.out.line(`  parent:   ${r.parent ?? '-'}`);
    ctx.out.line(`  created:  ${formatTime(r.created)}`);
    ctx.out.line(`  author:   ${r.author ?? '-'}`);
    ctx.out.line(`  message:  ${r.message ?? '-'}`);
    ctx.out.line(`  packages: ${r.packageCount ?? r.packages?.length ?? '-'} (${change(r)})`);
    if (r.parts?.length) {
      ctx.out.line(`${plural(r.parts.length, 'change')} joined (group commit), in order:`);
      for (const [i, p] of r.parts.entries()) {
        ctx.out.line(`  ${i + 1}. ${p.author ?? '-'}: ${p.message ?? '-'} (${change(p)})`);
        for (const a of Array.isArray(p.added) ? p.added : []) ctx.out.line(`     + ${labelOf(a)}`);
        for (const d of Array.isArray(p.removed) ? p.removed : []) ctx.out.line(`     - ${labelOf(d)}`);
      }
    }
    const added = r.changes?.added ?? [];
    const removed = r.changes?.removed ?? [];
    if (added.length || removed.length) {
      ctx.out.line('changes:');
      for (const a of added) ctx.out.line(`  + ${labelOf(a)}`);
      for (const d of removed) ctx.out.line(`  - ${labelOf(d)}`);
    }
    const packages = r.packages ?? [];
    ctx.out.line(`${plural(packages.length, 'package')}:`);
    if (packages.length)
      ctx.out.table(
        ['PACKAGE', 'ARCH', 'FILE', 'SHA256'],
        packages.map((p) => [p.label, p.arch, p.file, shortId(p.sha256)]),
        { indent: '  ' },
      );
  },
};
