import { type Command, integer, positionalCount } from '../command.ts';
import { describeValue, formatBytes } from '../output.ts';

/** What the server's collector reports (src/revisions/gc.ts); unknown fields are shown as they come. */
interface GcReport {
  dryRun?: boolean;
  kept?: Record<string, number>;
  deleted?: Record<string, number>;
  bytesFreed?: number;
  keys?: string[];
  keysTruncated?: boolean;
  repointed?: number;
  warnings?: string[];
  [key: string]: unknown;
}

const KEYS_SHOWN = 20;

export const gc: Command = {
  name: 'gc',
  summary: 'delete objects no kept revision refers to',
  usage: ['repod gc [--dry-run] [--keep <n>]'],
  description:
    'Garbage-collects the store: revisions beyond the newest --keep of each distribution (tagged ones are kept) and the blobs nothing kept refers to. ' +
    '--dry-run reports what would go without deleting anything (--json lists the keys).',
  options: {
    'dry-run': { type: 'boolean', short: 'n', help: 'report what would be deleted, delete nothing' },
    keep: { type: 'string', short: 'k', arg: 'n', help: "revisions to keep per distribution (the server's default otherwise)" },
  },
  examples: ['repod gc --dry-run', 'repod gc --keep 50'],
  api: ['POST /api/v1/gc {"dry_run", "keep"?}'],

  async run(ctx) {
    positionalCount(ctx, 'gc', 0, 0, '');
    const keep = integer(ctx.values, 'keep', 'gc', { min: 1 });
    const dryRun = ctx.values['dry-run'] === true;
    const r = await ctx.client.post<GcReport>('/api/v1/gc', { dry_run: dryRun, ...(keep !== undefined ? { keep } : {}) });
    if (ctx.out.json) return ctx.out.document(r);
    const { dryRun: dry, kept, deleted, bytesFreed, keys, keysTruncated, repointed, warnings, ...rest } = r;
    const isDry = dry ?? dryRun;
    const deletedTotal = Object.values(deleted ?? {}).reduce((a, b) => a + (typeof b === 'number' ? b : 0), 0);
    ctx.out.line(
      `gc${isDry ? ' (dry run, nothing deleted)' : ''}: ${deletedTotal} objects${isDry ? ' would be' : ''} deleted, ${formatBytes(bytesFreed ?? 0)}${isDry ? ' would be' : ''} freed`,
    );
    if (kept)
      ctx.out.line(
        `  kept: ${Object.entries(kept)
          .map(([k, v]) => `${v} ${k}`)
          .join(', ')}`,
      );
    const nonzero = Object.entries(deleted ?? {}).filter(([, v]) => v);
    if (nonzero.length) ctx.out.line(`  ${isDry ? 'would delete' : 'deleted'}: ${nonzero.map(([k, v]) => `${v} ${k}`).join(', ')}`);
    if (repointed) ctx.out.line(`  repointed: ${repointed} by-hash pointers`);
    for (const w of warnings ?? []) ctx.out.line(`  warning: ${w}`);
    if (keys?.length) {
      ctx.out.line(`  keys${isDry ? ' that would go' : ''}:`);
      for (const k of keys.slice(0, KEYS_SHOWN)) ctx.out.line(`    ${k}`);
      const more = keys.length - KEYS_SHOWN;
      if (more > 0 || keysTruncated) ctx.out.line(`    (${more > 0 ? `${more} more` : 'more'}${keysTruncated ? ', list truncated by the server' : ''}; --json lists them)`);
    }
    for (const l of Object.keys(rest).length ? describeValue(rest, '  ') : []) ctx.out.line(l);
  },
};
