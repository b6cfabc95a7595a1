import { type Command, str, UsageError } from '../command.ts';
import { seg } from '../http-client.ts';
import { describeRevision, plural } from '../output.ts';

/** The server's answer (revisions/dist-repo.ts DistRepoResult), as far as the summary reads it. */
interface DistRepoAnswer {
  status: 'published' | 'unchanged';
  distribution: string;
  missing: 'fail' | 'allow' | 'skip';
  revision: { id: string; number: number } | null;
  changed: Array<{ label: string; from: string; to: string; key: string }>;
  dropped: Array<{ label: string }>;
  unsigned: Array<{ label: string }>;
}

/** `repod dist-repo <dist> <key_id>...`: Koji's dist-repo over repod's signed copies. */
export const distRepoCommand: Command = {
  name: 'dist-repo',
  summary: 'publish each package of an RPM distribution as its copy signed by the first listed key',
  usage: ['repod dist-repo <dist> <key_id>... [--allow-missing-signatures | --skip-missing-signatures] [--message <text>]'],
  description:
    "As Koji's dist-repo: the keys are key ids or fingerprints in order of preference; every package is published as its signed copy by the first key that signed one (copies come from uploads and from POST /api/v1/packages/<sha256>/signatures). Without an option a package no listed key signed refuses the whole run and names it; --allow-missing-signatures keeps such packages as they are, --skip-missing-signatures leaves them out. Nothing changed means no new revision.",
  options: {
    'allow-missing-signatures': { type: 'boolean', help: 'keep packages no listed key signed, as they are' },
    'skip-missing-signatures': { type: 'boolean', help: 'leave packages no listed key signed out of the revision' },
    message: { type: 'string', short: 'm', arg: 'text', help: 'revision message' },
  },
  examples: ['repod dist-repo rocky9 fd431d51 5a6340b3', 'repod dist-repo rocky9 fd431d51 --skip-missing-signatures'],
  api: ['POST /api/v1/distributions/<dist>/dist-repo {"keys": [...], "missing"?: "fail"|"allow"|"skip", "message"?}'],

  async run(ctx) {
    const [dist, ...keys] = ctx.positionals;
    if (!dist) throw new UsageError('missing the distribution', 'dist-repo');
    if (keys.length === 0) throw new UsageError('name at least one key id, in order of preference', 'dist-repo');
    const allow = ctx.values['allow-missing-signatures'] === true;
    const skip = ctx.values['skip-missing-signatures'] === true;
    if (allow && skip) throw new UsageError('--allow-missing-signatures and --skip-missing-signatures exclude each other', 'dist-repo');
    const message = str(ctx.values, 'message');
    const r = await ctx.client.post<DistRepoAnswer>(`/api/v1/distributions/${seg(dist)}/dist-repo`, {
      keys,
      missing: allow ? 'allow' : skip ? 'skip' : 'fail',
      ...(message !== undefined ? { message } : {}),
    });
    if (ctx.out.json) return ctx.out.document(r);
    const where = r.status === 'published' && r.revision ? describeRevision(r.revision) : 'unchanged, no new revision';
    ctx.out.line(`${r.distribution ?? dist}: ${where} (${plural(r.changed.length, 'package')} re-signed, ${r.dropped.length} dropped)`);
    for (const x of r.changed) ctx.out.line(`  signed ${x.key}: ${x.label} (${x.from.slice(0, 12)} -> ${x.to.slice(0, 12)})`);
    for (const x of r.dropped) ctx.out.line(`  dropped: ${x.label}`);
    if (r.missing === 'allow') for (const x of r.unsigned) ctx.out.line(`  kept unsigned: ${x.label}`);
  },
};
