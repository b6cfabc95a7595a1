import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { type Command, type CommandContext, distOption, list, required, str, UsageError } from '../command.ts';
import { LocalError, seg } from '../http-client.ts';
import { type FormPart, multipartBody } from '../multipart.ts';
import { describeRevision, formatBytes, plural } from '../output.ts';
import { Progress } from '../progress.ts';

interface PushedPackage {
  package: string;
  version: string;
  architecture: string;
  filename: string;
  sha256: string;
  size: number;
  status?: string;
}

interface PushAnswer {
  status: string;
  distribution: string;
  revision: { id: string; number: number } | null;
  packages: PushedPackage[];
  removed?: Array<{ nevra?: string; label?: string; filename?: string; sha256?: string }>;
}

interface LocalFile {
  path: string;
  filename: string;
  size: number;
}

const CONTENT_TYPES: Record<string, string> = {
  rpm: 'application/x-rpm',
  deb: 'application/vnd.debian.binary-package',
  udeb: 'application/vnd.debian.binary-package',
  ddeb: 'application/vnd.debian.binary-package',
};

async function localFiles(paths: string[]): Promise<LocalFile[]> {
  return Promise.all(
    paths.map(async (path) => {
      let info;
      try {
        info = await stat(path);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        throw new LocalError(code === 'ENOENT' ? `no such file: ${path}` : `cannot read ${path}: ${(error as Error).message}`);
      }
      if (!info.isFile()) throw new LocalError(`not a regular file: ${path}`);
      return { path, filename: basename(path), size: info.size };
    }),
  );
}

export const push: Command = {
  name: 'push',
  summary: 'upload packages as one new revision',
  usage: ['repod push --dist <name> [--component <c>] [--message <text>] [--replace-names a,b] [--remove <NEVRA>]... FILE...', 'repod push --dist <name> --single FILE'],
  description:
    'Uploads one build (any number of .rpm or .deb files) and publishes it as exactly one new revision, ' +
    'optionally removing packages in the same revision. Files are streamed, never loaded into memory. ' +
    'A progress bar is drawn on stderr when it is a terminal.',
  options: {
    dist: distOption,
    component: { type: 'string', short: 'c', arg: 'name', help: 'APT component (default: the distribution\'s first, usually "main")' },
    message: { type: 'string', short: 'm', arg: 'text', help: 'revision message' },
    'replace-names': { type: 'string', multiple: true, arg: 'a,b', help: 'package names whose current versions the pushed ones replace (comma-separated, repeatable)' },
    remove: { type: 'string', multiple: true, arg: 'NEVRA', help: 'also remove this package (file name or NEVRA) in the same revision (repeatable)' },
    ref: { type: 'string', multiple: true, arg: 'sha256', help: 'also add a package already in the store, by its sha256 (repeatable; no upload)' },
    single: { type: 'boolean', help: 'send one file through the Repod-compatible POST /api/v1/upload' },
    progress: { type: 'boolean', help: 'draw the progress bar even when stderr is not a terminal' },
    'no-progress': { type: 'boolean', help: 'never draw the progress bar' },
  },
  examples: [
    'repod push --dist rocky9 -m "build 42" hello-2.0-1.x86_64.rpm hello-libs-2.0-1.x86_64.rpm',
    'repod push --dist rocky9 --remove hello-1.0-1.x86_64 hello-2.0-1.x86_64.rpm',
    'repod push --dist bookworm --component main hello_2.10-3_amd64.deb',
  ],
  api: ['POST /api/v1/distributions/<dist>/builds (multipart: file..., package..., remove..., replace_names..., message, component)', 'POST /api/v1/upload (--single)'],

  async run(ctx: CommandContext) {
    const dist = required(ctx.values, 'dist', 'push');
    const single = ctx.values.single === true;
    const removals = list(ctx.values, 'remove');
    const replaceNames = list(ctx.values, 'replace-names')
      .flatMap((v) => v.split(','))
      .map((v) => v.trim())
      .filter(Boolean);
    const refs = list(ctx.values, 'ref');
    const message = str(ctx.values, 'message');
    const component = str(ctx.values, 'component');
    if (ctx.positionals.length === 0 && removals.length === 0 && refs.length === 0) throw new UsageError('name at least one FILE to push (or --remove, --ref)', 'push');
    if (single) {
      if (ctx.positionals.length !== 1) throw new UsageError('--single sends exactly one FILE', 'push');
      if (removals.length || replaceNames.length || refs.length || message !== undefined)
        throw new UsageError('--single takes no --remove, --ref, --replace-names or --message (use a build push)', 'push');
    }
    const files = await localFiles(ctx.positionals);

    const parts: FormPart[] = [];
    if (single) parts.push({ name: 'distribution', value: dist });
    if (component !== undefined) parts.push({ name: 'component', value: component });
    if (message !== undefined) parts.push({ name: 'message', value: message });
    for (const name of replaceNames) parts.push({ name: 'replace_names', value: name });
    for (const r of removals) parts.push({ name: 'remove', value: r });
    for (const r of refs) parts.push({ name: 'package', value: r });
    for (const f of files) {
      const ext = /\.([a-z]+)$/i.exec(f.filename)?.[1]?.toLowerCase() ?? '';
      parts.push({ name: 'file', file: { ...f, contentType: CONTENT_TYPES[ext] } });
    }

    const total = files.reduce((n, f) => n + f.size, 0);
    const stderr = ctx.io.stderr;
    const wantProgress = !ctx.out.json && ctx.values['no-progress'] !== true && (ctx.values.progress === true || stderr.isTTY === true) && files.length > 0;
    const progress = wantProgress ? new Progress(stderr, total) : null;
    const multipart = multipartBody(parts, {
      onFile: (part, i) => progress?.setLabel(files.length > 1 ? `(${i + 1}/${files.length}) ${part.file.filename}` : part.file.filename),
      onBytes: (n) => {
        progress?.add(n);
        if (progress && progress.transferred === total) progress.waiting('sent, publishing…');
      },
    });

    let answer: PushAnswer;
    try {
      const path = single ? '/api/v1/upload' : `/api/v1/distributions/${seg(dist)}/builds`;
      const raw = await ctx.client.request<Record<string, unknown>>('POST', path, {
        body: multipart.body,
        headers: { 'content-type': multipart.contentType, 'content-length': String(multipart.length) },
      });
      if (ctx.out.json) {
        ctx.out.document(raw);
        return;
      }
      answer = single ? fromUpload(raw) : (raw as unknown as PushAnswer);
    } finally {
      progress?.finish();
    }
    printPush(ctx, answer, total);
  },
};

/** The Repod-compatible single-upload answer, seen as a build of one package. */
function fromUpload(raw: Record<string, unknown>): PushAnswer {
  const r = raw as unknown as PushedPackage & PushAnswer;
  return {
    status: r.status,
    distribution: r.distribution,
    revision: r.revision ?? null,
    packages: [{ package: r.package, version: r.version, architecture: r.architecture, filename: r.filename, sha256: r.sha256, size: r.size, status: r.status }],
    removed: [],
  };
}

function printPush(ctx: CommandContext, answer: PushAnswer, total: number): void {
  const packages = answer.packages ?? [];
  const removed = answer.removed ?? [];
  const published = packages.filter((p) => p.status !== 'unchanged').length;
  if (answer.status === 'unchanged' || !answer.revision) {
    ctx.out.line(`${answer.distribution}: unchanged, already published${answer.revision ? ` (current: ${describeRevision(answer.revision)})` : ''}`);
  } else {
    const what = [published ? `${plural(published, 'package')} published` : '', removed.length ? `${removed.length} removed` : ''].filter(Boolean).join(', ') || 'no change';
    ctx.out.line(`${answer.distribution}: ${describeRevision(answer.revision)} (${what}; ${formatBytes(total)} sent)`);
  }
  if (packages.length > 0) {
    ctx.out.table(
      ['STATUS', 'PACKAGE', 'VERSION', 'ARCH', 'SIZE', 'FILE'],
      packages.map((p) => [p.status ?? answer.status, p.package, p.version, p.architecture, formatBytes(p.size), p.filename]),
      { indent: '  ' },
    );
  }
  if (removed.length > 0) {
    ctx.out.line('removed:');
    for (const r of removed) ctx.out.line(`  - ${r.nevra ?? r.label ?? r.filename}`);
  }
}
