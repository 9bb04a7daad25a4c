import { afterEach, expect, it } from 'vitest';
import {
  clientCredentialsToken,
  closeAll,
  individualIds,
  inputsFor,
  invoke,
  start,
} from './test-support.js';

afterEach(closeAll);

// A smoke test of the hot path, not a benchmark: no timing is asserted.
it('serves 200 calls of 200 inputs over keep-alive connections without errors', async () => {
  const sim = await start({ latency: { kind: 'fixed', ms: 2 } });
  const token = await clientCredentialsToken(sim);
  const calls = 200;
  const parallel = 8;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < calls) {
      const n = next++;
      const reply = await invoke(sim, token, 'Welcome_SMS', inputsFor(individualIds(200, `T${n}`)));
      expect(reply.status).toBe(200);
      expect((reply.json as unknown[]).length).toBe(200);
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  const stats = sim.stats();
  expect(stats.invokeCalls).toEqual({
    total: calls,
    byStatus: { '200': calls },
    rolledBack: 0,
  });
  expect(stats.deliveries).toEqual({ unique: calls * 200, total: calls * 200, duplicates: 0 });
  expect(stats.concurrency.highest).toBeLessThanOrEqual(parallel);
});
