/** The stable codes of ingest's error answers (`{"error":{"code","message"}}`). */
export type IngestErrorCode =
  | 'UNAUTHORIZED'
  | 'NOT_FOUND'
  | 'INVALID_JSON'
  | 'FORBIDDEN_KEY'
  | 'INVALID_REQUEST'
  | 'INVALID_FLOW_NAME'
  | 'INVALID_INPUT'
  | 'TOO_MANY_TRIGGERS'
  | 'FLOW_NOT_FOUND'
  | 'TRIGGER_NOT_FOUND'
  | 'BODY_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'BACKLOG_FULL'
  | 'REDIS_UNAVAILABLE'
  | 'WRITE_FAILED'
  | 'SALESFORCE_UNAVAILABLE'
  | 'SHUTTING_DOWN'
  | 'MISCONFIGURED'
  | 'INTERNAL';

/**
 * A request ingest refuses, or could not complete: an HTTP status, a stable code and a message
 * that names the problem (never an input value, a token or a stack). Nothing of a request that
 * ends in an IngestError was stored, except after a write deadline (see `WRITE_FAILED`).
 */
export class IngestError extends Error {
  override readonly name = 'IngestError';
  /** Seconds for the `Retry-After` header (429, 503). */
  readonly retryAfterSeconds: number | undefined;
  /** The input or field at fault, for the drop-in endpoint's `fields`. */
  readonly field: string | undefined;

  constructor(
    readonly status: number,
    readonly code: IngestErrorCode,
    message: string,
    options: {
      cause?: unknown;
      retryAfterSeconds?: number;
      field?: string;
    } = {},
  ) {
    super(message, { cause: options.cause });
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.field = options.field;
  }
}

export function isIngestError(err: unknown): err is IngestError {
  return err instanceof Error && err.name === 'IngestError' && 'status' in err && 'code' in err;
}
