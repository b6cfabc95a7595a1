import { type Command, distOption, positionalCount, required } from '../command.ts';
import { seg } from '../http-client.ts';

interface DiffEntry {
  name: string;
  arch?: string;
  version?: string;
  from?: string;
  to?: string;
  component?: string;
}

interface DiffAnswer {
  added?: DiffEntry[];
  removed?: DiffEntry[];
  upgraded?: DiffEntry[];
  downgraded?: DiffEntry[];
}

export const diff: Command = {
  name: 'diff',
  summary: 'what changed between two revisions',
  usage: ['repod diff --dist <name> <from> <to>'],
  description: 'Packages added, removed, upgraded and downgraded going from revision <from> to revision <to> (numbers or ids).',
  options: { dist: distOption },
  examples: ['repod diff --dist rocky9 10 12'],
  api: ['GET /api/v1/distributions/<dist>/revisions/<from>/diff/<to>'],

  async run(ctx) {
    positionalCount(ctx, 'diff', 2, 2, 'two revisions (numbers or ids)');
    const dist = required(ctx.values, 'dist', 'diff');
    const [a, b] = ctx.positionals;
    const d = await ctx.client.get<DiffAnswer>(`/api/v1/distributions/${seg(dist)}/revisions/${seg(a)}/diff/${seg(b)}`);
    if (ctx.out.json) return ctx.out.document(d);
    const name = (e: DiffEntry) => `${e.name}${e.arch ? `.${e.arch}` : ''}`;
    const lines = [
      ...(d.added ?? []).map((e) => `+ ${name(e)} ${e.version ?? ''}`),
      ...(d.removed ?? []).map((e) => `- ${name(e)} ${e.version ?? ''}`),
      ...(d.upgraded ?? []).map((e) => `↑ ${name(e)} ${e.from} -> ${e.to}`),
      ...(d.downgraded ?? []).map((e) => `↓ ${name(e)} ${e.from} -> ${e.to}`),
    ];
    if (lines.length === 0) ctx.out.line(`${dist}: no difference between ${a} and ${b}`);
    for (const l of lines) ctx.out.line(l.trimEnd());
    const n = (x?: unknown[]) => x?.length ?? 0;
    if (lines.length) ctx.out.line(`(${n(d.added)} added, ${n(d.removed)} removed, ${n(d.upgraded)} upgraded, ${n(d.downgraded)} downgraded)`);
  },
};
