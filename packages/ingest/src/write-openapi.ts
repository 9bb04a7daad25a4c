import { writeFileSync } from 'node:fs';
import { createLogger } from '@flow-dispatcher/shared';
import { buildIngestApp } from './ingest-app.js';
import type { IngestContext } from './ingest-context.js';
import { type OpenApiDocument, openApiDocumentOf } from './openapi.js';

/**
 * The OpenAPI document ingest serves at `GET /openapi.json`, without Redis or a port: the app is
 * built with a context no route may touch (none does while being registered), and the document
 * is read from its routes.
 */
export async function ingestOpenApiDocument(): Promise<OpenApiDocument> {
  const unused = new Proxy({} as IngestContext, {
    get: (_target, name) => {
      if (name === 'ingestMetrics' || name === 'then') return undefined;
      throw new Error(`the OpenAPI document was built from a route that used ctx.${String(name)}`);
    },
  });
  const app = buildIngestApp({
    ctx: unused,
    maxBodyBytes: 1,
    retryAfterSeconds: 1,
    logger: createLogger({ level: 'silent' }),
  });
  await app.ready();
  const document = openApiDocumentOf(app);
  await app.close();
  return document;
}

/** The committed form: what `GET /openapi.json` answers, pretty-printed, with a final newline. */
export function formatOpenApi(document: OpenApiDocument): string {
  return `${JSON.stringify(document, null, 2)}\n`;
}

// `pnpm openapi`: node packages/ingest/dist/write-openapi.js docs/openapi.json
if (process.argv[1] && import.meta.url === new URL(process.argv[1], 'file://').href) {
  const target = process.argv[2];
  if (!target) {
    process.stderr.write('usage: write-openapi.js <file>\n');
    process.exit(2);
  }
  writeFileSync(target, formatOpenApi(await ingestOpenApiDocument()));
  process.stdout.write(`wrote ${target}\n`);
}
