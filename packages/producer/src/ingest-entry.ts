/**
 * `@flow-dispatcher/producer/ingest`: the HTTP ingest service. A subpath of its own so that
 * backends using the producer library do not load fastify.
 */
export type { FlowDescriber } from './ingest/describe-cache.js';
export {
  type IngestServer,
  type IngestServerOptions,
  startIngestServer,
} from './ingest/ingest-server.js';
