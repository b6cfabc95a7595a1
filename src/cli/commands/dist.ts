import { readFile } from 'node:fs/promises';
import { type Command, type CommandContext, list, positionalCount, UsageError } from '../command.ts';
import { LocalError, seg } from '../http-client.ts';
import { formatTime } from '../output.ts';

interface DistributionInfo {
  name: string;
  kind: string;
  architectures?: string[];
  components?: string[];
  signing?: { keys: string[] };
  revision: { id: string; number: number; updated?: string } | null;
}

interface RetiredInfo {
  name: string;
  kind: string;
  retired: string;
  by?: string;
}

async function readJsonFile(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new LocalError(`cannot read ${path}: ${(cause as Error).message}`, { cause });
  }
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new LocalError(`${path} is not JSON: ${(cause as Error).message}`, { cause });
  }
}

/**
 * `--set a.b=value` options as one JSON merge patch: the value is read as JSON when it is JSON
 * (`["x86_64","aarch64"]`, `true`, `null` removes the field), as a string otherwise.
 */
export function patchFromSets(sets: string[]): Record<string, unknown> {
  const patch: Record<string, unknown> = {};
  for (const set of sets) {
    const at = set.indexOf('=');
    if (at <= 0) throw new UsageError(`--set takes key=value, not ${JSON.stringify(set)}`, 'dist');
    const path = set.slice(0, at).split('.');
    if (path.some((p) => p === '')) throw new UsageError(`--set: invalid key ${JSON.stringify(set.slice(0, at))}`, 'dist');
    const raw = set.slice(at + 1);
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      value = raw;
    }
    let node = patch;
    for (const key of path.slice(0, -1)) {
      const next = node[key];
      node = (typeof next === 'object' && next !== null && !Array.isArray(next) ? next : (node[key] = {})) as Record<string, unknown>;
    }
    node[path[path.length - 1]] = value;
  }
  return patch;
}

function summary(ctx: CommandContext, verb: string, d: DistributionInfo): void {
  const parts = [d.kind, `architectures ${d.architectures?.join(',') ?? '-'}`];
  if (d.components) parts.push(`components ${d.components.join(',')}`);
  if (d.signing) parts.push(`signed by ${d.signing.keys.join(',')}`);
  ctx.out.line(`${verb} distribution ${d.name} (${parts.join(', ')})`);
}

export const dist: Command = {
  name: 'dist',
  summary: 'create, edit, retire and list distributions (admin)',
  usage: ['repod dist create <file.json>', 'repod dist edit <name> (<patch.json> | --set <key=value>...)', 'repod dist delete <name> [--force]', 'repod dist list'],
  description:
    'A distribution is the JSON object of a REPOD_DISTRIBUTIONS entry ({"name", "kind": "rpm"|"apt", "architectures", ...}); it is kept in the store, so every server serves it at once. ' +
    '`edit` sends a JSON merge patch (RFC 7396): a file, or --set options whose values are read as JSON when they are (null removes a field). name and kind cannot change. ' +
    '`delete` retires a distribution: it is no longer served, its revisions are kept (and served again if it is created again); one with revisions needs --force.',
  options: {
    set: { type: 'string', multiple: true, arg: 'key=value', help: 'edit: one field of the merge patch (dotted keys for nested fields)' },
    force: { type: 'boolean', help: 'delete: retire it although it has revisions' },
  },
  examples: [
    'repod dist create rocky10.json',
    'repod dist edit rocky10 --set architectures=\'["x86_64","aarch64"]\'',
    'repod dist edit rocky10 --set signing.keys=\'["team-a"]\'',
    'repod dist delete rocky10 --force',
  ],
  api: ['POST /api/v1/distributions', 'PATCH /api/v1/distributions/<name>', 'DELETE /api/v1/distributions/<name>[?force=true]', 'GET /api/v1/distributions'],

  async run(ctx) {
    const [action] = ctx.positionals;
    ctx.positionals = ctx.positionals.slice(1);
    if (action === 'create') {
      positionalCount(ctx, 'dist', 1, 1, 'the JSON file of the distribution');
      const r = await ctx.client.post<DistributionInfo>('/api/v1/distributions', await readJsonFile(ctx.positionals[0]));
      if (ctx.out.json) return ctx.out.document(r);
      return summary(ctx, 'created', r);
    }
    if (action === 'edit') {
      positionalCount(ctx, 'dist', 1, 2, 'the name of the distribution');
      const [name, file] = ctx.positionals;
      const sets = list(ctx.values, 'set');
      if (file && sets.length) throw new UsageError('give a patch file or --set options, not both', 'dist');
      if (!file && !sets.length) throw new UsageError('give a patch file or --set key=value', 'dist');
      const patch = file ? await readJsonFile(file) : patchFromSets(sets);
      const r = await ctx.client.request<DistributionInfo>('PATCH', `/api/v1/distributions/${seg(name)}`, { json: patch });
      if (ctx.out.json) return ctx.out.document(r);
      return summary(ctx, 'changed', r);
    }
    if (action === 'delete') {
      positionalCount(ctx, 'dist', 1, 1, 'the name of the distribution');
      const name = ctx.positionals[0];
      const r = await ctx.client.request<RetiredInfo>('DELETE', `/api/v1/distributions/${seg(name)}`, { query: { force: ctx.values.force === true ? 'true' : undefined } });
      if (ctx.out.json) return ctx.out.document(r);
      return ctx.out.line(`retired distribution ${name} (its revisions are kept)`);
    }
    if (action === 'list') {
      positionalCount(ctx, 'dist', 0, 0, '');
      const r = await ctx.client.get<{ distributions: DistributionInfo[]; retired?: RetiredInfo[] }>('/api/v1/distributions');
      if (ctx.out.json) return ctx.out.document(r);
      ctx.out.table(
        ['NAME', 'KIND', 'ARCHITECTURES', 'COMPONENTS', 'KEYS', 'REVISION', 'UPDATED'],
        [
          ...(r.distributions ?? []).map((d) => [
            d.name,
            d.kind,
            d.architectures?.join(','),
            d.components?.join(','),
            d.signing ? d.signing.keys.join(',') : 'default',
            d.revision?.number,
            formatTime(d.revision?.updated),
          ]),
          ...(r.retired ?? []).map((d) => [d.name, d.kind, 'retired', undefined, undefined, undefined, formatTime(d.retired)]),
        ],
      );
      return;
    }
    throw new UsageError(action ? `unknown dist action ${JSON.stringify(action)} (create, edit, delete or list)` : 'name an action: create, edit, delete or list', 'dist');
  },
};
