import { type Command, positionalCount, required, str, UsageError } from '../command.ts';

export const login: Command = {
  name: 'login',
  summary: 'exchange a username and password for an access token',
  usage: ['repod login --username <u> --password <p>', 'repod login --username <u> --password-stdin'],
  description:
    'Prints the access token alone on stdout (use it as --token or REPOD_TOKEN); how long it lasts goes to stderr. Prefer --password-stdin: a --password shows in the process list.',
  options: {
    username: { type: 'string', short: 'u', arg: 'u', help: 'user name' },
    password: { type: 'string', short: 'p', arg: 'p', help: 'password' },
    'password-stdin': { type: 'boolean', help: 'read the password from standard input' },
  },
  examples: ['export REPOD_TOKEN=$(repod login -u admin --password-stdin < pw.txt)'],
  api: ['POST /api/v1/auth/token {"username", "password"}'],

  async run(ctx) {
    positionalCount(ctx, 'login', 0, 0, '');
    const username = required(ctx.values, 'username', 'login');
    let password = str(ctx.values, 'password');
    if (ctx.values['password-stdin'] === true) {
      if (password !== undefined) throw new UsageError('--password and --password-stdin exclude each other', 'login');
      password = (await ctx.io.readStdin()).replace(/\r?\n$/, '');
    }
    if (!password) throw new UsageError('--password or --password-stdin is required', 'login');
    const r = await ctx.client.request<{ access_token: string; token_type?: string; expires_in?: number }>('POST', '/api/v1/auth/token', {
      json: { username, password },
      anonymous: true,
    });
    if (ctx.out.json) return ctx.out.document(r);
    if (r.expires_in) ctx.out.note(`logged in as ${username}; the token expires in ${r.expires_in} s`);
    ctx.out.line(r.access_token);
  },
};
