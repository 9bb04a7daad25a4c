import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { redactForLog, redactionKeys, scrubText } from './log-redaction.js';
import { createLogger } from './logger.js';

/** A logger writing into an array of parsed JSON lines. */
function capture(redactInputs: string[] = []) {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      done();
    },
  });
  const logger = createLogger({ level: 'debug', destination, redactInputs });
  return { logger, lines, text: () => lines.join('\n') };
}

const EMAIL = 'jane.doe+promo@example.co.uk';
const PHONE = '+1 (555) 010-0999';
const TOKEN = '00D5g000001aBcD!AQ0AQH7pq.sekrit_session_value';
const INGEST_TOKEN = 'ingest-token-value-0123456789';

describe('createLogger redaction', () => {
  it('censors personal data, inputs and secrets at every depth, keeping counts readable', () => {
    const { logger, lines, text } = capture(['LoyaltyCard']);
    const err = Object.assign(new Error(`flow failed for ${EMAIL}`), {
      code: 'FLOW_FAILED',
      inputs: [{ EmailAddress: EMAIL }],
      cause: new Error(`Authorization: Bearer ${INGEST_TOKEN}`),
    });
    logger.child({ component: 'test', contact: { email: EMAIL } }).warn(
      {
        flow: 'Welcome_SMS',
        inputs: 200,
        EmailAddress: EMAIL,
        call: { TelephoneNumber: PHONE, accessToken: TOKEN },
        batch: {
          first: { input: { IndividualId: '0PK000000000001', EmailAddress: EMAIL } },
          items: [{ deeper: { still: { telephonenumber: 15550100999, LoyaltyCard: 'LC-991' } } }],
        },
        headers: { authorization: `Bearer ${INGEST_TOKEN}`, 'x-request-id': 'r1' },
        redisUrl: 'redis://default:hunter2-password@redis:6379',
        reason: `Salesforce said: invalid phone ${PHONE} for ${EMAIL}`,
        err,
      },
      'call settled with failures for %s',
      EMAIL,
    );
    logger.error(new Error(`token ${TOKEN} expired`), `retrying ${PHONE}`);

    const all = text();
    for (const secret of [
      EMAIL,
      'jane.doe',
      '555',
      '15550100999',
      'LC-991',
      TOKEN,
      'sekrit',
      INGEST_TOKEN,
      'hunter2',
      '0PK000000000001',
    ]) {
      expect(all).not.toContain(secret);
    }

    const line = JSON.parse(lines[0] ?? '{}');
    expect(line).toMatchObject({
      level: 'warn',
      component: 'test',
      contact: { email: '[redacted]' },
      flow: 'Welcome_SMS',
      inputs: 200,
      EmailAddress: '[redacted]',
      call: { TelephoneNumber: '[redacted]', accessToken: '[redacted]' },
      batch: {
        first: { input: '[redacted]' },
        items: [
          { deeper: { still: { telephonenumber: '[redacted]', LoyaltyCard: '[redacted]' } } },
        ],
      },
      headers: { authorization: '[redacted]', 'x-request-id': 'r1' },
      redisUrl: 'redis://default:[redacted]@redis:6379',
      reason: 'Salesforce said: invalid phone [phone] for [email]',
      err: {
        type: 'Error',
        message: 'flow failed for [email]',
        code: 'FLOW_FAILED',
        inputs: '[redacted]',
        cause: { message: 'Authorization: Bearer [redacted]' },
      },
      msg: 'call settled with failures for [email]',
    });
    expect(JSON.parse(lines[1] ?? '{}')).toMatchObject({
      err: { type: 'Error', message: 'token [redacted] expired' },
      msg: 'retrying [phone]',
    });
  });

  it('leaves ordinary fields alone', () => {
    const { logger, lines } = capture();
    logger.info(
      { flow: 'F', status: 400, durationMs: 12, at: '2026-11-29T22:17:55.000+00:00' },
      'ok',
    );
    expect(JSON.parse(lines[0] ?? '{}')).toMatchObject({
      flow: 'F',
      status: 400,
      durationMs: 12,
      at: '2026-11-29T22:17:55.000+00:00',
      msg: 'ok',
    });
  });
});

describe('redactForLog', () => {
  it('survives cycles and very deep values', () => {
    const cyclic: Record<string, unknown> = { name: 'a' };
    cyclic.self = cyclic;
    expect(redactForLog(cyclic, redactionKeys())).toEqual({ name: 'a', self: '[redacted]' });
    let deep: Record<string, unknown> = { EmailAddress: EMAIL };
    for (let i = 0; i < 20; i++) deep = { next: deep };
    expect(JSON.stringify(redactForLog(deep, redactionKeys()))).not.toContain(EMAIL);
  });

  it('matches configured input names whatever their case', () => {
    expect(
      redactForLog({ loyaltycard: 'x', LOYALTYCARD: 'y' }, redactionKeys(['LoyaltyCard'])),
    ).toEqual({ loyaltycard: '[redacted]', LOYALTYCARD: '[redacted]' });
  });
});

describe('scrubText', () => {
  it.each([
    [`mail ${EMAIL} now`, 'mail [email] now'],
    ['call +15550100 or +44 20 7946 0958', 'call [phone] or [phone]'],
    ['Bearer abc.DEF-123_x', 'Bearer [redacted]'],
    ['rediss://user:p%40ss@host:6380/0', 'rediss://user:[redacted]@host:6380/0'],
    ['took 120 ms at 2026-11-29T22:17:55+00:00', 'took 120 ms at 2026-11-29T22:17:55+00:00'],
  ])('%s', (input, expected) => {
    expect(scrubText(input)).toBe(expected);
  });
});
