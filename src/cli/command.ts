import type { ApiClient } from './http-client.ts';
import type { Io, Output } from './output.ts';

/** Wrong invocation: exit 2 with a pointer to the help. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly command?: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
  /** Placeholder shown in help: `--dist <name>`. */
  arg?: string;
  help: string;
}

export type Values = Record<string, string | boolean | Array<string | boolean> | undefined>;

export interface CommandContext {
  client: ApiClient;
  out: Output;
  io: Io;
  values: Values;
  positionals: string[];
}

export interface Command {
  name: string;
  /** One line for `repod --help`. */
  summary: string;
  usage: string[];
  description?: string;
  options: Record<string, OptionSpec>;
  examples?: string[];
  /** The HTTP API the command uses, for the help text. */
  api: string[];
  run(ctx: CommandContext): Promise<void>;
}

export function str(values: Values, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

export function required(values: Values, name: string, command: string): string {
  const v = str(values, name);
  if (v === undefined || v === '') throw new UsageError(`--${name} is required`, command);
  return v;
}

export function list(values: Values, name: string): string[] {
  const v = values[name];
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : typeof v === 'string' ? [v] : [];
}

/** A non-negative integer option, or undefined when absent. */
export function integer(values: Values, name: string, command: string, options: { min?: number } = {}): number | undefined {
  const v = str(values, name);
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) < (options.min ?? 0)) {
    throw new UsageError(`--${name} takes an integer${options.min ? ` of at least ${options.min}` : ''}, not ${JSON.stringify(v)}`, command);
  }
  return Number(v);
}

export function positionalCount(ctx: CommandContext, command: string, min: number, max: number, what: string): void {
  const n = ctx.positionals.length;
  if (n < min) throw new UsageError(`missing ${what}`, command);
  if (n > max) throw new UsageError(`unexpected argument ${JSON.stringify(ctx.positionals[max])}`, command);
}

/** The distribution option every per-distribution command takes. */
export const distOption: OptionSpec = { type: 'string', short: 'd', arg: 'name', help: 'the distribution (e.g. rocky9, bookworm)' };
