import type { Random } from './seeded-random.js';
import type { LatencyModel } from './simulator-config.js';

/** z-score of the 99th percentile of a standard normal distribution. */
const z99 = 2.3263478740408408;

/** How long an invoke call of `inputs` inputs takes under `model`. */
export function sampleLatencyMs(model: LatencyModel, inputs: number, random: Random): number {
  let ms: number;
  switch (model.kind) {
    case 'fixed':
      ms = model.ms;
      break;
    case 'uniform':
      ms = model.minMs + random() * (model.maxMs - model.minMs);
      break;
    case 'lognormal': {
      const mu = Math.log(model.medianMs);
      const sigma = (Math.log(model.p99Ms) - mu) / z99;
      ms = Math.exp(mu + sigma * standardNormal(random));
      break;
    }
  }
  if (model.spikes !== undefined && model.spikes.rate > 0 && random() < model.spikes.rate) {
    ms += model.spikes.ms;
  }
  if (model.perInputMs !== undefined) ms += model.perInputMs * inputs;
  return ms;
}

/** Box-Muller transform. */
function standardNormal(random: Random): number {
  const u1 = 1 - random(); // (0, 1]: log(0) would be -Infinity
  const u2 = random();
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}
