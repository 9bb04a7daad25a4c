import { IngestError, isIngestError } from './ingest-error.js';

/**
 * Turns whatever a route or the HTTP framework threw into an IngestError (pure): fastify's own
 * errors (media type, body size, bad URL encoding) get their status and a message of ours;
 * anything unexpected becomes a 500 that says nothing of its cause (which is logged instead).
 */
export function toIngestError(err: unknown): IngestError {
  if (isIngestError(err)) return err;
  const code = (err as { code?: unknown } | null)?.code;
  switch (code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new IngestError(
        415,
        'UNSUPPORTED_MEDIA_TYPE',
        'the body must be JSON sent with Content-Type: application/json',
      );
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new IngestError(
        413,
        'BODY_TOO_LARGE',
        'the body is larger than this server accepts (INGEST_MAX_BODY_BYTES); send fewer triggers per request',
      );
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new IngestError(400, 'INVALID_JSON', 'the body is empty; expected a JSON object');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new IngestError(400, 'INVALID_JSON', 'the body is not valid JSON');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new IngestError(400, 'INVALID_REQUEST', 'Content-Length does not match the body');
    case 'FST_ERR_BAD_URL':
      return new IngestError(400, 'INVALID_REQUEST', 'the URL is not validly percent-encoded');
  }
  const status = (err as { statusCode?: unknown } | null)?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return new IngestError(400, 'INVALID_REQUEST', 'the request could not be read', { cause: err });
  }
  return new IngestError(500, 'INTERNAL', 'internal error', { cause: err });
}
