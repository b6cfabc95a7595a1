import { type Command, positionalCount, required } from '../command.ts';
import { type CopyAnswer, printCopy } from './promote.ts';

export const migrate: Command = {
  name: 'migrate',
  summary: 'copy every package of one distribution into another',
  usage: ['repod migrate --from <dist> --to <dist>'],
  description: 'Publishes the packages of --from into --to as one new revision of --to (references only, no bytes copied).',
  options: {
    from: { type: 'string', arg: 'dist', help: 'source distribution' },
    to: { type: 'string', arg: 'dist', help: 'target distribution' },
  },
  examples: ['repod migrate --from rocky9-testing --to rocky9'],
  api: ['POST /api/v1/distributions/migrate {"from_dist", "to_dist"}'],

  async run(ctx) {
    positionalCount(ctx, 'migrate', 0, 0, '');
    const from = required(ctx.values, 'from', 'migrate');
    const to = required(ctx.values, 'to', 'migrate');
    const r = await ctx.client.post<CopyAnswer>('/api/v1/distributions/migrate', { from_dist: from, to_dist: to });
    if (ctx.out.json) return ctx.out.document(r);
    printCopy(ctx, 'migrated', from, to, r);
  },
};
