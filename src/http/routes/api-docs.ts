import { Hono } from 'hono';
import { describeRoute } from '../openapi/describe.ts';
import { docsPage } from '../openapi/docs-page.ts';
import { openApiDocument, type RouteEntry } from '../openapi/document.ts';

const INFO = {
  title: 'repod',
  version: '1',
  description:
    'A virtual, blob-backed package repository server for RPM and APT clients. This is the management API under /api/v1 (Repod-compatible upload and sign-in included); package clients use /repos, /hashed, /revisions and /tags.',
};

/**
 * `GET /api/v1/openapi.json` (OpenAPI 3.1) and `GET /api/docs` (the same as a readable page),
 * generated from the descriptions next to each route of the whole app. `routes` is read on first
 * request, once every route is mounted.
 */
export function apiDocsRoutes(routes: () => RouteEntry[]): Hono {
  let document: Record<string, unknown> | null = null;
  let page: string | null = null;
  const doc = () => (document ??= openApiDocument(routes(), INFO));
  const app = new Hono();
  app.get('/api/v1/openapi.json', describeRoute({ summary: 'This API as an OpenAPI 3.1 document', tags: ['Meta'] }), (c) => c.json(doc()));
  app.get('/api/docs', (c) => c.html((page ??= docsPage(doc()))));
  return app;
}
