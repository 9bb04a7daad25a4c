import { describe, expect, it } from 'vitest';
import { toIngestError } from './framework-errors.js';
import { IngestError } from './ingest-error.js';

describe('toIngestError', () => {
  it.each([
    ['FST_ERR_CTP_INVALID_MEDIA_TYPE', 415, 'UNSUPPORTED_MEDIA_TYPE'],
    ['FST_ERR_CTP_BODY_TOO_LARGE', 413, 'BODY_TOO_LARGE'],
    ['FST_ERR_CTP_EMPTY_JSON_BODY', 400, 'INVALID_JSON'],
    ['FST_ERR_BAD_URL', 400, 'INVALID_REQUEST'],
  ])('maps %s to %i %s', (code, status, ingestCode) => {
    expect(toIngestError(Object.assign(new Error('x'), { code }))).toMatchObject({
      status,
      code: ingestCode,
    });
  });

  it('keeps IngestErrors and hides the cause of anything unexpected', () => {
    const refusal = new IngestError(429, 'BACKLOG_FULL', 'full');
    expect(toIngestError(refusal)).toBe(refusal);
    const internal = toIngestError(new TypeError('secret detail at /srv/app.js:12'));
    expect(internal).toMatchObject({ status: 500, code: 'INTERNAL', message: 'internal error' });
  });
});
