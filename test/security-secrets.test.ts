import { type Simulator, startSimulator } from '@flow-dispatcher/simulator';
import { freePort, type RedisServerProcess, startRedisServer } from '@flow-dispatcher/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { IngestClient, startIngestProcess } from './ingest-support.js';
import type { CliProcess } from './support/cli-process.js';
import {
  type RecordingProxy,
  recordFigures,
  startRecordingProxy,
  WorkerFleet,
} from './support/faults.js';
import { fleetEnv } from './support/fleet.js';
import { sleep, waitFor } from './support/wait.js';

/**
 * Secrets and personal data never leave the processes: a worker and an ingest run at LOG_LEVEL
 * trace with recognisable secrets (Salesforce client secret, ingest and admin tokens, the Redis
 * password, and every access token Salesforce hands out), triggers carrying a recognisable email
 * and phone number, and a run that goes through errors on purpose: wrong tokens, an expired
 * Salesforce session, dead-lettered inputs, Redis going away, a wrong Redis password. Then all
 * their output, their /metrics and every answer ingest gave are searched for each secret.
 */
const CLIENT_SECRET = 'sekretClient-Q7w2-e9R4';
const INGEST_TOKEN = 'sekretIngestToken-H3k8-z1M6';
const ADMIN_TOKEN = 'sekretAdminToken-P5n1-x4B9';
const REDIS_PASSWORD = 'sekretRedisPw-J8v3';
const EMAIL = 'pii.person+7731@example.com';
const PHONE = '+15550107731';

describe('security: secrets never appear in logs, errors or /metrics', () => {
  let redis: RedisServerProcess | undefined;
  let proxy: RecordingProxy | undefined;
  let sim: Simulator | undefined;
  let fleet: WorkerFleet | undefined;
  const processes: CliProcess[] = [];
  const clients: IngestClient[] = [];

  afterEach(async () => {
    for (const client of clients.splice(0)) await client.close();
    for (const child of processes.splice(0)) await child.kill('SIGKILL');
    await fleet?.killAll();
    await sim?.close();
    await proxy?.close();
    await redis?.stop();
  });

  it('a run through errors leaks none of them', async () => {
    redis = await startRedisServer({ password: REDIS_PASSWORD });
    const server = redis;
    proxy = await startRecordingProxy();
    const simPort = await freePort();
    sim = await startSimulator({
      port: simPort,
      publicUrl: proxy.url,
      latency: { kind: 'fixed', ms: 5 },
      auth: { clientSecret: CLIENT_SECRET },
      // Some inputs fail for good (dead letters), some are refused for an undeclared name.
      inputFaults: [
        {
          match: { field: 'IndividualId', prefix: '0PKdead' },
          error: { statusCode: 'INVALID_EMAIL_ADDRESS', message: `bad email: ${EMAIL}` },
        },
      ],
    });
    proxy.target = `http://127.0.0.1:${simPort}`;
    const simulator = sim;
    const env = fleetEnv({
      redisUrl: server.url,
      prefix: 'secrets',
      simulatorUrl: proxy.url,
      extra: {
        SF_CLIENT_SECRET: CLIENT_SECRET,
        INGEST_TOKENS: INGEST_TOKEN,
        ADMIN_TOKENS: ADMIN_TOKEN,
        ADMIN_UI: 'on',
        INGEST_PORT: '0',
        LOG_LEVEL: 'trace',
        DISPATCH_MAX_ATTEMPTS: '2',
      },
    });
    expect(server.url).toContain(REDIS_PASSWORD);
    fleet = new WorkerFleet(env);
    await fleet.start(1);
    const ingest = await startIngestProcess(env);
    processes.push(ingest.process);
    const client = new IngestClient(ingest.url, INGEST_TOKEN, 4);
    clients.push(client);
    const answers: string[] = [];
    const keep = (text: string) => {
      answers.push(text);
      return text;
    };

    // Good triggers with personal data, bad ones, and ones Salesforce dead-letters.
    const triggers = (tag: string, n: number) =>
      Array.from({ length: n }, (_, i) => ({
        input: {
          IndividualId: `0PK${tag}${String(i).padStart(15 - tag.length, '0')}`,
          EmailAddress: EMAIL,
          TelephoneNumber: PHONE,
        },
        key: `${EMAIL}-${tag}-${i}`,
      }));
    keep(
      (await client.post('/v1/flows/Welcome_SMS/triggers', { triggers: triggers('ok', 50) })).text,
    );
    keep(
      (await client.post('/v1/flows/Welcome_SMS/triggers', { triggers: triggers('dead', 5) })).text,
    );
    keep(
      (
        await client.post('/v1/flows/Welcome_SMS/triggers', {
          triggers: [
            { input: { IndividualId: '0PKbadinput0000001', Secret_Note: EMAIL, Phone: PHONE } },
          ],
        })
      ).text,
    );
    keep(
      (
        await client.post('/services/data/v65.0/actions/custom/flow/Welcome_SMS', {
          inputs: [{ IndividualId: '0PKdropin000000001', EmailAddress: EMAIL, Bogus: PHONE }],
        })
      ).text,
    );
    // Wrong tokens, near misses of the real one included, on every kind of endpoint.
    const anonymous = new IngestClient(ingest.url, null, 2);
    clients.push(anonymous);
    for (const wrong of [
      INGEST_TOKEN.slice(0, -1),
      `${INGEST_TOKEN}x`,
      ADMIN_TOKEN.toLowerCase(),
    ]) {
      for (const path of [
        '/v1/flows/Welcome_SMS/triggers',
        '/services/data/v65.0/actions/custom/flow/Welcome_SMS',
      ]) {
        keep(
          (
            await anonymous.post(
              path,
              { triggers: triggers('tok', 1) },
              { authorization: `Bearer ${wrong}` },
            )
          ).text,
        );
      }
      const login = await fetch(`${ingest.metricsUrl}/admin/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: `token=${encodeURIComponent(wrong)}`,
        redirect: 'manual',
      });
      keep(await login.text());
      keep(JSON.stringify([...login.headers]));
    }
    await waitFor(() => simulator.stats().deliveries.unique >= 50, {
      message: 'first triggers delivered',
    });

    // The Salesforce session expires: the worker learns it from a 401 and gets a new token.
    simulator.expireTokens();
    keep(
      (await client.post('/v1/flows/Welcome_SMS/triggers', { triggers: triggers('exp', 20) })).text,
    );
    await waitFor(() => simulator.stats().deliveries.unique >= 70, {
      message: 'delivered after expiry',
    });

    // Redis goes away for two seconds (ingest answers 503, everyone logs connection errors).
    await server.kill();
    keep(
      (await client.post('/v1/flows/Welcome_SMS/triggers', { triggers: triggers('down', 3) })).text,
    );
    await sleep(2_000);
    await server.restart();
    await waitFor(async () => (await client.get('/readyz')).status === 200, {
      message: 'ready again',
    });
    keep(
      (await client.post('/v1/flows/Welcome_SMS/triggers', { triggers: triggers('back', 10) }))
        .text,
    );
    await waitFor(() => simulator.stats().deliveries.unique >= 80, {
      message: 'delivered after the outage',
    });

    // An ingest given the wrong Redis password.
    const wrongPassword = await startIngestProcess({
      ...env,
      REDIS_URL: server.url.replace(REDIS_PASSWORD, `${REDIS_PASSWORD}-wrong`),
    });
    processes.push(wrongPassword.process);
    keep((await fetch(`${wrongPassword.url}/readyz`)).status.toString());
    // What it logs of the refusal is what must not carry the password.
    await wrongPassword.process.waitForLine(/WRONGPASS/);

    // Everything the processes said or showed.
    const workerPort = (
      JSON.parse((await fleet.live[0]?.waitForLine(/"msg":"worker ready"/)) as string) as {
        metricsPort: number;
      }
    ).metricsPort;
    const metrics = [
      await (await fetch(`http://127.0.0.1:${workerPort}/metrics`)).text(),
      await (await fetch(`${ingest.metricsUrl}/metrics`)).text(),
      await (await fetch(`${wrongPassword.metricsUrl}/metrics`)).text(),
    ].join('\n');
    const output = [fleet.output, ingest.process.output, wrongPassword.process.output].join('\n');
    const secrets: Record<string, string> = {
      SF_CLIENT_SECRET: CLIENT_SECRET,
      INGEST_TOKENS: INGEST_TOKEN,
      ADMIN_TOKENS: ADMIN_TOKEN,
      'Redis password': REDIS_PASSWORD,
      email: EMAIL,
      phone: PHONE,
    };
    [...proxy.accessTokens].forEach((token, i) => {
      secrets[`access token ${i + 1}`] = token;
      // A token is `00D…!…`: its secret part alone must not show either.
      const secretPart = token.split('!')[1];
      if (secretPart && secretPart.length >= 8)
        secrets[`access token ${i + 1} (secret part)`] = secretPart;
    });
    const places: Record<string, string> = {
      'process output': output,
      '/metrics': metrics,
      'ingest answers': answers.join('\n'),
    };
    const leaks: string[] = [];
    for (const [what, secret] of Object.entries(secrets)) {
      for (const [where, text] of Object.entries(places)) {
        // An answer may hand a client back what it sent itself (its keys hold the email).
        if (where === 'ingest answers' && (what === 'email' || what === 'phone')) continue;
        if (text.includes(secret)) {
          const at = text.indexOf(secret);
          leaks.push(`${what} in ${where}: …${text.slice(Math.max(0, at - 200), at + 60)}…`);
        }
      }
    }
    recordFigures('security-secrets', {
      outputLines: output.split('\n').length,
      metricsLines: metrics.split('\n').length,
      answers: answers.length,
      accessTokensIssued: proxy.accessTokens.size,
      secretsSearched: Object.keys(secrets).length,
      leaks: leaks.length,
    });
    // The run really went through what it says: tokens were refreshed, things failed.
    expect(proxy.accessTokens.size).toBeGreaterThanOrEqual(2);
    expect(output).toMatch(/"level":"(trace|debug)"/); // trace/debug lines were written
    expect(output).toMatch(/redis/i);
    expect(leaks).toEqual([]);
  });
});
