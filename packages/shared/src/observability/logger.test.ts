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

describe('errors from Redis', () => {
  /** An error as ioredis makes it for an error reply: the command, with its arguments, attached. */
  function replyError(message: string, name: string, args: unknown[]): Error {
    const err = new Error(message);
    Object.defineProperty(err, 'name', { value: 'ReplyError' });
    return Object.assign(err, { command: { name, args } });
  }
  const letter = JSON.stringify({
    id: 'Welcome_SMS.c1.0',
    input: { IndividualId: '0PKzebulon000001', FirstName: 'Zebulon', EmailAddress: EMAIL },
  });

  it('keep their name, code and command name, never the arguments', () => {
    const { logger, lines, text } = capture();
    const oom = replyError("OOM command not allowed when used memory > 'maxmemory'.", 'evalsha', [
      'f00d',
      3,
      '{fd}:pending',
      'Welcome_SMS.c1.0',
      letter,
    ]);
    logger.error({ flow: 'Welcome_SMS', err: oom }, 'could not record call outcomes');
    const line = JSON.parse(lines[0] ?? '{}');
    expect(line.err).toEqual({
      type: 'ReplyError',
      message: "OOM command not allowed when used memory > 'maxmemory'.",
      stack: expect.stringContaining(
        "ReplyError: OOM command not allowed when used memory > 'maxmemory'.",
      ),
      command: { name: 'evalsha' },
    });
    for (const leaked of ['0PKzebulon000001', 'Zebulon', 'jane.doe', 'Welcome_SMS.c1.0']) {
      expect(text()).not.toContain(leaked);
    }
  });

  it('withhold a reply text that can quote the arguments, also in the stack and in EXECABORT', () => {
    const { lines, logger, text } = capture();
    const unknown = replyError(
      "ERR unknown command 'hsetx', with args beginning with: '0PKzebulon000001' 'Zebulon' ",
      'hsetx',
      ['0PKzebulon000001', 'Zebulon'],
    );
    const aborted = Object.assign(
      replyError('EXECABORT Transaction discarded because of previous errors.', 'exec', []),
      { previousErrors: [unknown] },
    );
    logger.warn({ err: aborted }, 'write failed');
    logger.warn(
      {
        err: replyError(
          "NOPERM No permissions to access the 'idem:0PKzebulon000001' key",
          'get',
          [],
        ),
      },
      'read failed',
    );
    expect(text()).not.toContain('Zebulon');
    const [first, second] = lines.map((line) => JSON.parse(line));
    expect(first.err).toMatchObject({
      message: 'EXECABORT Transaction discarded because of previous errors.',
      command: { name: 'exec' },
      previousErrors: [
        {
          type: 'ReplyError',
          message: "ERR (the rest withheld: it can quote the command's arguments)",
          command: { name: 'hsetx' },
        },
      ],
    });
    expect(first.err.previousErrors[0].stack).toMatch(/^ReplyError: ERR \(the rest withheld/);
    expect(second.err.message).toBe(
      "NOPERM (the rest withheld: it can quote the command's arguments)",
    );
  });

  it('leave other errors that happen to have a command field as they were', () => {
    const { lines, logger } = capture();
    logger.warn({ err: Object.assign(new Error('exit 1'), { command: 'ls -l' }) }, 'spawn failed');
    expect(JSON.parse(lines[0] ?? '{}').err).toMatchObject({ message: 'exit 1', command: 'ls -l' });
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
