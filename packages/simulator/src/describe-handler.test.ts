import { afterEach, describe, expect, it } from 'vitest';
import {
  api,
  clientCredentialsToken,
  closeAll,
  fixtureJson,
  invoke,
  start,
} from './test-support.js';

afterEach(closeAll);

/** Key sets from the Actions Developer Guide's Write-Off Invoice describe (docs/salesforce-api.md#describe). */
const describeKeys = [
  'description',
  'inputs',
  'label',
  'name',
  'outputs',
  'standard',
  'targetEntityName',
  'type',
];
const inputKeys = [
  'apexClass',
  'byteLength',
  'configuration',
  'defaultValue',
  'description',
  'label',
  'maxOccurs',
  'name',
  'picklistValues',
  'placeholderText',
  'required',
  'sObjectType',
  'setupReferenceType',
  'toolingType',
  'type',
];
const outputKeys = [
  'additionalAttributes',
  'apexClass',
  'description',
  'label',
  'maxOccurs',
  'name',
  'picklistValues',
  'sobjectType',
  'type',
];

interface Describe {
  name: string;
  type: string;
  inputs: Array<Record<string, unknown>>;
  outputs: Array<Record<string, unknown>>;
}

describe('describe', () => {
  it('lists the default flows inputs with the documented key sets', async () => {
    const sim = await start();
    const token = await clientCredentialsToken(sim);
    const reply = await api(
      sim,
      token,
      '/services/data/v65.0/actions/custom/flow/Order_Confirmation_Email',
    );
    expect(reply.status).toBe(200);
    expect(reply.headers.get('content-type')).toBe('application/json;charset=UTF-8');
    const body = reply.json as Describe;
    expect(Object.keys(body)).toEqual(describeKeys);
    expect(body.type).toBe('FLOW');
    expect(body.name).toBe('Order_Confirmation_Email');
    for (const input of body.inputs) expect(Object.keys(input)).toEqual(inputKeys);
    const byName = Object.fromEntries(body.inputs.map((input) => [input.name, input]));
    expect(byName.IndividualId?.required).toBe(true);
    expect(byName.EmailAddress?.required).toBe(false);
    expect(byName.TelephoneNumber?.required).toBe(false);
    expect(byName.customInput).toMatchObject({ type: 'APEX', apexClass: 'OrderConfirmationInput' });
  });

  it('describes configured outputs with the documented key set', async () => {
    const sim = await start({
      flows: {
        With_Outputs: {
          inputs: [{ name: 'IndividualId', type: 'STRING', required: true }],
          outputs: [{ name: 'MessageId', type: 'STRING', value: 'm-1' }],
        },
      },
    });
    const token = await clientCredentialsToken(sim);
    const body = (await api(sim, token, '/services/data/v65.0/actions/custom/flow/With_Outputs'))
      .json as Describe;
    expect(body.outputs).toHaveLength(1);
    expect(Object.keys(body.outputs[0] ?? {})).toEqual(outputKeys);
    const run = await invoke(sim, token, 'With_Outputs', [{ IndividualId: 'a' }]);
    const outputValues = (run.json as Array<{ outputValues: Record<string, unknown> }>)[0]
      ?.outputValues;
    expect(Object.keys(outputValues ?? {})).toEqual([
      'MessageId',
      'Flow__InterviewGuid',
      'Flow__InterviewStatus',
    ]);
    expect(outputValues?.MessageId).toBe('m-1');
  });

  it('answers 304 to If-Modified-Since until the flow changes', async () => {
    const sim = await start();
    const token = await clientCredentialsToken(sim);
    const path = '/services/data/v65.0/actions/custom/flow/Welcome_SMS';
    const first = await api(sim, token, path);
    const lastModified = first.headers.get('last-modified') ?? '';
    expect(lastModified).not.toBe('');
    const again = await api(sim, token, path, { headers: { 'if-modified-since': lastModified } });
    expect(again.status).toBe(304);
    expect(again.text).toBe('');
    expect(again.headers.get('sforce-limit-info')).toMatch(
      /^api-usage=\d+\/100000, api-bursts=\d+\/750$/,
    );
    const older = new Date(Date.parse(lastModified) - 60_000).toUTCString();
    expect((await api(sim, token, path, { headers: { 'if-modified-since': older } })).status).toBe(
      200,
    );

    sim.configure({
      flows: {
        Welcome_SMS: { inputs: [{ name: 'IndividualId', type: 'STRING', required: true }] },
      },
    });
    const changed = await api(sim, token, path, { headers: { 'if-modified-since': lastModified } });
    expect(changed.status).toBe(200);
    expect((changed.json as Describe).inputs).toHaveLength(1);
  });

  it('answers 404 NOT_FOUND for unknown, removed and inactive flows, on GET and POST', async () => {
    const sim = await start();
    const token = await clientCredentialsToken(sim);
    const notFound = fixtureJson('error-404-flow-not-found.json');
    const check = async (flow: string) => {
      const get = await api(sim, token, `/services/data/v65.0/actions/custom/flow/${flow}`);
      expect(get.status).toBe(404);
      expect(get.json).toEqual(notFound);
      const post = await invoke(sim, token, flow, [{ IndividualId: 'a' }]);
      expect(post.status).toBe(404);
      expect(post.json).toEqual(notFound);
    };
    await check('No_Such_Flow');
    const welcome = { inputs: [{ name: 'IndividualId', type: 'STRING', required: true }] };
    sim.configure({ flows: { Welcome_SMS: { ...welcome, active: false } } });
    await check('Welcome_SMS');
    await check('Order_Confirmation_Email');
    sim.configure({ flows: { Welcome_SMS: welcome } });
    expect((await invoke(sim, token, 'Welcome_SMS', [{ IndividualId: 'a' }])).status).toBe(200);
    expect(sim.deliveries().get('a')).toBe(1);
  });

  it("accepts any flow name with unknownFlows: 'accept'", async () => {
    const sim = await start({ unknownFlows: 'accept' });
    const token = await clientCredentialsToken(sim);
    const reply = await invoke(sim, token, 'Anything_Goes', [{ IndividualId: 'a', Extra: 1 }]);
    expect(reply.status).toBe(200);
    const describe = await api(
      sim,
      token,
      '/services/data/v65.0/actions/custom/flow/Anything_Goes',
    );
    expect((describe.json as Describe).inputs.map((input) => input.name)).toEqual([
      'IndividualId',
      'EmailAddress',
      'TelephoneNumber',
    ]);
  });

  it('answers 404 for API versions it does not serve', async () => {
    const sim = await start({ apiVersions: ['65.0'] });
    const token = await clientCredentialsToken(sim);
    expect(
      (await api(sim, token, '/services/data/v64.0/actions/custom/flow/Welcome_SMS')).status,
    ).toBe(404);
    expect(
      (await invoke(sim, token, 'Welcome_SMS', [{ IndividualId: 'a' }], { version: '64.0' }))
        .status,
    ).toBe(404);
    expect(
      (await api(sim, token, '/services/data/v65.0/actions/custom/flow/Welcome_SMS')).status,
    ).toBe(200);
    const ranged = await start();
    const token2 = await clientCredentialsToken(ranged);
    expect((await api(ranged, token2, '/services/data/v19.0/limits')).status).toBe(404);
    expect((await api(ranged, token2, '/services/data/v20.0/limits')).status).toBe(200);
    expect((await api(ranged, token2, '/services/data/v70.0/limits')).status).toBe(200);
    expect((await api(ranged, token2, '/services/data/v71.0/limits')).status).toBe(404);
  });

  it('refuses methods the resource does not support', async () => {
    const sim = await start();
    const token = await clientCredentialsToken(sim);
    const reply = await api(sim, token, '/services/data/v65.0/actions/custom/flow/Welcome_SMS', {
      method: 'DELETE',
    });
    expect(reply.status).toBe(405);
    expect((reply.json as Array<{ errorCode: string }>)[0]?.errorCode).toBe('METHOD_NOT_ALLOWED');
  });
});

describe('list and limits', () => {
  it('lists the active flows', async () => {
    const sim = await start();
    const token = await clientCredentialsToken(sim);
    const reply = await api(sim, token, '/services/data/v62.0/actions/custom/flow');
    expect(reply.status).toBe(200);
    expect(reply.json).toEqual({
      actions: [
        {
          label: 'Welcome SMS',
          name: 'Welcome_SMS',
          type: 'FLOW',
          url: '/services/data/v62.0/actions/custom/flow/Welcome_SMS',
        },
        {
          label: 'Order Confirmation Email',
          name: 'Order_Confirmation_Email',
          type: 'FLOW',
          url: '/services/data/v62.0/actions/custom/flow/Order_Confirmation_Email',
        },
      ],
    });
  });

  it('reports DailyApiRequests like the fixture, counting the limits call itself', async () => {
    const sim = await start({ dailyLimit: 15000, dailyUsed: 1 });
    const token = await clientCredentialsToken(sim);
    const reply = await api(sim, token, '/services/data/v65.0/limits');
    expect(reply.status).toBe(200);
    const body = reply.json as Record<string, { Max: number; Remaining: number }>;
    const fixture = fixtureJson('limits-response-simple-salesforce.json') as object;
    expect(Object.keys(body).sort()).toEqual(Object.keys(fixture).sort());
    expect(body.DailyApiRequests).toEqual({ Max: 15000, Remaining: 14998 });
    expect(reply.headers.get('sforce-limit-info')).toBe('api-usage=2/15000, api-bursts=1/750');
  });
});
