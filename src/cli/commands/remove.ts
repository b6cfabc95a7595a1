import { basename } from 'node:path';
import { type Command, distOption, required, str, UsageError } from '../command.ts';
import { seg } from '../http-client.ts';
import { describeRevision, plural } from '../output.ts';

export const remove: Command = {
  name: 'remove',
  summary: 'remove packages from a distribution as one new revision',
  usage: ['repod remove --dist <name> [--message <text>] NEVRA_OR_FILE...'],
  description: 'Packages are named by file name (hello-2.0-1.x86_64.rpm; a path is reduced to its file name) or NEVRA (hello-0:2.0-1.x86_64).',
  options: {
    dist: distOption,
    message: { type: 'string', short: 'm', arg: 'text', help: 'revision message' },
  },
  examples: ['repod remove --dist rocky9 hello-2.0-1.x86_64.rpm animaniacs-0.1-1.noarch'],
  api: ['POST /api/v1/distributions/<dist>/remove {"packages": [...], "message"?}'],

  async run(ctx) {
    const dist = required(ctx.values, 'dist', 'remove');
    if (ctx.positionals.length === 0) throw new UsageError('name at least one package (NEVRA or file name)', 'remove');
    const packages = ctx.positionals.map((p) => (p.endsWith('.rpm') || p.endsWith('.deb') ? basename(p) : p));
    const message = str(ctx.values, 'message');
    const r = await ctx.client.post<{
      distribution: string;
      revision: { id: string; number: number } | null;
      removed: Array<{ nevra?: string; label?: string; filename?: string }>;
    }>(`/api/v1/distributions/${seg(dist)}/remove`, { packages, ...(message !== undefined ? { message } : {}) });
    if (ctx.out.json) return ctx.out.document(r);
    const removed = r.removed ?? [];
    ctx.out.line(`${r.distribution ?? dist}: ${r.revision ? describeRevision(r.revision) : 'no new revision'} (${plural(removed.length, 'package')} removed)`);
    for (const x of removed) ctx.out.line(`  - ${x.nevra ?? x.label ?? x.filename}`);
  },
};
