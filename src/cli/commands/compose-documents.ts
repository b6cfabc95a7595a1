import { readFile } from 'node:fs/promises';
import { type Command, type CommandContext, distOption, positionalCount, required, UsageError } from '../command.ts';
import { LocalError, seg } from '../http-client.ts';
import { describeRevision } from '../output.ts';

interface DocumentAnswer {
  status?: string;
  revision?: { id: string; number: number } | null;
  warnings?: string[];
  [key: string]: unknown;
}

async function readDocument(path: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (error) {
    throw new LocalError(`cannot read ${path}: ${(error as Error).message}`, { cause: error });
  }
}

function report(ctx: CommandContext, dist: string, what: string, r: DocumentAnswer): void {
  if (ctx.out.json) {
    ctx.out.document(r);
    return;
  }
  ctx.out.line(
    r.status === 'unchanged'
      ? `${dist}: ${what} unchanged (${describeRevision(r.revision ?? undefined)})`
      : `${dist}: ${what} published as ${describeRevision(r.revision ?? undefined)}`,
  );
  for (const w of r.warnings ?? []) ctx.out.note(`warning: ${w}`);
}

/** `repod comps|modules|updateinfo push --dist D FILE` (and the removals), one command per document. */
function documentCommand(kind: 'comps' | 'modules' | 'updateinfo'): Command {
  const what = { comps: 'comps (groups)', modules: 'module documents', updateinfo: 'advisories' }[kind];
  const contentType = { comps: 'application/xml', modules: 'application/yaml', updateinfo: 'application/xml' }[kind];
  const removal = kind === 'updateinfo' ? `repod updateinfo remove --dist <name> <advisory id>` : `repod ${kind} remove --dist <name>`;
  return {
    name: kind,
    summary: kind === 'updateinfo' ? 'add or update advisories (updateinfo.xml or JSON) of an RPM distribution' : `replace the ${what} of an RPM distribution`,
    usage: [`repod ${kind} push --dist <name> FILE`, removal],
    description:
      kind === 'updateinfo'
        ? 'push adds the advisories of FILE (updateinfo.xml, or JSON when it ends in .json), replacing those with the same id; remove deletes one. Each makes a new revision.'
        : `push replaces the distribution's ${what} with FILE (${kind === 'comps' ? 'a comps.xml' : 'a modulemd YAML stream: modulemd v2 and modulemd-defaults v1 documents'}); remove drops them. Each makes a new revision.`,
    options: { dist: distOption },
    examples: [`repod ${kind} push --dist rocky9 ${{ comps: 'comps.xml', modules: 'modules.yaml', updateinfo: 'updateinfo.xml' }[kind]}`],
    api:
      kind === 'updateinfo'
        ? ['POST /api/v1/distributions/<dist>/updateinfo', 'DELETE /api/v1/distributions/<dist>/updateinfo/<id>']
        : [`PUT /api/v1/distributions/<dist>/${kind}`, `DELETE /api/v1/distributions/<dist>/${kind}`],

    async run(ctx) {
      const action = ctx.positionals[0];
      const dist = required(ctx.values, 'dist', kind);
      const path = `/api/v1/distributions/${seg(dist)}/${kind}`;
      if (action === 'push') {
        positionalCount(ctx, kind, 2, 2, 'the file to push');
        const file = ctx.positionals[1];
        const body = await readDocument(file);
        const json = kind === 'updateinfo' && file.endsWith('.json');
        const r = await ctx.client.request<DocumentAnswer>(kind === 'updateinfo' ? 'POST' : 'PUT', path, {
          body,
          headers: { 'content-type': json ? 'application/json' : contentType },
        });
        return report(ctx, dist, what, r);
      }
      if (action === 'remove') {
        if (kind === 'updateinfo') {
          positionalCount(ctx, kind, 2, 2, 'the advisory id');
          return report(ctx, dist, `advisory ${ctx.positionals[1]} removal`, await ctx.client.request<DocumentAnswer>('DELETE', `${path}/${seg(ctx.positionals[1])}`));
        }
        positionalCount(ctx, kind, 1, 1, 'nothing more');
        return report(ctx, dist, `${what} removal`, await ctx.client.request<DocumentAnswer>('DELETE', path));
      }
      throw new UsageError(action ? `unknown action ${JSON.stringify(action)} (push or remove)` : 'missing action: push or remove', kind);
    },
  };
}

export const compsCommand = documentCommand('comps');
export const modulesCommand = documentCommand('modules');
export const updateinfoCommand = documentCommand('updateinfo');
