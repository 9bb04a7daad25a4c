import { pipeline, type Readable, Transform } from 'node:stream';
import { IngestError } from './ingest-error.js';

/**
 * Enforces the body size limit so that the client can read its 413 (pure stream plumbing).
 *
 * A server that answers before reading the whole body must close the connection, and most HTTP
 * clients, still writing, then report a broken pipe instead of the answer. So a body over
 * `limitBytes` is read to its end and discarded (up to `drainLimitBytes`, past which the
 * connection is given up), and the 413 comes after. Bodies that declare a Content-Length within
 * the limit are left as they are (the framework already refuses one that sends more).
 */
export function limitBody(
  payload: Readable,
  declaredLength: number,
  limitBytes: number,
  drainLimitBytes: number,
): Readable {
  if (Number.isFinite(declaredLength) && declaredLength <= limitBytes) return payload;
  let received = 0;
  const limited = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      received += chunk.length;
      if (received > drainLimitBytes) return callback(tooLarge(limitBytes));
      if (received > limitBytes) return callback(); // read on, keep nothing
      callback(null, chunk);
    },
    flush(callback) {
      callback(received > limitBytes ? tooLarge(limitBytes) : undefined);
    },
  });
  return pipeline(payload, limited, () => {});
}

function tooLarge(limitBytes: number): IngestError {
  return new IngestError(
    413,
    'BODY_TOO_LARGE',
    `the body is larger than the ${limitBytes} bytes this server accepts (INGEST_MAX_BODY_BYTES); send fewer triggers per request`,
  );
}
