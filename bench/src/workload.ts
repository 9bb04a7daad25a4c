import type { FlowInput } from '@flow-dispatcher/shared';

/** The flow every run triggers (one of the simulator's default flows). */
export const BENCH_FLOW = 'Welcome_SMS';

/** The bearer token every ingest process of the bench accepts (`INGEST_TOKENS`). */
export const BENCH_INGEST_TOKEN = 'bench-ingest-token-0123456789';

/**
 * The `n`-th trigger of a run: a sign-up SMS, about 90 bytes of JSON like the real thing. Its
 * IndividualId is unique within the run (18 characters: `0PK`, the run's two-letter tag, `n` in
 * base 36), so the simulator's delivery record tells lost and duplicated triggers apart.
 */
export function benchInput(tag: string, n: number): FlowInput {
  return {
    IndividualId: `0PK${tag}${n.toString(36).padStart(13, '0')}`,
    TelephoneNumber: `+1555${String(n % 10_000_000).padStart(7, '0')}`,
    Coupon_Code: `WELCOME${n % 100}`,
  };
}

/** Inputs `from` … `from + count − 1` of a run. */
export function benchInputs(tag: string, from: number, count: number): FlowInput[] {
  const inputs: FlowInput[] = new Array(count);
  for (let i = 0; i < count; i++) inputs[i] = benchInput(tag, from + i);
  return inputs;
}
