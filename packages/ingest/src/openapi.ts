import type { FastifyInstance, RouteOptions } from 'fastify';
import type { z } from 'zod';
import {
  ERROR_CODES,
  errorBodySchema,
  type JsonSchema,
  jsonSchema,
  salesforceErrorSchema,
} from './api-schemas.js';
import { SALESFORCE_CODES } from './drop-in-request.js';
import type { IngestErrorCode } from './ingest-error.js';

/**
 * The OpenAPI 3.1 document of ingest, generated from the routes themselves: every route of the
 * API is registered with a `schema` (`apiSchema` below) holding the JSON Schemas of its path
 * parameters, headers, body and every answer, each made from the zod schema the route parses
 * with or answers with (api-schemas.ts). Ingest serves the document at `GET /openapi.json`;
 * `pnpm openapi` writes it to docs/openapi.json, and a test checks the two are the same.
 *
 * Fastify does not validate or serialise with these schemas (ingest-app.ts installs pass-through
 * compilers): zod does the validation, with ingest's own codes and messages.
 */

export interface ApiAnswer {
  description: string;
  schema: JsonSchema;
  /** The body's media type; JSON unless said. */
  mediaType?: string;
  /** Answers that carry `Retry-After`. */
  retryAfter?: boolean;
}

export interface ApiRoute {
  operationId: string;
  summary: string;
  description?: string;
  tags: string[];
  /** Needs `Authorization: Bearer <INGEST_TOKENS>`. */
  authenticated: boolean;
  params?: z.ZodType;
  headers?: { name: string; description: string; schema: JsonSchema }[];
  body?: z.ZodType;
  /** Answers by status. */
  answers: Record<number, ApiAnswer>;
}

/** The fastify `schema` of a route: the JSON Schemas of its request and answers, tagged. */
export interface ApiRouteSchema {
  operationId: string;
  summary: string;
  description?: string;
  tags: string[];
  security: Record<string, string[]>[];
  params?: JsonSchema;
  body?: JsonSchema;
  'x-headers'?: ApiRoute['headers'];
  response: Record<
    number,
    { description: string; content: Record<string, { schema: JsonSchema }>; headers?: JsonSchema }
  >;
}

const RETRY_AFTER_HEADER = {
  'Retry-After': {
    description:
      'seconds to wait before retrying with the same keys (on every 429, and on 503s worth retrying soon)',
    schema: { type: 'integer', minimum: 0 },
  },
};

/** A route's fastify `schema` from its description (request schemas as input, answers as output). */
export function apiSchema(route: ApiRoute): ApiRouteSchema {
  const response: ApiRouteSchema['response'] = {};
  for (const [status, answer] of Object.entries(route.answers)) {
    response[Number(status)] = {
      description: answer.description,
      content: { [answer.mediaType ?? 'application/json']: { schema: answer.schema } },
      ...(answer.retryAfter ? { headers: RETRY_AFTER_HEADER } : {}),
    };
  }
  return {
    operationId: route.operationId,
    summary: route.summary,
    ...(route.description ? { description: route.description } : {}),
    tags: route.tags,
    security: route.authenticated ? [{ bearer: [] }] : [],
    ...(route.params ? { params: jsonSchema(route.params, 'input') } : {}),
    ...(route.body ? { body: jsonSchema(route.body, 'input') } : {}),
    ...(route.headers ? { 'x-headers': route.headers } : {}),
    response,
  };
}

/**
 * The error answers of the native API, by status, from the codes a route can answer: one answer
 * per status whose `code` is the enum of that route's codes at that status.
 */
export function errorAnswers(codes: readonly IngestErrorCode[]): Record<number, ApiAnswer> {
  const byStatus = new Map<number, IngestErrorCode[]>();
  for (const code of new Set(codes)) {
    const status = ERROR_CODES[code].status;
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const answers: Record<number, ApiAnswer> = {};
  for (const [status, list] of [...byStatus].sort(([a], [b]) => a - b)) {
    answers[status] = {
      description: list.map((code) => `${code}: ${ERROR_CODES[code].meaning}`).join('; '),
      schema: jsonSchema(errorBodySchema(list as [IngestErrorCode, ...IngestErrorCode[]])),
      retryAfter: status === 429 || status === 503,
    };
  }
  return answers;
}

/**
 * The error answers of the drop-in endpoint, by status: Salesforce's `[{"errorCode","message"}]`
 * with the Salesforce codes that ingest's `codes` become there.
 */
export function salesforceErrorAnswers(
  codes: readonly IngestErrorCode[],
): Record<number, ApiAnswer> {
  const byStatus = new Map<number, Set<string>>();
  const meanings = new Map<number, string[]>();
  for (const code of new Set(codes)) {
    const mapped = SALESFORCE_CODES[code];
    const status = mapped.status ?? ERROR_CODES[code].status;
    byStatus.set(status, (byStatus.get(status) ?? new Set()).add(mapped.errorCode));
    meanings.set(status, [
      ...(meanings.get(status) ?? []),
      `${mapped.errorCode} (${code}): ${ERROR_CODES[code].meaning}`,
    ]);
  }
  const answers: Record<number, ApiAnswer> = {};
  for (const [status, set] of [...byStatus].sort(([a], [b]) => a - b)) {
    answers[status] = {
      description: (meanings.get(status) ?? []).join('; '),
      schema: jsonSchema(salesforceErrorSchema([...set] as [string, ...string[]])),
      retryAfter: status === 429 || status === 503,
    };
  }
  return answers;
}

/** Codes every route may answer: an unexpected error. */
export const ANY_ROUTE_CODES: IngestErrorCode[] = ['INTERNAL'];
/** Codes of a route with path parameters: one that is not valid percent-encoding. */
export const PARAM_CODES: IngestErrorCode[] = ['INVALID_REQUEST'];
/** Codes of a route behind the bearer token and the shutdown gate. */
export const GUARDED_CODES: IngestErrorCode[] = ['UNAUTHORIZED', 'SHUTTING_DOWN'];
/** Codes of reading a JSON body. */
export const BODY_CODES: IngestErrorCode[] = [
  'INVALID_JSON',
  'FORBIDDEN_KEY',
  'INVALID_REQUEST',
  'BODY_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
];
/** Codes of storing triggers (admission, then the write). */
export const STORE_CODES: IngestErrorCode[] = [
  'BACKLOG_FULL',
  'REDIS_UNAVAILABLE',
  'WRITE_FAILED',
  'SHUTTING_DOWN',
  'MISCONFIGURED',
];

/**
 * Collects the routes registered on `app` from now on that carry an API schema, and returns
 * the function that builds the document from them (call it once every route is registered).
 */
export function collectOpenApi(app: FastifyInstance): () => OpenApiDocument {
  const routes: { method: string; url: string; schema: ApiRouteSchema }[] = [];
  app.addHook('onRoute', (route: RouteOptions) => {
    const schema = route.schema as ApiRouteSchema | undefined;
    if (!schema?.operationId) return;
    for (const method of [route.method].flat()) {
      if (method !== 'HEAD') routes.push({ method, url: route.url, schema });
    }
  });
  let document: OpenApiDocument | undefined;
  const get = () => {
    document ??= buildDocument(routes);
    return document;
  };
  documents.set(app, get);
  return get;
}

const documents = new WeakMap<FastifyInstance, () => OpenApiDocument>();

/** The document of an app built by buildIngestApp (once its routes are registered). */
export function openApiDocumentOf(app: FastifyInstance): OpenApiDocument {
  const get = documents.get(app);
  if (!get) throw new Error('this app does not collect an OpenAPI document');
  return get();
}

export type OpenApiDocument = Record<string, unknown> & { paths: Record<string, unknown> };

function buildDocument(
  routes: readonly { method: string; url: string; schema: ApiRouteSchema }[],
): OpenApiDocument {
  const paths: Record<string, Record<string, unknown>> = {};
  const sorted = [...routes].sort((a, b) => a.url.localeCompare(b.url));
  for (const { method, url, schema } of sorted) {
    const path = url.replace(/:([A-Za-z]+)/g, '{$1}');
    const parameters: unknown[] = [];
    const params = schema.params as
      | { properties?: Record<string, JsonSchema>; required?: string[] }
      | undefined;
    for (const [name, paramSchema] of Object.entries(params?.properties ?? {})) {
      const { description, ...rest } = paramSchema as { description?: string };
      parameters.push({
        name,
        in: 'path',
        required: true,
        ...(description ? { description } : {}),
        schema: rest,
      });
    }
    for (const header of schema['x-headers'] ?? []) {
      parameters.push({
        name: header.name,
        in: 'header',
        required: false,
        description: header.description,
        schema: header.schema,
      });
    }
    paths[path] ??= {};
    (paths[path] as Record<string, unknown>)[method.toLowerCase()] = {
      operationId: schema.operationId,
      summary: schema.summary,
      ...(schema.description ? { description: schema.description } : {}),
      tags: schema.tags,
      security: schema.security,
      ...(parameters.length > 0 ? { parameters } : {}),
      ...(schema.body
        ? {
            requestBody: {
              required: true,
              content: { 'application/json': { schema: schema.body } },
            },
          }
        : {}),
      responses: Object.fromEntries(
        Object.entries(schema.response).map(([status, answer]) => [status, answer]),
      ),
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'flow-dispatcher ingest',
      version: '1',
      summary: 'Enqueue Salesforce Marketing Cloud On-Demand Flow triggers over HTTP',
      description:
        'The native API (/v1/...), the Salesforce drop-in endpoint (/services/data/...), health and metrics. ' +
        'Native errors are {"error":{"code","message"}}; the drop-in answers in Salesforce\'s own shapes. ' +
        'Generated from the schemas ingest validates with; see README.md "Using it over HTTP".',
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    components: {
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description: 'one of INGEST_TOKENS (none when INGEST_AUTH=none)',
        },
      },
    },
    paths,
  };
}
