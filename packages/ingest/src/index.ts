/**
 * `@flow-dispatcher/ingest`: the HTTP ingest service. A package of its own so that
 * backends using the producer library do not load fastify.
 */

export { ERROR_CODES } from './api-schemas.js';
export type { FlowDescriber } from './describe-cache.js';
export { type IngestServer, type IngestServerOptions, startIngestServer } from './ingest-server.js';
export type { OpenApiDocument } from './openapi.js';
export { formatOpenApi, ingestOpenApiDocument } from './write-openapi.js';
