import { type Command, positionalCount, required, str } from '../command.ts';
import { describeRevision, describeValue } from '../output.ts';

export interface CopyAnswer {
  status?: string;
  revision?: { id: string; number: number } | null;
  packages?: Array<Record<string, unknown>>;
  [key: string]: unknown;
}

/** Promotion and migration answers: a summary line, then what was copied. */
export function printCopy(ctx: Parameters<Command['run']>[0], verb: string, from: string, to: string, r: CopyAnswer): void {
  const { revision, status, packages, removed, ...rest } = r;
  const where =
    status === 'unchanged'
      ? `unchanged, already there${revision ? ` (current: ${describeRevision(revision)})` : ''}`
      : revision
        ? describeRevision(revision)
        : `no new revision${status ? ` (${status})` : ''}`;
  ctx.out.line(`${verb} ${from} -> ${to}: ${where}`);
  for (const p of packages ?? []) {
    const label = p.label ?? p.nevra ?? (p.package ? `${p.package} ${p.version ?? ''} ${p.architecture ?? ''}`.trim() : p.filename);
    ctx.out.line(`  ${p.status ? `${p.status}: ` : ''}${String(label ?? JSON.stringify(p))}`);
  }
  if (Array.isArray(removed) && removed.length) rest.removed = removed;
  const details = Object.fromEntries(Object.entries(rest).filter(([k]) => !['distribution', 'message', 'from_dist', 'to_dist'].includes(k)));
  for (const l of Object.keys(details).length ? describeValue(details, '  ') : []) ctx.out.line(l);
}

export const promote: Command = {
  name: 'promote',
  summary: 'copy a package from one distribution to another',
  usage: ['repod promote <package> --from <dist> --to <dist> [--version <v>]'],
  description: 'Copies references, never bytes: the package keeps its sha256. Without --version the newest version in --from is promoted.',
  options: {
    from: { type: 'string', arg: 'dist', help: 'source distribution' },
    to: { type: 'string', arg: 'dist', help: 'target distribution' },
    version: { type: 'string', short: 'v', arg: 'v', help: 'the version to promote (default: the newest)' },
  },
  examples: ['repod promote hello --from rocky9-testing --to rocky9', 'repod promote hello --from rocky9-testing --to rocky9 --version 2.0-1'],
  api: ['POST /api/v1/distributions/promote {"package", "from_dist", "to_dist", "version"?}'],

  async run(ctx) {
    positionalCount(ctx, 'promote', 1, 1, 'the package name');
    const from = required(ctx.values, 'from', 'promote');
    const to = required(ctx.values, 'to', 'promote');
    const version = str(ctx.values, 'version');
    const r = await ctx.client.post<CopyAnswer>('/api/v1/distributions/promote', { package: ctx.positionals[0], from_dist: from, to_dist: to, ...(version ? { version } : {}) });
    if (ctx.out.json) return ctx.out.document(r);
    printCopy(ctx, `promoted ${ctx.positionals[0]}`, from, to, r);
  },
};
