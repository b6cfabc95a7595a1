/**
 * `/api/docs`: the OpenAPI document as one server-rendered HTML page, operations grouped by tag,
 * with no script and no asset from elsewhere (it works offline and behind strict CSPs).
 */
const escapeHtml = (text: string) => text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');

interface Operation {
  operationId: string;
  summary: string;
  description?: string;
  tags?: string[];
  parameters?: Array<{ name: string; in: string; description?: string }>;
  requestBody?: { content: Record<string, unknown> };
  responses: Record<string, { description: string }>;
  'x-repod-role'?: string;
}

export function docsPage(document: Record<string, unknown>): string {
  const info = document.info as { title: string; version: string; description?: string };
  const byTag = new Map<string, Array<{ method: string; path: string; op: Operation }>>();
  for (const [path, methods] of Object.entries(document.paths as Record<string, Record<string, Operation>>)) {
    for (const [method, op] of Object.entries(methods)) {
      const tag = op.tags?.[0] ?? 'Other';
      if (!byTag.has(tag)) byTag.set(tag, []);
      byTag.get(tag)!.push({ method, path, op });
    }
  }
  const sections = [...byTag].map(([tag, ops]) => {
    const items = ops.map(({ method, path, op }) => {
      const params = (op.parameters ?? []).map((p) => `<li><code>${escapeHtml(p.name)}</code> (${p.in})${p.description ? `: ${escapeHtml(p.description)}` : ''}</li>`).join('');
      const body = op.requestBody
        ? `<p>Body: ${Object.keys(op.requestBody.content)
            .map((t) => `<code>${escapeHtml(t)}</code>`)
            .join(', ')}</p>`
        : '';
      const responses = Object.entries(op.responses)
        .map(([status, r]) => `<li><code>${escapeHtml(status)}</code> ${escapeHtml(r.description)}</li>`)
        .join('');
      return `<section class="op" id="${escapeHtml(op.operationId)}">
<h3><span class="method ${method}">${method.toUpperCase()}</span> <code>${escapeHtml(path)}</code></h3>
<p>${escapeHtml(op.summary)}</p>${op.description ? `<p>${escapeHtml(op.description)}</p>` : ''}
<p>Access: ${op['x-repod-role'] ? `bearer token, role ${escapeHtml(op['x-repod-role'])} or above` : 'public'}</p>
${params ? `<p>Parameters:</p><ul>${params}</ul>` : ''}${body}<p>Responses:</p><ul>${responses}</ul>
</section>`;
    });
    return `<h2 id="tag-${escapeHtml(tag)}">${escapeHtml(tag)}</h2>\n${items.join('\n')}`;
  });
  const toc = [...byTag.keys()].map((tag) => `<li><a href="#tag-${escapeHtml(tag)}">${escapeHtml(tag)}</a></li>`).join('');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(info.title)} API</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; line-height: 1.4; }
code { font-family: ui-monospace, monospace; }
.op { border-top: 1px solid #ccc; padding: 0.5rem 0; }
.method { display: inline-block; min-width: 4.5em; font-size: 0.8em; padding: 0.1em 0.4em; border-radius: 3px; color: #fff; background: #555; text-align: center; }
.get { background: #1a6; } .post { background: #27c; } .put, .patch { background: #a60; } .delete { background: #c33; }
</style>
</head>
<body>
<h1>${escapeHtml(info.title)} API <small>${escapeHtml(info.version)}</small></h1>
${info.description ? `<p>${escapeHtml(info.description)}</p>` : ''}
<p>The machine-readable document: <a href="/api/v1/openapi.json"><code>/api/v1/openapi.json</code></a> (OpenAPI 3.1).</p>
<nav aria-label="Sections"><ul>${toc}</ul></nav>
<main>
${sections.join('\n')}
</main>
</body>
</html>
`;
}
