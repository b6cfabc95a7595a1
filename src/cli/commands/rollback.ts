import { type Command, distOption, positionalCount, required } from '../command.ts';
import { seg } from '../http-client.ts';
import { describeRevision, shortId } from '../output.ts';

export const rollback: Command = {
  name: 'rollback',
  summary: "publish an earlier revision's content as a new revision",
  usage: ['repod rollback --dist <name> <revision>'],
  description: 'History is kept: the rollback is itself a new revision whose packages are those of <revision> (a number or an id).',
  options: { dist: distOption },
  examples: ['repod rollback --dist rocky9 11'],
  api: ['POST /api/v1/distributions/<dist>/rollback {"revision": ...}'],

  async run(ctx) {
    positionalCount(ctx, 'rollback', 1, 1, 'the revision to roll back to');
    const dist = required(ctx.values, 'dist', 'rollback');
    const arg = ctx.positionals[0];
    const revision = /^\d+$/.test(arg) ? Number(arg) : arg;
    const r = await ctx.client.post<{ status?: string; revision?: { id: string; number: number }; restored?: string }>(`/api/v1/distributions/${seg(dist)}/rollback`, { revision });
    if (ctx.out.json) return ctx.out.document(r);
    ctx.out.line(`${dist}: restored ${r.restored ? shortId(r.restored) : arg} as ${describeRevision(r.revision)}`);
  },
};
