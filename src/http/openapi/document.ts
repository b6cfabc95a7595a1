import type { JsonSchema, OperationDoc, ResponseDoc } from './describe.ts';
import { operationDocOf } from './describe.ts';

/** A route as hono lists it (`app.routes`). */
export interface RouteEntry {
  method: string;
  path: string;
  handler: unknown;
}

export interface DocumentInfo {
  title: string;
  version: string;
  description?: string;
}

/** The error body every refusal carries (src/http/errors.ts). */
const ERROR_SCHEMA: JsonSchema = {
  type: 'object',
  required: ['status', 'error', 'message'],
  properties: {
    status: { type: 'string', description: '"error", or Repod\'s status word (duplicate, rejected) where the API keeps it' },
    error: { type: 'string', description: 'a stable machine-readable code, e.g. unknown_distribution' },
    message: { type: 'string', description: 'what went wrong, for people' },
    details: { type: 'object' },
  },
};

const METHODS = new Set(['get', 'put', 'post', 'delete', 'patch', 'head', 'options']);

/** `/:dist/revisions/:rev{[0-9a-z-]+}` → `/{dist}/revisions/{rev}` and its parameter names. */
export function openApiPath(honoPath: string): { path: string; params: string[] } {
  const params: string[] = [];
  const path = honoPath
    .split('/')
    .map((segment) => {
      const m = /^:([A-Za-z0-9_]+)(\{.*\})?\??$/.exec(segment);
      if (!m) return segment;
      params.push(m[1]);
      return `{${m[1]}}`;
    })
    .join('/');
  return { path, params };
}

function operationId(method: string, path: string, taken: Set<string>): string {
  const words = path.split(/[^A-Za-z0-9]+/).filter(Boolean);
  const base = method + words.map((w) => w[0].toUpperCase() + w.slice(1)).join('') + (path.endsWith('/') && path !== '/' ? 'Slash' : '');
  let id = base;
  for (let n = 2; taken.has(id); n++) id = `${base}${n}`;
  taken.add(id);
  return id;
}

function response(doc: string | ResponseDoc): Record<string, unknown> {
  const r = typeof doc === 'string' ? { description: doc } : doc;
  if (r.contentType) return { description: r.description, content: { [r.contentType]: { schema: r.schema ?? { type: 'string' } } } };
  return { description: r.description, content: { 'application/json': { schema: r.schema ?? { type: 'object' } } } };
}

function operation(doc: OperationDoc, method: string, path: string, params: string[], taken: Set<string>): Record<string, unknown> {
  const parameters = [
    ...params.map((name) => ({ name, in: 'path', required: true, schema: { type: 'string' } })),
    ...Object.entries(doc.query ?? {}).map(([name, description]) => ({ name, in: 'query', required: false, description, schema: { type: 'string' } })),
  ];
  const responses: Record<string, unknown> = {};
  for (const [status, r] of Object.entries(doc.responses ?? { 200: 'OK' })) responses[status] = response(r);
  const role = doc.role ?? 'public';
  if (role !== 'public') {
    responses['401'] ??= { description: 'no valid bearer token', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
    responses['403'] ??= { description: `the token's role is below ${role}`, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
  }
  responses['4XX'] ??= { description: 'the request was refused; the body names the problem', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
  const op: Record<string, unknown> = {
    operationId: operationId(method, path, taken),
    summary: doc.summary,
    ...(doc.description ? { description: doc.description } : {}),
    tags: doc.tags ?? ['Other'],
    ...(parameters.length ? { parameters } : {}),
    responses,
    ...(role === 'public' ? { security: [] } : { security: [{ bearerAuth: [] }], 'x-repod-role': role }),
    ...(doc.deprecated ? { deprecated: true } : {}),
  };
  if (doc.body) {
    const content: Record<string, unknown> = {};
    if (doc.body.json) content['application/json'] = { schema: doc.body.json };
    if (doc.body.multipart) {
      const properties: Record<string, JsonSchema> = {};
      for (const [name, kind] of Object.entries(doc.body.multipart)) {
        properties[name] = kind === 'file' ? { type: 'string', contentMediaType: 'application/octet-stream' } : { type: 'string' };
      }
      content['multipart/form-data'] = { schema: { type: 'object', properties } };
    }
    if (doc.body.binary) content['application/octet-stream'] = { schema: { type: 'string', contentMediaType: 'application/octet-stream' } };
    op.requestBody = { required: doc.body.required ?? true, ...(doc.body.description ? { description: doc.body.description } : {}), content };
  }
  return op;
}

/**
 * The OpenAPI 3.1 document of every described route, in the order the app registered them. A
 * route without a description is left out: the coverage test names those under /api/v1.
 */
export function openApiDocument(routes: RouteEntry[], info: DocumentInfo): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  const tags = new Set<string>();
  const taken = new Set<string>();
  for (const route of routes) {
    const doc = operationDocOf(route.handler);
    const method = route.method.toLowerCase();
    if (!doc || !METHODS.has(method)) continue;
    const { path, params } = openApiPath(route.path);
    paths[path] ??= {};
    if (paths[path][method]) continue;
    paths[path][method] = operation(doc, method, path, params, taken);
    for (const tag of doc.tags ?? ['Other']) tags.add(tag);
  }
  return {
    openapi: '3.1.0',
    info: { title: info.title, version: info.version, ...(info.description ? { description: info.description } : {}) },
    tags: [...tags].map((name) => ({ name })),
    paths,
    components: {
      securitySchemes: {
        bearerAuth: { type: 'http', scheme: 'bearer', description: 'An access token from POST /api/v1/auth/token or a long-lived API token' },
      },
      schemas: { Error: ERROR_SCHEMA },
    },
    security: [{ bearerAuth: [] }],
  };
}

/** Whether a document lists an operation for a hono route (method and path). */
export function documentHas(document: Record<string, unknown>, method: string, honoPath: string): boolean {
  const paths = document.paths as Record<string, Record<string, unknown>>;
  return Boolean(paths[openApiPath(honoPath).path]?.[method.toLowerCase()]);
}
