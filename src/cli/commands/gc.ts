import { integer, positionalCount, type Command } from '../command.ts';
import { describeValue } from '../output.ts';

export const gc: Command = {
  name: 'gc',
  summary: 'delete objects no kept revision refers to',
  usage: ['repod gc [--dry-run] [--keep <n>]'],
  description: 'Garbage-collects the store: revisions beyond the newest --keep of each distribution (tagged ones are kept) and blobs nothing kept refers to. --dry-run reports without deleting.',
  options: {
    'dry-run': { type: 'boolean', short: 'n', help: 'report what would be deleted, delete nothing' },
    keep: { type: 'string', short: 'k', arg: 'n', help: 'revisions to keep per distribution (the server\'s default otherwise)' },
  },
  examples: ['repod gc --dry-run', 'repod gc --keep 50'],
  api: ['POST /api/v1/gc {"dry_run", "keep"?}'],

  async run(ctx) {
    positionalCount(ctx, 'gc', 0, 0, '');
    const keep = integer(ctx.values, 'keep', 'gc', { min: 1 });
    const dryRun = ctx.values['dry-run'] === true;
    const r = await ctx.client.post<Record<string, unknown>>('/api/v1/gc', { dry_run: dryRun, ...(keep !== undefined ? { keep } : {}) });
    if (ctx.out.json) return ctx.out.document(r);
    ctx.out.line(dryRun ? 'gc (dry run, nothing deleted):' : 'gc:');
    for (const l of describeValue(r, '  ')) ctx.out.line(l);
  },
};
