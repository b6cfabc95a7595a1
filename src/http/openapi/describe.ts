import type { MiddlewareHandler } from 'hono';

/**
 * What the OpenAPI document says of one route, written next to the route itself:
 *   app.get('/:dist/revisions', describeRoute({ summary: '...', tags: ['Revisions'], role: 'reader' }), handler)
 * The document (document.ts) is generated from the app's routes, so a route and its description
 * cannot drift apart, and a test finds every /api/v1 route that has none.
 */
export type JsonSchema = Record<string, unknown>;

export interface ResponseDoc {
  description: string;
  /** JSON body schema (application/json), unless `contentType` says otherwise. */
  schema?: JsonSchema;
  contentType?: string;
}

export interface OperationDoc {
  summary: string;
  description?: string;
  tags?: string[];
  /** The least role that may call it (a bearer token); 'public' needs none. Default 'public'. */
  role?: 'public' | 'reader' | 'auditor' | 'uploader' | 'maintainer' | 'admin';
  /** Query parameters: name → description. */
  query?: Record<string, string>;
  /** The request body: a JSON schema, multipart fields, or raw bytes. */
  body?: { json?: JsonSchema; multipart?: Record<string, 'file' | 'string'>; binary?: boolean; required?: boolean; description?: string };
  /** Answers by status code; 200 "OK" (JSON) when none is given. Errors are added from `role`. */
  responses?: Record<number, string | ResponseDoc>;
  deprecated?: boolean;
}

const DOC = Symbol.for('repod.openapi.operation');

type Described = MiddlewareHandler & { [DOC]?: OperationDoc };

/** A pass-through middleware carrying the route's description for the document. */
export function describeRoute(doc: OperationDoc): MiddlewareHandler {
  const middleware: Described = async (_c, next) => {
    await next();
  };
  middleware[DOC] = doc;
  return middleware;
}

/** The description a route's handler carries, if it is a describeRoute middleware. */
export function operationDocOf(handler: unknown): OperationDoc | undefined {
  return typeof handler === 'function' ? (handler as Described)[DOC] : undefined;
}
