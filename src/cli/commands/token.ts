import { type Command, integer, positionalCount, required, UsageError } from '../command.ts';
import { seg } from '../http-client.ts';
import { formatTime } from '../output.ts';

interface TokenInfo {
  id: string;
  name: string;
  role: string;
  created: string;
  expires?: string;
}

export const token: Command = {
  name: 'token',
  summary: 'create, list and revoke long-lived API tokens',
  usage: ['repod token create --name <name> --role <role> [--expires-in <seconds>]', 'repod token list', 'repod token revoke <id>'],
  description:
    'API tokens are for automation (CI, build systems). Roles, weakest first: reader, auditor, uploader, maintainer, admin. ' +
    '`create` prints the token alone on stdout (it is shown only once; notes go to stderr), so `TOKEN=$(repod token create ...)` works.',
  options: {
    name: { type: 'string', arg: 'name', help: 'what the token is for (create)' },
    role: { type: 'string', short: 'r', arg: 'role', help: 'reader, auditor, uploader, maintainer or admin (create)' },
    'expires-in': { type: 'string', arg: 'seconds', help: 'lifetime in seconds (create; default: no expiry)' },
  },
  examples: ['repod token create --name ci-rocky9 --role uploader', 'repod token list', 'repod token revoke 0f3c...'],
  api: ['POST /api/v1/tokens {"name", "role", "expires_in"?}', 'GET /api/v1/tokens', 'DELETE /api/v1/tokens/<id>'],

  async run(ctx) {
    const [action] = ctx.positionals;
    ctx.positionals = ctx.positionals.slice(1);
    if (action === 'create') {
      positionalCount(ctx, 'token', 0, 0, '');
      const name = required(ctx.values, 'name', 'token');
      const role = required(ctx.values, 'role', 'token');
      const expiresIn = integer(ctx.values, 'expires-in', 'token', { min: 1 });
      const r = await ctx.client.post<TokenInfo & { token: string }>('/api/v1/tokens', { name, role, ...(expiresIn !== undefined ? { expires_in: expiresIn } : {}) });
      if (ctx.out.json) return ctx.out.document(r);
      ctx.out.note(`created token ${r.id} "${r.name}" (role ${r.role}${r.expires ? `, expires ${formatTime(r.expires)}` : ', no expiry'})`);
      ctx.out.note('store it now: it is shown only this once');
      ctx.out.line(r.token);
      return;
    }
    if (action === 'list') {
      positionalCount(ctx, 'token', 0, 0, '');
      const r = await ctx.client.get<{ tokens: TokenInfo[] }>('/api/v1/tokens');
      if (ctx.out.json) return ctx.out.document(r);
      if (!r.tokens?.length) return ctx.out.line('no API tokens');
      ctx.out.table(
        ['ID', 'NAME', 'ROLE', 'CREATED', 'EXPIRES'],
        r.tokens.map((t) => [t.id, t.name, t.role, formatTime(t.created), t.expires ? formatTime(t.expires) : 'never']),
      );
      return;
    }
    if (action === 'revoke') {
      positionalCount(ctx, 'token', 1, 1, 'the id of the token to revoke');
      const id = ctx.positionals[0];
      const r = await ctx.client.request('DELETE', `/api/v1/tokens/${seg(id)}`);
      if (ctx.out.json) return ctx.out.document(r);
      ctx.out.line(`revoked token ${id}`);
      return;
    }
    throw new UsageError(action ? `unknown token action ${JSON.stringify(action)} (create, list or revoke)` : 'name an action: create, list or revoke', 'token');
  },
};
