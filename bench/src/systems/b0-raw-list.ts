import type { B0ConsumerConfig } from '../roles/b0-consumer.js';
import type { SinkConfig } from '../sinks/trigger-sink.js';
import { ConsumerFleet, FleetSystem } from './consumer-fleet.js';
import type { SystemContext, SystemDriver } from './system-driver.js';

export interface B0Options {
  consumers: number;
  /** Calls in flight per consumer process (ours: SF_MAX_CONCURRENCY). */
  concurrency: number;
  maxInputs: number;
  lingerMs: number;
}

/** B0: LPUSH onto a raw list, consumers RPOP/BRPOP into full batched calls (see roles/b0-consumer.ts). */
export class B0RawList extends FleetSystem implements SystemDriver {
  readonly system = 'B0';
  readonly queued = true;
  readonly sink: SinkConfig;

  constructor(
    private readonly ctx: SystemContext,
    private readonly options: B0Options,
  ) {
    super();
    this.sink = {
      kind: 'raw-list',
      redisUrl: ctx.redis.url,
      key: B0_KEY,
      perCommand: 1_000,
      inFlight: 4,
    };
  }

  async start(): Promise<void> {
    const config: B0ConsumerConfig = {
      redisUrl: this.ctx.redis.url,
      loginUrl: this.ctx.sim.url,
      key: B0_KEY,
      maxInputs: this.options.maxInputs,
      lingerMs: this.options.lingerMs,
      concurrency: this.options.concurrency,
    };
    this.fleet = await ConsumerFleet.start(
      'b0-consumer',
      'consumer',
      this.options.consumers,
      config,
    );
  }

  async hold(): Promise<void> {
    await this.started.callAll('hold');
  }

  async release(): Promise<void> {
    await this.started.callAll('release');
  }

  async stop(): Promise<void> {
    await this.fleet?.stop();
  }
}

const B0_KEY = 'b0:triggers';
