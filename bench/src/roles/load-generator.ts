/**
 * The load generator: a child process that plays the producer side of one run, so its CPU is its
 * own. Commands (over IPC): `prepare` (connect to the system under test), `bulk` (a burst as fast
 * as the system takes it), `paced` (an open-loop load at a fixed rate: trigger k is handed over
 * at start + k / rate whatever happened to the ones before), `progress`, `report` (B1 only: the
 * producer is the one that gets Salesforce's answers).
 */
import { serveRpc } from '../child-rpc.js';
import type { LatencyReport } from '../latency-recorder.js';
import { BullmqSink } from '../sinks/bullmq-sink.js';
import { DirectSink } from '../sinks/direct-sink.js';
import { IngestHttpSink } from '../sinks/ingest-http-sink.js';
import { OursSink } from '../sinks/ours-sink.js';
import { RawListSink } from '../sinks/raw-list-sink.js';
import type { SinkConfig, TriggerSink } from '../sinks/trigger-sink.js';
import { benchInput } from '../workload.js';

export interface BulkResult {
  startAt: number;
  endAt: number;
  count: number;
}

export interface PacedResult {
  startAt: number;
  endAt: number;
  /** Triggers handed over. */
  issued: number;
  /** Hand-overs the system refused or failed. */
  errors: number;
  /** Most triggers due at once at a tick: how far the generator itself fell behind. */
  largestBurst: number;
  /** How long each hand-over call took, from the call to its answer (for B1: the whole call). */
  handOverMs: { p99: number; max: number };
}

let sink: TriggerSink | undefined;

function current(): TriggerSink {
  if (!sink) throw new Error('prepare first');
  return sink;
}

async function prepare(config: SinkConfig): Promise<void> {
  await sink?.close();
  switch (config.kind) {
    case 'ours':
      sink = new OursSink(config);
      break;
    case 'raw-list':
      sink = new RawListSink(config);
      break;
    case 'bullmq':
      sink = new BullmqSink(config);
      break;
    case 'direct':
      sink = await DirectSink.connect(config);
      break;
    case 'ingest-http':
      sink = new IngestHttpSink(config);
      break;
  }
}

async function bulk(args: { tag: string; from: number; count: number }): Promise<BulkResult> {
  const startAt = Date.now();
  await current().bulk(args.tag, args.from, args.count);
  return { startAt, endAt: Date.now(), count: args.count };
}

async function paced(args: {
  tag: string;
  rate: number;
  durationMs: number;
}): Promise<PacedResult> {
  const target = current();
  const total = Math.max(1, Math.round((args.rate * args.durationMs) / 1000));
  const startAt = Date.now();
  let issued = 0;
  let settled = 0;
  let errors = 0;
  let largestBurst = 0;
  const callMs: number[] = [];
  await new Promise<void>((resolve) => {
    const tick = () => {
      const due = Math.min(total, Math.floor(((Date.now() - startAt) * args.rate) / 1000) + 1);
      largestBurst = Math.max(largestBurst, due - issued);
      while (issued < due) {
        const input = benchInput(args.tag, issued++);
        const calledAt = performance.now();
        target
          .one(input)
          .then(() => callMs.push(performance.now() - calledAt))
          .catch(() => errors++)
          .finally(() => {
            settled++;
            if (settled === total) resolve();
          });
      }
      if (issued < total) setTimeout(tick, 1);
    };
    tick();
  });
  callMs.sort((a, b) => a - b);
  const handOverMs = {
    p99: callMs[Math.min(callMs.length - 1, Math.ceil(callMs.length * 0.99) - 1)] ?? 0,
    max: callMs.at(-1) ?? 0,
  };
  return { startAt, endAt: Date.now(), issued, errors, largestBurst, handOverMs };
}

function progress(): { answered: number; failed: number } {
  const recorder = current().recorder;
  return { answered: recorder?.count ?? 0, failed: recorder?.failed ?? 0 };
}

function report(): LatencyReport | null {
  return current().recorder?.report() ?? null;
}

serveRpc(
  {
    prepare,
    bulk,
    paced,
    progress,
    report,
    reset: () => current().recorder?.reset(),
  },
  async () => {
    await sink?.close();
  },
);
