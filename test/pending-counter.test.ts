import { connect, createServer, type Server, type Socket } from 'node:net';
import { Producer } from '@flow-dispatcher/producer';
import { type Simulator, startSimulator } from '@flow-dispatcher/simulator';
import { type RedisServerProcess, startRedisServer } from '@flow-dispatcher/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fleetEnv, startInProcessWorker } from './support/fleet.js';
import { waitFor } from './support/wait.js';

/**
 * A TCP proxy in front of Redis that, once armed, lets the next command containing `marker` reach
 * Redis and run, then cuts the client's connection instead of passing the reply back: the write
 * happened, the client never heard. ioredis reconnects and sends the command again.
 */
async function startCuttingProxy(redisPort: number) {
  const state = { marker: '', cuts: 0 };
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(redisPort, '127.0.0.1');
    sockets.add(client).add(upstream);
    let swallow = false;
    client.on('data', (data) => {
      upstream.write(data);
      if (state.marker && data.includes(state.marker)) {
        // Let Redis run it (50 ms is ample on loopback), keep every reply, then cut.
        state.marker = '';
        swallow = true;
        setTimeout(() => {
          state.cuts++;
          client.destroy();
          upstream.destroy();
        }, 50);
      }
    });
    upstream.on('data', (data) => {
      if (!swallow) client.write(data);
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `redis://127.0.0.1:${port}`,
    state,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

describe('the pending counter when a reply is lost and ioredis sends the write again', () => {
  let redis: RedisServerProcess;
  let proxy: Awaited<ReturnType<typeof startCuttingProxy>>;
  let sim: Simulator;

  beforeEach(async () => {
    redis = await startRedisServer();
    proxy = await startCuttingProxy(redis.port);
    sim = await startSimulator({ port: 0, latency: { kind: 'fixed', ms: 10 } });
  });

  afterEach(async () => {
    await sim.close();
    await proxy.close();
    await redis.stop();
  });

  it('counts a chunk written twice once, and a call recorded twice once', async () => {
    const prefix = 'cut';
    const direct = new Producer({ redis: redis.url, prefix });
    const viaProxy = new Producer({ redis: proxy.url, prefix });
    const inputs = Array.from({ length: 100 }, (_, i) => ({
      IndividualId: `0PKcut${String(i).padStart(12, '0')}`,
    }));
    try {
      // The chunk's MULTI reaches Redis and runs; its reply is lost; ioredis sends it again.
      proxy.state.marker = '$4\r\nexec\r\n';
      const receipts = await viaProxy.triggerMany('Welcome_SMS', inputs);
      expect(proxy.state.cuts).toBe(1);
      expect(receipts).toHaveLength(100);
      expect(await direct.redis.hget(direct.keys.pending, 'Welcome_SMS')).toBe('100');

      // The worker's first recording of a call (its script carries the records) likewise.
      proxy.state.marker = '"s":"ok"';
      const worker = await startInProcessWorker(
        fleetEnv({
          redisUrl: proxy.url,
          prefix,
          simulatorUrl: sim.url,
          extra: { SF_MAX_INPUTS_PER_CALL: '50' },
        }),
      );
      try {
        await waitFor(
          async () => (await direct.getTrigger(receipts[99]?.id ?? ''))?.state === 'succeeded',
          {
            message: 'every trigger recorded',
          },
        );
        await waitFor(
          async () => (await direct.getTrigger(receipts[0]?.id ?? ''))?.state === 'succeeded',
          {
            message: 'every trigger recorded',
          },
        );
      } finally {
        await worker.close();
      }
      expect(proxy.state.cuts).toBe(2);
      expect(sim.stats().deliveries.unique).toBe(100);
      expect(await direct.redis.hget(direct.keys.pending, 'Welcome_SMS')).toBe('0');
    } finally {
      await viaProxy.close();
      await direct.close();
    }
  });
});
