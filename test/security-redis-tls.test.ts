import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Producer } from '@flow-dispatcher/producer';
import { type Simulator, startSimulator } from '@flow-dispatcher/simulator';
import { freePort, type RedisServerProcess, startRedisServer } from '@flow-dispatcher/testkit';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { IngestClient, startIngestProcess } from './ingest-support.js';
import type { CliProcess } from './support/cli-process.js';
import { makeTlsMaterial, peopleIds, recordFigures, WorkerFleet } from './support/faults.js';
import { fleetEnv } from './support/fleet.js';
import { requireTool } from './support/tools.js';
import { waitFor } from './support/wait.js';

const PASSWORD = 'tls-sekret-Pw-2291';

/**
 * Redis with a password and TLS only (no plain port), its certificate signed by a throwaway CA
 * made here with openssl. flow-dispatcher reaches it with `REDIS_URL=rediss://:PASSWORD@host:port`
 * and trusts the CA the standard Node.js way, `NODE_EXTRA_CA_CERTS=/path/ca.pem` (read by Node at
 * start-up; certificate checks stay on). The library takes an ioredis connection of your own
 * (`tls: { ca }`). Without the CA, or with a wrong password, nothing connects.
 */
const openssl = requireTool('openssl', { install: 'apt-get install openssl' });

describe.skipIf(!openssl.path)('security: Redis with a password and TLS', () => {
  let redis: RedisServerProcess | undefined;
  let sim: Simulator | undefined;
  let fleet: WorkerFleet | undefined;
  const processes: CliProcess[] = [];
  const cleanup: (() => unknown)[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'fd-tls-'));

  afterEach(async () => {
    while (cleanup.length) await cleanup.pop()?.();
    for (const child of processes.splice(0)) await child.kill('SIGKILL');
    await fleet?.killAll();
    await sim?.close();
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('works end to end over rediss:// with a password; refuses an unknown CA or a wrong password', async () => {
    const tls = makeTlsMaterial(dir, openssl.path);
    const port = await freePort();
    redis = await startRedisServer({
      port,
      password: PASSWORD,
      // The plain port is off: TLS only.
      args: [
        '--port',
        '0',
        '--tls-port',
        String(port),
        '--tls-cert-file',
        tls.cert,
        '--tls-key-file',
        tls.key,
        '--tls-ca-cert-file',
        tls.ca,
        '--tls-auth-clients',
        'no',
      ],
    });
    const url = `rediss://:${PASSWORD}@127.0.0.1:${port}`;
    sim = await startSimulator({ port: 0, latency: { kind: 'fixed', ms: 5 } });
    const env = {
      ...fleetEnv({ redisUrl: url, prefix: 'tls', simulatorUrl: sim.url }),
      INGEST_TOKENS: 'tls-test-ingest-token-0123',
      INGEST_PORT: '0',
      NODE_EXTRA_CA_CERTS: tls.ca,
    };

    // The library, with a connection of one's own that trusts the CA.
    const connection = new Redis(url, {
      tls: { ca: readFileSync(tls.ca) },
      maxRetriesPerRequest: null,
    });
    const producer = new Producer({ redis: connection, prefix: 'tls' });
    cleanup.push(() => connection.disconnect());
    cleanup.push(() => producer.close());
    const viaLibrary = peopleIds('tlslib', 300);
    await producer.triggerMany(
      'Welcome_SMS',
      viaLibrary.map((IndividualId) => ({ IndividualId })),
    );

    // The worker and ingest processes, trusting the CA through NODE_EXTRA_CA_CERTS.
    fleet = new WorkerFleet(env);
    await fleet.start(1);
    const ingest = await startIngestProcess(env);
    processes.push(ingest.process);
    const client = new IngestClient(ingest.url, 'tls-test-ingest-token-0123', 4);
    cleanup.push(() => client.close());
    expect((await client.get('/readyz')).status).toBe(200);
    const viaIngest = peopleIds('tlsing', 200);
    for (let i = 0; i < viaIngest.length; i += 50) {
      const answer = await client.post('/v1/flows/Welcome_SMS/triggers', {
        triggers: viaIngest.slice(i, i + 50).map((IndividualId) => ({ input: { IndividualId } })),
      });
      expect(answer.status).toBe(202);
    }
    const simulator = sim;
    await waitFor(
      () => {
        const delivered = simulator.deliveries();
        return [...viaLibrary, ...viaIngest].every((id) => delivered.has(id));
      },
      { message: 'every trigger delivered through TLS Redis', timeoutMs: 60_000 },
    );

    // Without the CA: the certificate is refused, ingest never becomes ready.
    const { NODE_EXTRA_CA_CERTS: _, ...untrusting } = env;
    const noCa = await startIngestProcess(untrusting);
    processes.push(noCa.process);
    // A wrong password over TLS: refused by Redis.
    const wrongPassword = await startIngestProcess({
      ...env,
      REDIS_URL: url.replace(PASSWORD, 'not-the-password'),
    });
    processes.push(wrongPassword.process);
    const refusedReady = await Promise.all(
      [noCa.url, wrongPassword.url].map(async (base) => (await fetch(`${base}/readyz`)).status),
    );
    const refusedTrigger = await new IngestClient(
      noCa.url,
      'tls-test-ingest-token-0123',
      1,
    ).trigger('Welcome_SMS', { input: { IndividualId: '0PKtlsnoca00000001' } });
    recordFigures('security-redis-tls', {
      delivered: viaLibrary.length + viaIngest.length,
      readyWithoutCa: refusedReady[0],
      readyWithWrongPassword: refusedReady[1],
      triggerWithoutCa: refusedTrigger.status,
    });
    expect(refusedReady).toEqual([503, 503]);
    expect(refusedTrigger.status).toBe(503);
    expect(noCa.process.output).toMatch(/self[- ]signed|certificate|unable to verify/i);
    for (const output of [
      noCa.process.output,
      wrongPassword.process.output,
      ingest.process.output,
      fleet.output,
    ]) {
      expect(output).not.toContain(PASSWORD);
    }
  });
});
