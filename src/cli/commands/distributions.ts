import { type Command, positionalCount } from '../command.ts';
import { formatTime, shortId } from '../output.ts';

interface DistributionInfo {
  name: string;
  kind: string;
  architectures?: string[];
  components?: string[];
  revision: { id: string; number: number; updated?: string } | null;
}

export const distributions: Command = {
  name: 'distributions',
  summary: 'list the configured distributions and their current revisions',
  usage: ['repod distributions'],
  options: {},
  api: ['GET /api/v1/distributions'],

  async run(ctx) {
    positionalCount(ctx, 'distributions', 0, 0, '');
    const r = await ctx.client.get<{ distributions: DistributionInfo[] }>('/api/v1/distributions');
    if (ctx.out.json) return ctx.out.document(r);
    ctx.out.table(
      ['NAME', 'KIND', 'ARCHITECTURES', 'COMPONENTS', 'REVISION', 'ID', 'UPDATED'],
      (r.distributions ?? []).map((d) => [
        d.name,
        d.kind,
        d.architectures?.join(','),
        d.components?.join(','),
        d.revision?.number,
        d.revision ? shortId(d.revision.id) : undefined,
        formatTime(d.revision?.updated),
      ]),
    );
  },
};
