import { type Command, type CommandContext, distOption, integer, list, required, str, UsageError } from '../command.ts';
import { LocalError, seg } from '../http-client.ts';
import { type FormPart, multipartBody } from '../multipart.ts';
import { describeRevision, formatBytes, plural } from '../output.ts';
import { Progress } from '../progress.ts';
import { DEFAULT_BATCH, planBatches } from '../push/batches.ts';
import { type BuildAnswer, type BulkOutcome, countOutcome, type PushedPackage, pushBatches } from '../push/bulk-push.ts';
import { type LocalFile, localFiles } from '../push/local-files.ts';
import { DEFAULT_PARTS_THRESHOLD, parseBytes, uploadInParts } from '../push/parts-upload.ts';
import { pushSource, splitSources } from '../push/source-files.ts';

const CONTENT_TYPES: Record<string, string> = {
  rpm: 'application/x-rpm',
  deb: 'application/vnd.debian.binary-package',
  udeb: 'application/vnd.debian.binary-package',
  ddeb: 'application/vnd.debian.binary-package',
};

function filePart(f: LocalFile): FormPart {
  const ext = /\.([a-z]+)$/i.exec(f.filename)?.[1]?.toLowerCase() ?? '';
  return { name: 'file', file: { ...f, contentType: CONTENT_TYPES[ext] } };
}

export const push: Command = {
  name: 'push',
  summary: 'upload packages as one new revision (a bulk push: one per batch)',
  usage: ['repod push --dist <name> [--component <c>] [--message <text>] [--replace-names a,b] [--remove <NEVRA>]... FILE|DIR...', 'repod push --dist <name> --single FILE'],
  description:
    'Uploads one build (.rpm or .deb files; a directory means every .rpm/.deb under it) and publishes it as exactly ' +
    'one new revision, or nothing if a package is refused, optionally removing packages in the same revision. ' +
    'Files are streamed one at a time, never loaded into memory. ' +
    'A push of more files than one batch (--batch-files, default 500, or --batch-bytes) is a bulk push: each batch is ' +
    'sent and published as its own revision, so neither side holds the whole push; a batch refused because of a package ' +
    'is split and sent again until only the refused packages are left out, and the summary lists them (exit status 1). ' +
    'Removals and --ref packages of a bulk push are one more revision after the batches; --replace-names needs one batch. ' +
    'A file larger than --parts-threshold (default 64 MiB) that goes alone (one file, or alone in its batch) is sent in parts ' +
    '(POST /api/v1/uploads: each part one PUT of --part-size, straight to the store where it presigns) and then published ' +
    'as one upload; a server without that API gets it in one request. ' +
    'A progress bar is drawn on stderr when it is a terminal.',
  options: {
    dist: distOption,
    component: { type: 'string', short: 'c', arg: 'name', help: 'APT component (default: the distribution\'s first, usually "main")' },
    message: { type: 'string', short: 'm', arg: 'text', help: 'revision message' },
    'replace-names': { type: 'string', multiple: true, arg: 'a,b', help: 'package names whose current versions the pushed ones replace (comma-separated, repeatable)' },
    remove: { type: 'string', multiple: true, arg: 'NEVRA', help: 'also remove this package (file name or NEVRA) in the same revision (repeatable)' },
    ref: { type: 'string', multiple: true, arg: 'sha256', help: 'also add a package already in the store, by its sha256 (repeatable; no upload)' },
    'batch-files': { type: 'string', arg: 'n', help: `most files per request, hence per revision, of a bulk push (default ${DEFAULT_BATCH.files})` },
    'batch-bytes': { type: 'string', arg: 'n', help: `most bytes per request of a bulk push (default ${DEFAULT_BATCH.bytes}; a bigger file goes alone)` },
    single: { type: 'boolean', help: 'send one file through the Repod-compatible POST /api/v1/upload' },
    'parts-threshold': { type: 'string', arg: 'bytes', help: 'send a file larger than this in parts (default 64M; sizes take K, M, G)' },
    'part-size': { type: 'string', arg: 'bytes', help: "size of each part (default: the server's, 64M; at most 95M)" },
    progress: { type: 'boolean', help: 'draw the progress bar even when stderr is not a terminal' },
    'no-progress': { type: 'boolean', help: 'never draw the progress bar' },
  },
  examples: [
    'repod push --dist rocky9 -m "build 42" hello-2.0-1.x86_64.rpm hello-libs-2.0-1.x86_64.rpm',
    'repod push --dist rocky9 --remove hello-1.0-1.x86_64 hello-2.0-1.x86_64.rpm',
    'repod push --dist bookworm --component main hello_2.10-3_amd64.deb',
    'repod push --dist rocky9 ./mirror/Packages     # 20,000 RPMs: 40 revisions of 500',
  ],
  api: [
    'POST /api/v1/distributions/<dist>/builds (multipart: file..., package..., remove..., replace_names..., message, component; JSON without files)',
    'POST /api/v1/upload (--single)',
    'POST /api/v1/uploads, PUT <part URL>..., POST /api/v1/uploads/<id>/complete (a file above --parts-threshold)',
  ],

  async run(ctx: CommandContext) {
    const started = Date.now();
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
    const limits = {
      files: integer(ctx.values, 'batch-files', 'push', { min: 1 }) ?? DEFAULT_BATCH.files,
      bytes: integer(ctx.values, 'batch-bytes', 'push', { min: 1 }) ?? DEFAULT_BATCH.bytes,
    };
    const threshold = byteOption(ctx, 'parts-threshold') ?? DEFAULT_PARTS_THRESHOLD;
    const partSize = byteOption(ctx, 'part-size');
    if (ctx.positionals.length === 0 && removals.length === 0 && refs.length === 0) throw new UsageError('name at least one FILE to push (or --remove, --ref)', 'push');
    if (single) {
      if (ctx.positionals.length !== 1) throw new UsageError('--single sends exactly one FILE', 'push');
      if (removals.length || replaceNames.length || refs.length || message !== undefined)
        throw new UsageError('--single takes no --remove, --ref, --replace-names or --message (use a build push)', 'push');
    }
    // Source packages (a .dsc and the files it names) go one upload request each, before the binaries.
    const { packages: files, sources } = await splitSources(await localFiles(ctx.positionals));
    if (sources.length > 0) {
      if (ctx.out.json && (files.length > 0 || sources.length > 1 || removals.length > 0 || refs.length > 0)) {
        throw new UsageError('with --json, push one source package (.dsc) on its own', 'push');
      }
      for (const group of sources) {
        const answer = await pushSource(ctx.client, group, { distribution: dist, component });
        if (ctx.out.json) {
          ctx.out.document(answer);
          return;
        }
        const revision = (answer.revision as { id?: string } | undefined)?.id;
        ctx.out.line(`${dist}: source ${group[0]!.filename} with ${plural(group.length - 1, 'file')}: ${String(answer.status)}${revision ? ` (revision ${revision})` : ''}`);
      }
      if (files.length === 0 && removals.length === 0 && refs.length === 0) return;
    }
    if (single && files.length !== 1) throw new UsageError('--single sends exactly one FILE', 'push');
    const batches = single ? [files] : planBatches(files, limits);
    const bulk = batches.length > 1;
    if (bulk && replaceNames.length > 0) {
      throw new UsageError(
        `--replace-names makes one change, but ${files.length} files need ${batches.length} requests of at most ${limits.files} files: raise --batch-files or push the replacement separately`,
        'push',
      );
    }

    const total = files.reduce((n, f) => n + f.size, 0);
    const stderr = ctx.io.stderr;
    const wantProgress = !ctx.out.json && ctx.values['no-progress'] !== true && (ctx.values.progress === true || stderr.isTTY === true) && files.length > 0;
    const progress = wantProgress ? new Progress(stderr, total) : null;
    const common: FormPart[] = [];
    if (single) common.push({ name: 'distribution', value: dist });
    if (component !== undefined) common.push({ name: 'component', value: component });
    if (message !== undefined) common.push({ name: 'message', value: message });
    // A one-request push carries its removals and references in the same change; a bulk push
    // sends them after the batches, as one more change.
    const extras: FormPart[] = [
      ...replaceNames.map((value) => ({ name: 'replace_names', value })),
      ...removals.map((value) => ({ name: 'remove', value })),
      ...refs.map((value) => ({ name: 'package', value })),
    ];
    const path = single ? '/api/v1/upload' : `/api/v1/distributions/${seg(dist)}/builds`;
    let sentFiles = 0;
    let batchNumber = 0;

    // A file that goes alone in its request (no removals or references with it) may go in parts.
    const inParts = async (file: LocalFile, what: string, resend: boolean): Promise<BuildAnswer | null> => {
      if (!resend) sentFiles++;
      const label = `${what ? `${what} ` : ''}${files.length > 1 && !resend ? `(${sentFiles}/${files.length}) ` : ''}${file.filename}`;
      const raw = await uploadInParts(ctx.client, file, {
        distribution: dist,
        component,
        message,
        partSize,
        onPart: (n, count) => progress?.setLabel(`${label} (part ${n}/${count})`),
        onBytes: (n) => {
          if (!resend) progress?.add(n);
        },
        onComplete: () => progress?.waiting(bulk ? `${what} sent, publishing…` : 'sent, publishing…'),
      });
      if (!raw) {
        // An older server: the file goes in one request, counted again there.
        if (!resend) sentFiles--;
        return null;
      }
      return single ? (raw as unknown as BuildAnswer) : fromUpload(raw);
    };

    const send = async (batch: LocalFile[], resend: boolean, withExtras: boolean): Promise<Record<string, unknown>> => {
      if (!resend) batchNumber++;
      let batchBytes = batch.reduce((n, f) => n + f.size, 0);
      const what = bulk ? `batch ${batchNumber}/${batches.length}${resend ? ' (again, without a refused package)' : ''}` : '';
      if (batch.length === 1 && batch[0].size > threshold && !(withExtras && extras.length > 0)) {
        const answer = await inParts(batch[0], what, resend);
        if (answer) return answer as unknown as Record<string, unknown>;
      }
      const multipart = multipartBody([...common, ...(withExtras ? extras : []), ...batch.map(filePart)], {
        onFile: (part, i) => {
          if (!resend) sentFiles++;
          const label =
            files.length > 1 ? `(${resend ? (batch.length > 1 ? `${i + 1}/${batch.length}` : '1/1') : `${sentFiles}/${files.length}`}) ${part.file.filename}` : part.file.filename;
          progress?.setLabel(bulk ? `${what} ${label}` : label);
        },
        onBytes: (n) => {
          if (!resend) progress?.add(n);
          batchBytes -= n;
          if (progress && batchBytes === 0) progress.waiting(bulk ? `${what} sent, publishing…` : 'sent, publishing…');
        },
      });
      const answer = await ctx.client.request<Record<string, unknown>>('POST', path, {
        body: multipart.body,
        headers: { 'content-type': multipart.contentType, 'content-length': String(multipart.length) },
      });
      return answer;
    };

    if (!bulk) {
      let answer: BuildAnswer;
      try {
        const raw = await send(files, false, true);
        if (ctx.out.json) {
          ctx.out.document(raw);
          return;
        }
        answer = single ? fromUpload(raw) : (raw as unknown as BuildAnswer);
      } finally {
        progress?.finish();
      }
      printPush(ctx, answer, total);
      const counts = countOutcome({ answers: [answer], refused: [], requests: [files.length] });
      ctx.out.line(`${summaryLine(counts)}; ${formatSeconds(Date.now() - started)}`);
      return;
    }

    let outcome: BulkOutcome;
    let extrasAnswer: BuildAnswer | null = null;
    try {
      outcome = await pushBatches(batches, async (batch, resend) => {
        return (await send(batch, resend, false)) as unknown as BuildAnswer;
      });
      if (extras.length > 0) {
        progress?.waiting('removals and references…');
        extrasAnswer = await ctx.client.request<BuildAnswer>('POST', path, {
          json: { remove: removals, packages: refs, ...(message !== undefined ? { message } : {}), ...(component !== undefined ? { component } : {}) },
        });
        outcome.answers.push(extrasAnswer);
      }
    } finally {
      progress?.finish();
    }
    const counts = countOutcome(outcome);
    const seconds = (Date.now() - started) / 1000;
    if (ctx.out.json) {
      ctx.out.document({
        status: counts.refused > 0 ? 'partial' : counts.revisions.length > 0 ? 'published' : 'unchanged',
        distribution: dist,
        summary: { files: files.length, ...counts, refused: counts.refused, requests: outcome.requests.length, seconds },
        revisions: outcome.answers.filter((a) => a.status === 'published' && a.revision).map((a) => a.revision),
        requests: outcome.requests,
        packages: outcome.answers.flatMap((a) => (a.packages ?? []).map((p) => ({ ...p, status: p.status ?? a.status }))),
        removed: extrasAnswer?.removed ?? [],
        refused: outcome.refused,
      });
    } else {
      const range =
        counts.revisions.length === 0
          ? ''
          : counts.revisions.length === 1
            ? ` (revision ${counts.revisions[0]})`
            : ` (revisions ${counts.revisions[0]}..${counts.revisions[counts.revisions.length - 1]})`;
      ctx.out.line(`${dist}: ${plural(files.length, 'file')} in ${plural(batches.length, 'batch', 'batches')} of at most ${limits.files}${range}; ${formatBytes(total)} sent`);
      const removed = extrasAnswer?.removed ?? [];
      if (removed.length > 0) {
        ctx.out.line('removed:');
        for (const r of removed) ctx.out.line(`  - ${r.nevra ?? r.label ?? r.filename}`);
      }
      if (outcome.refused.length > 0) {
        ctx.out.line('refused:');
        for (const r of outcome.refused) ctx.out.line(`  ${r.filename}: ${r.message} (${r.error})`);
      }
      ctx.out.line(`${summaryLine(counts)}; ${formatSeconds(seconds * 1000)}`);
    }
    if (outcome.refused.length > 0) throw new LocalError(`${plural(outcome.refused.length, 'package')} of ${files.length} refused; the others are published`);
  },
};

function byteOption(ctx: CommandContext, name: string): number | undefined {
  const v = str(ctx.values, name);
  if (v === undefined) return undefined;
  const bytes = parseBytes(v);
  if (bytes === null) throw new UsageError(`--${name} takes a size in bytes (e.g. 67108864, 64M, 1G), not ${JSON.stringify(v)}`, 'push');
  return bytes;
}

function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

function summaryLine(counts: ReturnType<typeof countOutcome>): string {
  return `${counts.published} published, ${counts.unchanged} unchanged, ${counts.skipped} skipped, ${counts.refused} refused; ${plural(counts.revisions.length, 'revision')}`;
}

/** The Repod-compatible single-upload answer, seen as a build of one package. */
function fromUpload(raw: Record<string, unknown>): BuildAnswer {
  const r = raw as unknown as PushedPackage & BuildAnswer;
  return {
    status: r.status,
    distribution: r.distribution,
    revision: r.revision ?? null,
    packages: [{ package: r.package, version: r.version, architecture: r.architecture, filename: r.filename, sha256: r.sha256, size: r.size, status: r.status }],
    removed: [],
  };
}

function printPush(ctx: CommandContext, answer: BuildAnswer, total: number): void {
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
