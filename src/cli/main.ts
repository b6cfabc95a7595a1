/**
 * `repod`: the command-line client. Talks to a running server over HTTP; every command prints a
 * short human summary, or with --json the server's JSON answer as one document on stdout.
 * Exit status: 0 success, 1 an error (the server's, or a local one such as a missing file),
 * 2 a usage error.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { type Command, type OptionSpec, UsageError } from './command.ts';
import { compsCommand, modulesCommand, updateinfoCommand } from './commands/compose-documents.ts';
import { diff } from './commands/diff.ts';
import { dist } from './commands/dist.ts';
import { distRepoCommand } from './commands/dist-repo.ts';
import { distributions } from './commands/distributions.ts';
import { exportCommand } from './commands/export.ts';
import { gc } from './commands/gc.ts';
import { importCommand } from './commands/import.ts';
import { login } from './commands/login.ts';
import { migrate } from './commands/migrate.ts';
import { mkrepoCommand } from './commands/mkrepo.ts';
import { promote } from './commands/promote.ts';
import { push } from './commands/push.ts';
import { remove } from './commands/remove.ts';
import { revisions } from './commands/revisions.ts';
import { rollback } from './commands/rollback.ts';
import { scanCommand } from './commands/scan.ts';
import { show } from './commands/show.ts';
import { tag } from './commands/tag.ts';
import { token } from './commands/token.ts';
import { ApiClient, ApiError, DEFAULT_URL, LocalError } from './http-client.ts';
import { type Io, Output } from './output.ts';

export const COMMANDS: Command[] = [
  push,
  remove,
  revisions,
  show,
  diff,
  rollback,
  tag,
  promote,
  migrate,
  distributions,
  dist,
  importCommand,
  gc,
  token,
  login,
  exportCommand,
  scanCommand,
  mkrepoCommand,
  compsCommand,
  modulesCommand,
  updateinfoCommand,
  distRepoCommand,
];

const GLOBAL_OPTIONS: Record<string, OptionSpec> = {
  url: { type: 'string', arg: 'url', help: `server URL (env REPOD_URL; default ${DEFAULT_URL})` },
  token: { type: 'string', arg: 'token', help: 'bearer token (env REPOD_TOKEN)' },
  json: { type: 'boolean', help: "print the server's JSON answer (one document on stdout)" },
  help: { type: 'boolean', short: 'h', help: 'show help' },
};

/** Set by scripts/build-server.mjs in dist/cli.mjs, whose package.json is not two folders up. */
declare const REPOD_BUNDLED_VERSION: string | undefined;

function version(): string {
  if (typeof REPOD_BUNDLED_VERSION === 'string') return REPOD_BUNDLED_VERSION;
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

function optionLines(options: Record<string, OptionSpec>): string[] {
  const entries = Object.entries(options).map(([name, o]) => [`${o.short ? `-${o.short}, ` : '    '}--${name}${o.arg ? ` <${o.arg}>` : ''}`, o.help]);
  const width = Math.max(...entries.map(([a]) => a.length));
  return entries.map(([a, h]) => `  ${a.padEnd(width)}  ${h}`);
}

export function globalHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'repod — client for a repod RPM/APT repository server',
    '',
    'Usage:',
    '  repod <command> [options] [arguments]',
    '  repod <command> --help',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Global options (every command):',
    ...optionLines({ ...GLOBAL_OPTIONS, version: { type: 'boolean', help: 'print the version' } }),
    '',
    'Environment:',
    `  REPOD_URL    server URL (default ${DEFAULT_URL})`,
    '  REPOD_TOKEN  bearer token (an API token, the admin token, or one from `repod login`)',
    '',
    "Exit status: 0 success, 1 error (the server's message and code on stderr), 2 usage error.",
    '',
    'Examples:',
    '  export REPOD_URL=https://repo.example.com REPOD_TOKEN=rpd_...',
    '  repod push --dist rocky9 -m "build 42" *.rpm',
    '  repod revisions --dist rocky9 --limit 5',
    '  repod rollback --dist rocky9 41',
    '',
  ].join('\n');
}

export function commandHelp(c: Command): string {
  return [
    `repod ${c.name} — ${c.summary}`,
    '',
    'Usage:',
    ...c.usage.map((u) => `  ${u}`),
    ...(c.description ? ['', ...wrap(c.description, 96)] : []),
    ...(Object.keys(c.options).length ? ['', 'Options:', ...optionLines(c.options)] : []),
    '',
    'Global options:',
    ...optionLines(GLOBAL_OPTIONS),
    ...(c.examples?.length ? ['', 'Examples:', ...c.examples.map((e) => `  ${e}`)] : []),
    ...(c.api.length ? ['', 'HTTP API:', ...c.api.map((a) => `  ${a}`)] : ['', 'Works on the store directly (--storage or REPOD_STORAGE); no server needed.']),
    '',
  ].join('\n');
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

/** Global options may come before the command name: `repod --url X push ...`. */
function splitCommand(argv: string[]): { name: string | undefined; args: string[] } {
  const before: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') break;
    if (!a.startsWith('-') || a === '-') return { name: a, args: [...before, ...argv.slice(i + 1)] };
    before.push(a);
    if ((a === '--url' || a === '--token') && i + 1 < argv.length) before.push(argv[++i]);
  }
  return { name: undefined, args: before };
}

function toParseArgsOptions(options: Record<string, OptionSpec>) {
  return Object.fromEntries(
    Object.entries(options).map(([name, o]) => [name, { type: o.type, ...(o.short ? { short: o.short } : {}), ...(o.multiple ? { multiple: true } : {}) }]),
  );
}

/** Runs one invocation; returns the exit status. Never throws. */
export async function cli(argv: string[], io: Io = nodeIo()): Promise<number> {
  const { name, args } = splitCommand(argv);
  let command: Command | undefined;
  try {
    if (name === undefined || name === 'help') {
      const topic = name === 'help' ? args.find((a) => !a.startsWith('-')) : undefined;
      const target = topic ? COMMANDS.find((c) => c.name === topic) : undefined;
      if (topic && !target) throw new UsageError(`unknown command ${JSON.stringify(topic)}`);
      if (args.includes('--version')) {
        io.stdout.write(`repod ${version()}\n`);
        return 0;
      }
      if (target || name === 'help' || args.includes('--help') || args.includes('-h')) {
        io.stdout.write(target ? commandHelp(target) : globalHelp());
        return 0;
      }
      io.stderr.write(globalHelp());
      return 2;
    }
    command = COMMANDS.find((c) => c.name === name);
    if (!command) throw new UsageError(`unknown command ${JSON.stringify(name)}`);
    let parsed;
    try {
      parsed = parseArgs({ args, options: toParseArgsOptions({ ...GLOBAL_OPTIONS, ...command.options }), allowPositionals: true, strict: true });
    } catch (error) {
      const code = (error as { code?: string }).code ?? '';
      if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') throw new UsageError(`unknown option ${/'([^']+)'/.exec((error as Error).message)?.[1] ?? ''}`.trim(), command.name);
      if (code.startsWith('ERR_PARSE_ARGS')) throw new UsageError((error as Error).message, command.name);
      throw error;
    }
    const values = parsed.values as Record<string, string | boolean | Array<string | boolean> | undefined>;
    if (values.help) {
      io.stdout.write(commandHelp(command));
      return 0;
    }
    const url = (values.url as string | undefined) ?? io.env.REPOD_URL ?? DEFAULT_URL;
    const tokenValue = (values.token as string | undefined) ?? (io.env.REPOD_TOKEN || undefined);
    let client: ApiClient;
    try {
      client = new ApiClient(url, tokenValue);
    } catch (error) {
      throw new UsageError((error as Error).message, command.name);
    }
    const out = new Output(io, values.json === true);
    await command.run({ client, out, io, values, positionals: parsed.positionals });
    return 0;
  } catch (error) {
    return report(error, io, command, argv);
  }
}

function report(error: unknown, io: Io, command: Command | undefined, argv: string[]): number {
  if (error instanceof UsageError) {
    const cmd = error.command ?? command?.name;
    io.stderr.write(
      `repod: ${error.message}\n${
        cmd
          ? `Usage:\n${COMMANDS.find((c) => c.name === cmd)!
              .usage.map((u) => `  ${u}`)
              .join('\n')}\nSee 'repod ${cmd} --help'.`
          : "See 'repod --help'."
      }\n`,
    );
    return 2;
  }
  if (error instanceof ApiError) {
    // With --json a script can read the error document too; the message always goes to stderr.
    if (argv.includes('--json') && error.body !== undefined) io.stdout.write(`${JSON.stringify(error.body, null, 2)}\n`);
    io.stderr.write(`repod: ${error.message} (${error.code})\n`);
    if (error.status === 401 && !argv.includes('--token') && !io.env.REPOD_TOKEN && command?.name !== 'login') {
      io.stderr.write('repod: hint: pass --token or set REPOD_TOKEN (see `repod token create`, `repod login`)\n');
    }
    return 1;
  }
  if (error instanceof LocalError) {
    io.stderr.write(`repod: ${error.message}\n`);
    return 1;
  }
  io.stderr.write(`repod: unexpected error: ${(error as Error)?.stack ?? String(error)}\n`);
  return 1;
}

export function nodeIo(): Io {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    readStdin: async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks).toString('utf8');
    },
  };
}

/** Writes out everything, then exits (undici's keep-alive sockets must not hold the process). */
export async function runMain(argv = process.argv.slice(2)): Promise<never> {
  // `repod revisions | head -1`: a closed pipe ends the command quietly.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => process.exit(error.code === 'EPIPE' ? 0 : 1));
  const status = await cli(argv);
  await Promise.all([process.stdout, process.stderr].map((s) => new Promise<void>((resolve) => (s.writableLength === 0 ? resolve() : s.write('', () => resolve())))));
  process.exit(status);
}

if (import.meta.url === (await import('node:url')).pathToFileURL(process.argv[1] ?? '').href) await runMain();
