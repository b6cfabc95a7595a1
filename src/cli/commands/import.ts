import { readFile } from 'node:fs/promises';
import { type Command, type CommandContext, integer, positionalCount, required, str, UsageError } from '../command.ts';
import { ApiError, describeFetchError, LocalError, seg } from '../http-client.ts';
import { describeRevision, formatBytes, formatTime, plural } from '../output.ts';

interface SourceInfo {
  id: number;
  name: string;
  url: string;
  kind: string;
  suite?: string;
  components?: string[];
  architectures?: string[];
  schedule?: string;
  lastSync?: { at: string; job: string; count: number };
}

interface CatalogEntry {
  name: string;
  version: string;
  architecture: string;
  size?: number;
  description?: string;
  source?: { id: number; name: string | null };
  source_id: number;
  last_sync?: string;
}

interface SyncEvent {
  status: string;
  count: number;
  message: string;
}

interface ImportAnswer {
  status: string;
  distribution: string;
  revision: { id: string; number: number } | null;
  packages?: Array<{ package: string; version: string; architecture: string; status: string }>;
  dependencies?: Array<{ package: string; version: string; architecture: string }>;
  unresolved?: string[];
}

const ACTIONS = 'sources, add-source, sync, search or package';

/**
 * `repod import ...`: upstream sources, index syncs (the server's event stream printed line by
 * line as it comes, exit 1 on an error event, so a crontab line can run it), catalog search and
 * import by name.
 */
export const importCommand: Command = {
  name: 'import',
  summary: 'import packages from upstream APT/RPM repositories (sources, sync, search, package)',
  usage: [
    'repod import sources',
    'repod import add-source --name <name> --upstream <url> --kind apt|rpm [--suite <suite>] [--components c1,c2] [--architectures a1,a2] [--key <file>] [--schedule HH:MM]',
    'repod import sync <source id or name>',
    'repod import search <text> [--source <id or name>] [--arch <arch>] [--limit <n>]',
    'repod import package <name>[=<version>]... --source <id or name> --dist <dist> [--with-dependencies]',
  ],
  description:
    'A source is an upstream repository: for RPM the URL of the directory holding repodata/, for APT the archive root with a --suite (the directory under dists/). ' +
    '--key names a file holding the upstream’s ASCII-armored public key; indexes are then verified with it. ' +
    '`sync` fetches the upstream index into the catalog and prints its progress as it comes; it exits 1 when the sync fails, so it can run from cron. ' +
    '`--schedule HH:MM` has the server sync the source daily at that time (server time zone) instead. ' +
    '`package` downloads packages named in the catalog (the newest, or name=version) and publishes them into --dist as one revision.',
  options: {
    name: { type: 'string', arg: 'name', help: 'the source’s name (add-source)' },
    upstream: { type: 'string', arg: 'url', help: 'the upstream repository’s URL (add-source; --url is the repod server’s)' },
    kind: { type: 'string', arg: 'apt|rpm', help: 'the upstream’s kind (add-source)' },
    suite: { type: 'string', arg: 'suite', help: 'APT: the suite, e.g. bookworm or jammy (add-source)' },
    components: { type: 'string', arg: 'list', help: 'APT: comma-separated components (add-source; default main)' },
    architectures: { type: 'string', arg: 'list', help: 'comma-separated architectures (add-source; APT default amd64)' },
    key: { type: 'string', arg: 'file', help: 'file holding the upstream’s armored public key (add-source)' },
    schedule: { type: 'string', arg: 'HH:MM', help: 'sync daily at this time, server time zone (add-source)' },
    source: { type: 'string', short: 's', arg: 'id|name', help: 'the source (search: only this one; package: required)' },
    arch: { type: 'string', arg: 'arch', help: 'only this architecture (search)' },
    limit: { type: 'string', arg: 'n', help: 'at most n results (search)' },
    dist: { type: 'string', short: 'd', arg: 'name', help: 'the distribution to import into (package)' },
    'with-dependencies': { type: 'boolean', help: 'also import what the packages need and the distribution lacks (package)' },
  },
  examples: [
    'repod import add-source --name epel9 --upstream https://dl.fedoraproject.org/pub/epel/9/Everything/x86_64/ --kind rpm --key RPM-GPG-KEY-EPEL-9 --schedule 02:00',
    'repod import add-source --name nginx --upstream http://nginx.org/packages/ubuntu/ --kind apt --suite jammy --components nginx --key nginx_signing.key',
    'repod import sync epel9',
    'repod import search nginx --source nginx --arch amd64',
    'repod import package nginx=1.26.1-1~jammy --source nginx --dist jammy --with-dependencies',
    '0 2 * * *  repod import sync epel9 >>/var/log/repod-sync.log 2>&1   (crontab)',
  ],
  api: [
    'GET /api/v1/import/sources',
    'POST /api/v1/import/sources {"name", "url", "kind", "suite"?, "components"?, "architectures"?, "key"?, "schedule"?}',
    'POST /api/v1/import/sources/<id>/sync (Server-Sent Events)',
    'GET /api/v1/import/jobs/<id>',
    'GET /api/v1/import/catalog?q=&source_id=&arch=&limit=',
    'POST /api/v1/import/packages {"source_id", "packages": ["name", "name=version"], "distribution", "with_dependencies"?}',
  ],

  async run(ctx) {
    const [action] = ctx.positionals;
    ctx.positionals = ctx.positionals.slice(1);
    switch (action) {
      case 'sources':
        return listSources(ctx);
      case 'add-source':
        return addSource(ctx);
      case 'sync':
        return sync(ctx);
      case 'search':
        return search(ctx);
      case 'package':
        return importPackages(ctx);
      default:
        throw new UsageError(action ? `unknown import action ${JSON.stringify(action)} (${ACTIONS})` : `name an action: ${ACTIONS}`, 'import');
    }
  },
};

async function listSources(ctx: CommandContext): Promise<void> {
  positionalCount(ctx, 'import', 0, 0, '');
  const r = await ctx.client.get<{ sources: SourceInfo[] }>('/api/v1/import/sources');
  if (ctx.out.json) return ctx.out.document(r);
  if (!r.sources?.length) return ctx.out.line('no import sources');
  ctx.out.table(
    ['ID', 'NAME', 'KIND', 'URL', 'SUITE', 'SCHEDULE', 'SYNCED', 'PACKAGES'],
    r.sources.map((s) => [
      s.id,
      s.name,
      s.kind,
      s.url,
      s.suite ? `${s.suite} ${(s.components ?? []).join(',')}`.trim() : undefined,
      s.schedule,
      s.lastSync ? formatTime(s.lastSync.at) : 'never',
      s.lastSync?.count,
    ]),
  );
}

async function addSource(ctx: CommandContext): Promise<void> {
  positionalCount(ctx, 'import', 0, 0, '');
  const name = required(ctx.values, 'name', 'import');
  const url = required(ctx.values, 'upstream', 'import');
  const kind = required(ctx.values, 'kind', 'import');
  if (kind !== 'apt' && kind !== 'rpm') throw new UsageError(`--kind takes apt or rpm, not ${JSON.stringify(kind)}`, 'import');
  const body: Record<string, unknown> = { name, url, kind };
  const suite = str(ctx.values, 'suite');
  if (suite) body.suite = suite;
  for (const field of ['components', 'architectures'] as const) {
    const v = str(ctx.values, field);
    if (v !== undefined)
      body[field] = v
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean);
  }
  const schedule = str(ctx.values, 'schedule');
  if (schedule) body.schedule = schedule;
  const keyFile = str(ctx.values, 'key');
  if (keyFile) {
    try {
      body.key = await readFile(keyFile, 'utf8');
    } catch (error) {
      throw new LocalError(`cannot read the key file ${keyFile}: ${(error as Error).message}`, { cause: error });
    }
  }
  const r = await ctx.client.post<SourceInfo>('/api/v1/import/sources', body);
  if (ctx.out.json) return ctx.out.document(r);
  ctx.out.line(`added source ${r.id} "${r.name}" (${r.kind} ${r.url}${r.suite ? ` ${r.suite}` : ''}${r.schedule ? `, daily at ${r.schedule}` : ''})`);
}

/** A source named by id, or by name (looked up in the list). */
async function resolveSource(ctx: CommandContext, given: string): Promise<number> {
  if (/^[1-9][0-9]*$/.test(given)) return Number(given);
  const { sources } = await ctx.client.get<{ sources: SourceInfo[] }>('/api/v1/import/sources');
  const found = (sources ?? []).filter((s) => s.name === given);
  if (found.length === 1) return found[0].id;
  if (found.length > 1) throw new LocalError(`several sources are named ${JSON.stringify(given)} (ids ${found.map((s) => s.id).join(', ')}): give the id`);
  throw new LocalError(`no import source named ${JSON.stringify(given)} (see \`repod import sources\`)`);
}

async function sync(ctx: CommandContext): Promise<void> {
  positionalCount(ctx, 'import', 1, 1, 'the source (its id or name)');
  const id = await resolveSource(ctx, ctx.positionals[0]);
  const url = ctx.client.url(`/api/v1/import/sources/${seg(id)}/sync`);
  const headers: Record<string, string> = { accept: 'text/event-stream' };
  if (ctx.client.token) headers.authorization = `Bearer ${ctx.client.token}`;
  let response: Response;
  try {
    response = await fetch(url, { method: 'POST', headers });
  } catch (error) {
    throw new LocalError(`cannot reach ${url.origin}: ${describeFetchError(error)}`, { cause: error });
  }
  if (!response.ok || !response.body) throw await apiError(response, 'POST', url);
  const job = response.headers.get('x-repod-job') ?? undefined;
  const events: SyncEvent[] = [];
  let last: SyncEvent | undefined;
  try {
    for await (const data of sseData(response.body)) {
      let event: SyncEvent;
      try {
        event = JSON.parse(data) as SyncEvent;
      } catch {
        continue;
      }
      events.push(event);
      last = event;
      if (!ctx.out.json) ctx.out.line(`${event.status} ${event.count} ${event.message}`);
    }
  } catch (error) {
    throw new LocalError(`the event stream from ${url.origin} broke${job ? ` (job ${job}: see GET /api/v1/import/jobs/${job})` : ''}: ${describeFetchError(error)}`, {
      cause: error,
    });
  }
  if (ctx.out.json) ctx.out.document({ source_id: id, job: job ?? null, status: last?.status ?? null, count: last?.count ?? 0, message: last?.message ?? null, events });
  if (last?.status === 'done') return;
  if (last?.status === 'error') {
    // The job names the error's code; the stream carries only the message.
    let code = 'sync_failed';
    if (job) {
      const detail = await ctx.client.get<{ error?: { code?: string } }>(`/api/v1/import/jobs/${seg(job)}`).catch(() => null);
      code = detail?.error?.code ?? code;
    }
    throw new ApiError(response.status, code, last.message, undefined);
  }
  throw new LocalError(`the event stream ended before the sync did${job ? ` (job ${job}: see \`GET /api/v1/import/jobs/${job}\`)` : ''}`);
}

/** The `data:` payloads of a Server-Sent Events stream, as they arrive. */
async function* sseData(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffer = '';
  let data: string[] = [];
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      buffer += done ? decoder.decode() : decoder.decode(value, { stream: true });
      let newline = buffer.search(/\r?\n/);
      while (newline >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + (buffer[newline] === '\r' ? 2 : 1));
        if (line === '') {
          if (data.length) yield data.join('\n');
          data = [];
        } else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
        newline = buffer.search(/\r?\n/);
      }
      if (done) break;
    }
    if (data.length) yield data.join('\n');
  } finally {
    reader.releaseLock();
  }
}

async function apiError(response: Response, method: string, url: URL): Promise<ApiError> {
  const text = await response.text().catch(() => '');
  let doc: { error?: unknown; message?: unknown } | undefined;
  try {
    doc = JSON.parse(text);
  } catch {
    doc = undefined;
  }
  const code = typeof doc?.error === 'string' ? doc.error : `http_${response.status}`;
  const message = typeof doc?.message === 'string' ? doc.message : `${method} ${url.pathname} answered ${response.status} ${response.statusText}`;
  return new ApiError(response.status, code, message, doc);
}

async function search(ctx: CommandContext): Promise<void> {
  positionalCount(ctx, 'import', 1, 1, 'the text to search for');
  const source = str(ctx.values, 'source');
  const limit = integer(ctx.values, 'limit', 'import', { min: 1 });
  const r = await ctx.client.get<{ packages: CatalogEntry[]; count: number }>('/api/v1/import/catalog', {
    q: ctx.positionals[0],
    source_id: source ? await resolveSource(ctx, source) : undefined,
    arch: str(ctx.values, 'arch'),
    limit,
  });
  if (ctx.out.json) return ctx.out.document(r);
  if (!r.packages?.length) return ctx.out.line(`no package matches ${JSON.stringify(ctx.positionals[0])}`);
  ctx.out.table(
    ['NAME', 'VERSION', 'ARCH', 'SIZE', 'SOURCE', 'DESCRIPTION'],
    r.packages.map((p) => [p.name, p.version, p.architecture, formatBytes(p.size), p.source?.name ?? p.source_id, oneLine(p.description)]),
  );
}

function oneLine(text: string | undefined): string | undefined {
  const first = text?.split('\n', 1)[0]?.trim();
  return first && first.length > 60 ? `${first.slice(0, 57)}...` : first;
}

async function importPackages(ctx: CommandContext): Promise<void> {
  positionalCount(ctx, 'import', 1, Number.POSITIVE_INFINITY, 'the package name (name or name=version)');
  const dist = required(ctx.values, 'dist', 'import');
  const sourceId = await resolveSource(ctx, required(ctx.values, 'source', 'import'));
  for (const spec of ctx.positionals) {
    if (!/^[^=\s]+(=[^=\s]+)?$/.test(spec)) throw new UsageError(`${JSON.stringify(spec)} is not a package: write name or name=version`, 'import');
  }
  const r = await ctx.client.post<ImportAnswer>('/api/v1/import/packages', {
    source_id: sourceId,
    packages: ctx.positionals,
    distribution: dist,
    ...(ctx.values['with-dependencies'] === true ? { with_dependencies: true } : {}),
  });
  if (ctx.out.json) return ctx.out.document(r);
  const where =
    r.status === 'unchanged'
      ? `unchanged, already there${r.revision ? ` (current: ${describeRevision(r.revision)})` : ''}`
      : r.status === 'pending_review'
        ? 'held for review'
        : describeRevision(r.revision);
  ctx.out.line(`imported into ${r.distribution ?? dist}: ${where}`);
  for (const p of r.packages ?? []) ctx.out.line(`  ${p.status}: ${p.package} ${p.version} ${p.architecture}`);
  if (r.dependencies?.length) ctx.out.line(`  (${plural(r.dependencies.length, 'dependency', 'dependencies')}: ${r.dependencies.map((d) => d.package).join(', ')})`);
  if (r.unresolved?.length) ctx.out.line(`  unresolved: ${r.unresolved.join(', ')}`);
}
