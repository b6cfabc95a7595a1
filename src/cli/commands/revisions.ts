import { type Command, distOption, integer, positionalCount, required } from '../command.ts';
import { seg } from '../http-client.ts';
import { count, formatTime, shortId } from '../output.ts';

export interface RevisionSummary {
  id: string;
  number: number;
  parent: string | null;
  created: string;
  author?: string;
  message?: string;
  packageCount?: number;
  added?: number | unknown[];
  removed?: number | unknown[];
  /** A grouped revision's changes, each with its author and message. */
  parts?: Array<{ author?: string; message?: string; added?: number | unknown[]; removed?: number | unknown[] }>;
}

export const revisions: Command = {
  name: 'revisions',
  summary: "list a distribution's revisions, newest first",
  usage: ['repod revisions --dist <name> [--limit <n>] [--before <number>]'],
  description: 'Lists revisions newest first, a page at a time; the footer names the option that shows the next page.',
  options: {
    dist: distOption,
    limit: { type: 'string', short: 'n', arg: 'n', help: "at most n revisions (the server's default page otherwise)" },
    before: { type: 'string', arg: 'number', help: 'only revisions numbered below this one (the next page)' },
  },
  examples: ['repod revisions --dist rocky9 --limit 10', 'repod revisions --dist rocky9 --before 40 --json'],
  api: ['GET /api/v1/distributions/<dist>/revisions?limit=&before='],

  async run(ctx) {
    positionalCount(ctx, 'revisions', 0, 0, '');
    const dist = required(ctx.values, 'dist', 'revisions');
    const limit = integer(ctx.values, 'limit', 'revisions', { min: 1 });
    const before = integer(ctx.values, 'before', 'revisions');
    const answer = await ctx.client.get<{ revisions: RevisionSummary[]; next: number | null }>(`/api/v1/distributions/${seg(dist)}/revisions`, { limit, before });
    if (ctx.out.json) return ctx.out.document(answer);
    const list = answer.revisions ?? [];
    if (list.length === 0) {
      ctx.out.line(`${dist}: no revisions${before !== undefined ? ` before ${before}` : ''}`);
      return;
    }
    // A grouped revision gets one row per change under its own, so every author shows.
    ctx.out.table(
      ['#', 'ID', 'CREATED', 'AUTHOR', 'PACKAGES', 'CHANGE', 'MESSAGE'],
      list.flatMap((r) => [
        [r.number, shortId(r.id), formatTime(r.created), r.author, r.packageCount, change(r), r.message],
        ...(r.parts ?? []).map((p) => ['', '', '', `  ${p.author ?? '-'}`, '', change(p), p.message]),
      ]),
    );
    if (answer.next !== null && answer.next !== undefined) {
      ctx.out.line(`(more: repod revisions --dist ${dist}${limit ? ` --limit ${limit}` : ''} --before ${answer.next})`);
    }
  },
};

export function change(r: { added?: unknown; removed?: unknown }): string {
  const a = count(r.added);
  const d = count(r.removed);
  if (a === undefined && d === undefined) return '-';
  return `+${a ?? 0} -${d ?? 0}`;
}
