import { type Command, distOption, positionalCount, required, str, UsageError } from '../command.ts';
import { seg } from '../http-client.ts';
import { describeRevision, formatTime, shortId } from '../output.ts';

interface TagInfo {
  name: string;
  revision: string;
  number?: number;
  updated?: string;
}

export const tag: Command = {
  name: 'tag',
  summary: 'name a revision (set, list or delete tags)',
  usage: ['repod tag --dist <name> <tag> <revision>', 'repod tag --dist <name> --list', 'repod tag --dist <name> --delete <tag>'],
  description: 'A tag is a movable name for a revision (e.g. "release-2024.05"); setting an existing tag moves it.',
  options: {
    dist: distOption,
    list: { type: 'boolean', short: 'l', help: 'list the tags' },
    delete: { type: 'string', arg: 'tag', help: 'delete this tag' },
  },
  examples: ['repod tag --dist rocky9 stable 12', 'repod tag --dist rocky9 --list', 'repod tag --dist rocky9 --delete stable'],
  api: ['PUT /api/v1/distributions/<dist>/tags/<tag> {"revision": ...}', 'GET /api/v1/distributions/<dist>/tags', 'DELETE /api/v1/distributions/<dist>/tags/<tag>'],

  async run(ctx) {
    const dist = required(ctx.values, 'dist', 'tag');
    const del = str(ctx.values, 'delete');
    const listing = ctx.values.list === true;
    if (listing && del !== undefined) throw new UsageError('--list and --delete exclude each other', 'tag');
    const base = `/api/v1/distributions/${seg(dist)}/tags`;
    if (listing) {
      positionalCount(ctx, 'tag', 0, 0, '');
      const r = await ctx.client.get<{ tags: TagInfo[] }>(base);
      if (ctx.out.json) return ctx.out.document(r);
      if (!r.tags?.length) return ctx.out.line(`${dist}: no tags`);
      ctx.out.table(
        ['TAG', 'REVISION', 'ID', 'UPDATED'],
        r.tags.map((t) => [t.name, t.number, shortId(t.revision), formatTime(t.updated)]),
      );
      return;
    }
    if (del !== undefined) {
      positionalCount(ctx, 'tag', 0, 0, '');
      const r = await ctx.client.request('DELETE', `${base}/${seg(del)}`);
      if (ctx.out.json) return ctx.out.document(r);
      ctx.out.line(`${dist}: deleted tag ${del}`);
      return;
    }
    positionalCount(ctx, 'tag', 2, 2, 'the tag name and the revision (or --list / --delete)');
    const [name, rev] = ctx.positionals;
    const revision = /^\d+$/.test(rev) ? Number(rev) : rev;
    const r = await ctx.client.request<Partial<TagInfo> & { tag?: Partial<TagInfo> }>('PUT', `${base}/${seg(name)}`, { json: { revision } });
    if (ctx.out.json) return ctx.out.document(r);
    const t = r.tag ?? r;
    ctx.out.line(`${dist}: tag ${name} -> ${describeRevision({ id: t.revision, number: t.number ?? (typeof revision === 'number' ? revision : undefined) })}`);
  },
};
