import { afterEach, describe, expect, it } from 'vitest';
import { alwaysAvailableInputs } from './simulator-config.js';
import { SimulatorConfigError } from './simulator-errors.js';
import {
  api,
  clientCredentialsToken,
  closeAll,
  fixtureJson,
  individualIds,
  inputsFor,
  invoke,
  results,
  start,
} from './test-support.js';

afterEach(closeAll);

describe('invoke success', () => {
  it('answers one element per input with exactly the real v63 key set', async () => {
    const sim = await start();
    const token = await clientCredentialsToken(sim);
    const ids = individualIds(3);
    const reply = await invoke(sim, token, 'Welcome_SMS', [
      { IndividualId: ids[0], EmailAddress: 'a@example.com', Coupon_Code: 'WELCOME10' },
      { IndividualId: ids[1], TelephoneNumber: '+15550100' },
      { IndividualId: ids[2] },
    ]);
    expect(reply.status).toBe(200);
    expect(reply.headers.get('content-type')).toBe('application/json;charset=UTF-8');
    const real =
      (
        fixtureJson('invoke-flow-create-member-success-real.json') as Array<Record<string, unknown>>
      )[0] ?? {};
    const elements = results(reply);
    expect(elements).toHaveLength(3);
    const guids = new Set<unknown>();
    for (const element of elements) {
      expect(Object.keys(element)).toEqual(Object.keys(real));
      expect(element).toMatchObject({
        actionName: 'Welcome_SMS',
        errors: null,
        invocationId: null,
        isSuccess: true,
        outcome: null,
        sortOrder: -1,
        version: 1,
      });
      expect(Object.keys(element.outputValues ?? {})).toEqual([
        'Flow__InterviewGuid',
        'Flow__InterviewStatus',
      ]);
      expect(element.outputValues?.Flow__InterviewStatus).toBe('Started');
      expect(element.outputValues?.Flow__InterviewGuid).toMatch(/^[0-9a-f]{38}-[0-9a-f]{4}$/);
      guids.add(element.outputValues?.Flow__InterviewGuid);
    }
    expect(guids.size).toBe(3);
    expect([...sim.deliveries()]).toEqual(ids.map((id) => [id, 1]));
    expect(reply.headers.get('sforce-limit-info')).toBe('api-usage=1/100000, api-bursts=1/750');
  });

  it('accepts a nested Apex-defined input', async () => {
    const sim = await start();
    const token = await clientCredentialsToken(sim);
    const reply = await invoke(sim, token, 'Order_Confirmation_Email', [
      { IndividualId: 'a', customInput: { orderNumber: 'SO-1', lines: [{ sku: 'X', qty: 2 }] } },
    ]);
    expect(reply.status).toBe(200);
  });

  it('records the call', async () => {
    const sim = await start({ recordInputs: true });
    const token = await clientCredentialsToken(sim);
    await invoke(sim, token, 'Welcome_SMS', [{ IndividualId: 'a' }, { IndividualId: 'b' }]);
    const [call] = sim.calls();
    expect(call).toMatchObject({
      seq: 1,
      flow: 'Welcome_SMS',
      status: 200,
      inputs: 2,
      succeeded: 2,
      failed: 0,
      concurrencyAtStart: 1,
      individualIds: ['a', 'b'],
    });
    expect(call?.endedAt).toBeGreaterThanOrEqual(call?.startedAt ?? Number.POSITIVE_INFINITY);
  });

  it("records each call's User-Agent, so calls can be told apart by client", async () => {
    const sim = await start();
    const token = await clientCredentialsToken(sim);
    const body = JSON.stringify({ inputs: [{ IndividualId: 'a' }] });
    const path = '/services/data/v65.0/actions/custom/flow/Welcome_SMS';
    for (const agent of ['flow-dispatcher/0.1.0 (worker host-a:101)', 'other-client/2']) {
      const reply = await api(sim, token, path, {
        method: 'POST',
        body,
        headers: { 'user-agent': agent },
      });
      expect(reply.status).toBe(200);
    }
    expect(sim.calls().map((call) => call.userAgent)).toEqual([
      'flow-dispatcher/0.1.0 (worker host-a:101)',
      'other-client/2',
    ]);
  });
});

describe('per-input failures', () => {
  it('answers 400 with every element, in input order, when some inputs fail', async () => {
    const sim = await start();
    const token = await clientCredentialsToken(sim);
    const reply = await invoke(sim, token, 'Welcome_SMS', [
      { IndividualId: 'ok-1' },
      { EmailAddress: 'no-id@example.com' },
      { IndividualId: 'ok-2' },
      { IndividualId: '' },
      { IndividualId: null },
    ]);
    expect(reply.status).toBe(400);
    const elements = results(reply);
    expect(elements.map((element) => element.isSuccess)).toEqual([true, false, true, false, false]);
    const missing = {
      statusCode: 'REQUIRED_FIELD_MISSING',
      message: 'Missing required input parameter: IndividualId',
      fields: [],
    };
    for (const failed of [elements[1], elements[3], elements[4]]) {
      expect(failed).toEqual({
        actionName: 'Welcome_SMS',
        errors: [missing],
        invocationId: null,
        isSuccess: false,
        outcome: null,
        outputValues: null,
        sortOrder: -1,
        version: 1,
      });
    }
    expect([...sim.deliveries().keys()]).toEqual(['ok-1', 'ok-2']);
    expect(sim.stats().inputs).toEqual({ received: 5, succeeded: 2, failed: 3 });
    expect(sim.calls()[0]).toMatchObject({ status: 400, inputs: 5, succeeded: 2, failed: 3 });
  });

  it('answers 400 when every input fails, like the all-failed fixture', async () => {
    const sim = await start({ permanentInputRate: 1 });
    const token = await clientCredentialsToken(sim);
    const reply = await invoke(sim, token, 'Welcome_SMS', inputsFor(['a', 'b']));
    expect(reply.status).toBe(400);
    const fixture = fixtureJson('invoke-flow-all-failed-http400.json') as Array<{
      errors: unknown;
    }>;
    for (const element of results(reply)) {
      expect(element.errors).toEqual(fixture[0]?.errors);
      expect(element.outputValues).toBeNull();
    }
    expect(sim.deliveries().size).toBe(0);
  });

  it("fails an undeclared input per element in 'element' mode", async () => {
    const sim = await start();
    const token = await clientCredentialsToken(sim);
    const reply = await invoke(sim, token, 'Welcome_SMS', [
      { IndividualId: 'a' },
      { IndividualId: 'b', individualid: 'b' },
    ]);
    expect(reply.status).toBe(400);
    const [first, second] = results(reply);
    expect(first?.isSuccess).toBe(true);
    expect(second?.errors).toEqual([
      { statusCode: 'INVALID_INPUT', message: 'Invalid input parameter: individualid', fields: [] },
    ]);
    expect([...sim.deliveries().keys()]).toEqual(['a']);
  });

  it("refuses the whole call for an undeclared input in 'request' mode, running nothing", async () => {
    const sim = await start({ unknownInputMode: 'request' });
    const token = await clientCredentialsToken(sim);
    const reply = await invoke(sim, token, 'Welcome_SMS', [
      { IndividualId: 'a' },
      { IndividualId: 'b', Bogus: 1 },
    ]);
    expect(reply.status).toBe(400);
    expect(reply.json).toEqual([
      { errorCode: 'INVALID_INPUT', message: 'Invalid input parameter: Bogus' },
    ]);
    expect(sim.deliveries().size).toBe(0);
    expect(sim.stats().apiUsage.used).toBe(1);
  });
});

describe('transaction capacity (one call = one bulk transaction)', () => {
  const allFailed = () =>
    (fixtureJson('invoke-flow-all-failed-http400.json') as Array<{ errors: unknown }>)[0]?.errors;

  it('rolls back a call over the capacity: every input gets the generic flow fault, nothing is delivered', async () => {
    const sim = await start({ transactionCapacity: 2 });
    const token = await clientCredentialsToken(sim);
    expect((await invoke(sim, token, 'Welcome_SMS', inputsFor(['a', 'b']))).status).toBe(200);
    const reply = await invoke(sim, token, 'Welcome_SMS', inputsFor(['c', 'd', 'e']));
    expect(reply.status).toBe(400);
    const elements = results(reply);
    expect(elements).toHaveLength(3);
    for (const element of elements) {
      // Exactly the real all-failed answer: no LimitException text, no limit name.
      expect(element.errors).toEqual(allFailed());
      expect(element).toMatchObject({ isSuccess: false, outputValues: null });
    }
    expect([...sim.deliveries().keys()]).toEqual(['a', 'b']);
    expect(sim.calls().at(-1)).toMatchObject({
      status: 400,
      inputs: 3,
      succeeded: 0,
      failed: 3,
      rolledBack: true,
    });
    expect(sim.calls()[0]?.rolledBack).toBeUndefined();
    expect(sim.stats().invokeCalls.rolledBack).toBe(1);
    expect(sim.stats().apiUsage.used).toBe(2);
  });

  it('rolls back inputs that would have failed on their own, and spends no fault rule', async () => {
    const sim = await start({
      transactionCapacity: 2,
      inputFaults: [
        {
          match: { field: 'IndividualId', equals: 'x' },
          error: { statusCode: 'UNABLE_TO_LOCK_ROW', message: 'locked' },
          times: 1,
        },
      ],
    });
    const token = await clientCredentialsToken(sim);
    const reply = await invoke(sim, token, 'Welcome_SMS', [
      { IndividualId: 'x' },
      { EmailAddress: 'no-id@example.com' },
      { IndividualId: 'y', Bogus: 1 },
    ]);
    expect(results(reply).map((element) => element.errors)).toEqual([
      allFailed(),
      allFailed(),
      allFailed(),
    ]);
    // The rolled-back call ran no interview, so the rule still has its one failure to serve.
    const alone = await invoke(sim, token, 'Welcome_SMS', inputsFor(['x']));
    expect(results(alone)[0]?.errors?.[0]?.statusCode).toBe('UNABLE_TO_LOCK_ROW');
    expect((await invoke(sim, token, 'Welcome_SMS', inputsFor(['x']))).status).toBe(200);
  });

  it("takes a flow's own capacity over the global one, and both change live", async () => {
    const sim = await start();
    const token = await clientCredentialsToken(sim);
    const five = (tag: string) => inputsFor(individualIds(5, tag));
    expect((await invoke(sim, token, 'Welcome_SMS', five('A'))).status).toBe(200);
    sim.configure({
      transactionCapacity: 4,
      flows: {
        Welcome_SMS: { inputs: [...alwaysAvailableInputs], transactionCapacity: 5 },
        Order_Confirmation_Email: { inputs: [...alwaysAvailableInputs] },
      },
    });
    expect((await invoke(sim, token, 'Welcome_SMS', five('B'))).status).toBe(200);
    expect((await invoke(sim, token, 'Order_Confirmation_Email', five('C'))).status).toBe(400);
    expect(
      (await invoke(sim, token, 'Order_Confirmation_Email', inputsFor(individualIds(4, 'D'))))
        .status,
    ).toBe(200);
    sim.configure({ transactionCapacity: null });
    expect((await invoke(sim, token, 'Order_Confirmation_Email', five('E'))).status).toBe(200);
    expect(sim.stats().invokeCalls.rolledBack).toBe(1);
    expect(sim.stats().deliveries.unique).toBe(19);
  });

  it('still fails a single input alone with the generic error through an input fault rule', async () => {
    const sim = await start({
      transactionCapacity: 200,
      inputFaults: [
        {
          match: { field: 'IndividualId', equals: 'bad' },
          error: {
            statusCode: 'UNKNOWN_EXCEPTION',
            message: 'An error occurred when executing a flow interview.',
          },
        },
      ],
    });
    const token = await clientCredentialsToken(sim);
    const reply = await invoke(sim, token, 'Welcome_SMS', inputsFor(['ok1', 'bad', 'ok2']));
    expect(reply.status).toBe(400);
    expect(results(reply).map((element) => element.isSuccess)).toEqual([true, false, true]);
    expect(results(reply)[1]?.errors).toEqual(allFailed());
    expect(sim.calls()[0]?.rolledBack).toBeUndefined();
  });

  it('refuses a capacity below 1 and the removed governorLimit key', async () => {
    const sim = await start();
    expect(() => sim.configure({ transactionCapacity: 0 })).toThrow(SimulatorConfigError);
    expect(() => sim.configure({ governorLimit: { maxInputs: 2 } } as never)).toThrow(
      /governorLimit/,
    );
  });
});

describe('input fault rules', () => {
  it('fails matching inputs, `times` times per IndividualId, then lets them through', async () => {
    const sim = await start({
      inputFaults: [
        {
          match: { field: 'IndividualId', prefix: 'flaky-' },
          error: {
            statusCode: 'UNABLE_TO_LOCK_ROW',
            message: 'unable to obtain exclusive access to this record',
          },
          times: 2,
        },
        {
          match: { field: 'EmailAddress', regex: '@blocked\\.example$' },
          error: { statusCode: 'INVALID_EMAIL_ADDRESS', message: 'bad address' },
        },
        {
          match: { field: 'Coupon_Code', equals: 'EXPIRED' },
          error: { statusCode: 'FIELD_CUSTOM_VALIDATION_EXCEPTION', message: 'coupon expired' },
        },
      ],
    });
    const token = await clientCredentialsToken(sim);
    const batch = [
      { IndividualId: 'flaky-1' },
      { IndividualId: 'flaky-2' },
      { IndividualId: 'steady', EmailAddress: 'x@blocked.example' },
      { IndividualId: 'coupon', Coupon_Code: 'EXPIRED' },
      { IndividualId: 'fine', Coupon_Code: 'VALID' },
    ];
    const codes = async () =>
      results(await invoke(sim, token, 'Welcome_SMS', batch)).map(
        (e) => e.errors?.[0]?.statusCode ?? 'ok',
      );
    const perm = ['INVALID_EMAIL_ADDRESS', 'FIELD_CUSTOM_VALIDATION_EXCEPTION', 'ok'];
    expect(await codes()).toEqual(['UNABLE_TO_LOCK_ROW', 'UNABLE_TO_LOCK_ROW', ...perm]);
    expect(await codes()).toEqual(['UNABLE_TO_LOCK_ROW', 'UNABLE_TO_LOCK_ROW', ...perm]);
    expect(await codes()).toEqual(['ok', 'ok', ...perm]);
    expect(sim.deliveries().get('flaky-1')).toBe(1);
    expect(sim.deliveries().get('fine')).toBe(3);
    sim.reset();
    expect(await codes()).toEqual(['UNABLE_TO_LOCK_ROW', 'UNABLE_TO_LOCK_ROW', ...perm]);
  });

  it('refuses an invalid regex at configure time', async () => {
    const sim = await start();
    expect(() =>
      sim.configure({
        inputFaults: [
          {
            match: { field: 'IndividualId', regex: '(' },
            error: { statusCode: 'X', message: 'y' },
          },
        ],
      }),
    ).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG' }));
  });
});

describe('random faults', () => {
  it('are reproducible with a seed, and replay after reset()', async () => {
    const run = async (seed: number) => {
      const sim = await start({ seed, transientInputRate: 0.2, permanentInputRate: 0.1 });
      const token = await clientCredentialsToken(sim);
      const outcomes: string[] = [];
      for (let i = 0; i < 5; i++) {
        const reply = await invoke(
          sim,
          token,
          'Welcome_SMS',
          inputsFor(individualIds(50, `S${i}`)),
        );
        outcomes.push(...results(reply).map((e) => e.errors?.[0]?.statusCode ?? 'ok'));
      }
      return { sim, token, outcomes };
    };
    const a = await run(42);
    const b = await run(42);
    const c = await run(43);
    expect(a.outcomes).toEqual(b.outcomes);
    expect(a.outcomes).not.toEqual(c.outcomes);
    const transient = a.outcomes.filter((o) => o === 'UNABLE_TO_LOCK_ROW').length;
    const permanent = a.outcomes.filter((o) => o === 'UNKNOWN_EXCEPTION').length;
    expect(transient).toBeGreaterThan(20);
    expect(transient).toBeLessThan(80);
    expect(permanent).toBeGreaterThan(5);
    expect(permanent).toBeLessThan(50);

    a.sim.reset();
    const replay: string[] = [];
    for (let i = 0; i < 5; i++) {
      const reply = await invoke(
        a.sim,
        a.token,
        'Welcome_SMS',
        inputsFor(individualIds(50, `S${i}`)),
      );
      replay.push(...results(reply).map((e) => e.errors?.[0]?.statusCode ?? 'ok'));
    }
    expect(replay).toEqual(a.outcomes);
  });
});

describe('request-level errors', () => {
  const path = '/services/data/v65.0/actions/custom/flow/Welcome_SMS';

  it('answers 400 JSON_PARSER_ERROR to malformed JSON', async () => {
    const sim = await start();
    const token = await clientCredentialsToken(sim);
    const reply = await api(sim, token, path, {
      method: 'POST',
      body: '{"inputs":[{"IndividualId":',
    });
    expect(reply.status).toBe(400);
    const body = reply.json as Array<{ errorCode: string; message: string }>;
    expect(body).toHaveLength(1);
    expect(body[0]?.errorCode).toBe('JSON_PARSER_ERROR');
    expect(Object.keys(body[0] ?? {})).toEqual(['errorCode', 'message']);
  });

  it('answers 400 to bodies that are not {"inputs":[objects]}', async () => {
    const sim = await start();
    const token = await clientCredentialsToken(sim);
    const cases: Array<[string, string]> = [
      ['[]', 'JSON_PARSER_ERROR'],
      ['"x"', 'JSON_PARSER_ERROR'],
      ['{"inputs":{"IndividualId":"a"}}', 'JSON_PARSER_ERROR'],
      ['{"inputs":["a"]}', 'JSON_PARSER_ERROR'],
      ['{"inputs":[null]}', 'JSON_PARSER_ERROR'],
      ['{}', 'MISSING_ARGUMENT'],
      ['{"inputs":[]}', 'MISSING_ARGUMENT'],
    ];
    for (const [body, errorCode] of cases) {
      const reply = await api(sim, token, path, { method: 'POST', body });
      expect(reply.status, body).toBe(400);
      expect((reply.json as Array<{ errorCode: string }>)[0]?.errorCode, body).toBe(errorCode);
    }
    expect(sim.deliveries().size).toBe(0);
  });

  it('refuses more than maxInputsPerCall inputs with LIMIT_EXCEEDED, running nothing', async () => {
    const sim = await start();
    const token = await clientCredentialsToken(sim);
    expect((await invoke(sim, token, 'Welcome_SMS', inputsFor(individualIds(200)))).status).toBe(
      200,
    );
    sim.reset();
    const reply = await invoke(sim, token, 'Welcome_SMS', inputsFor(individualIds(201)));
    expect(reply.status).toBe(400);
    const body = reply.json as Array<{ errorCode: string; message: string }>;
    expect(body).toHaveLength(1);
    expect(body[0]?.errorCode).toBe('LIMIT_EXCEEDED');
    expect(sim.deliveries().size).toBe(0);
    expect(sim.calls()[0]).toMatchObject({ status: 400, inputs: 201, succeeded: 0, failed: 0 });
    sim.configure({ maxInputsPerCall: 500 });
    expect((await invoke(sim, token, 'Welcome_SMS', inputsFor(individualIds(201)))).status).toBe(
      200,
    );
  });

  it('answers 413 to a body over maxBodyBytes without charging the call', async () => {
    const sim = await start({ maxBodyBytes: 1000 });
    const token = await clientCredentialsToken(sim);
    const reply = await invoke(sim, token, 'Welcome_SMS', inputsFor(individualIds(100)));
    expect(reply.status).toBe(413);
    expect(reply.headers.get('content-type')).toMatch(/^text\/html/);
    expect(sim.stats().apiUsage.used).toBe(0);
    expect(sim.calls()[0]?.status).toBe(413);
  });
});
