/**
 * A trigger's priority within its flow (docs/design.md, "Priority lanes"): `high` for real-time
 * traffic, `normal` (the default), `low` for backfills. A chunk holds triggers of one priority; its
 * BullMQ job carries the priority, so workers fetch higher chunks first, and a worker's batcher
 * fills each call from the highest lane first.
 */
export type TriggerPriority = 'high' | 'normal' | 'low';

export const TRIGGER_PRIORITIES: readonly TriggerPriority[] = ['high', 'normal', 'low'];

/** The default priority of a trigger (`enqueue` on the command line defaults to `low`). */
export const DEFAULT_PRIORITY: TriggerPriority = 'normal';

/**
 * BullMQ job priority of each lane (1 = first). Every chunk job carries one: BullMQ takes jobs
 * without a priority (its `wait` list) before any prioritized one, so `normal` is 2, not 0.
 */
const JOB_PRIORITY: Record<TriggerPriority, number> = { high: 1, normal: 2, low: 3 };

export function isTriggerPriority(value: unknown): value is TriggerPriority {
  return value === 'high' || value === 'normal' || value === 'low';
}

/** The BullMQ job priority of `priority`. */
export function jobPriority(priority: TriggerPriority = DEFAULT_PRIORITY): number {
  return JOB_PRIORITY[priority];
}

/** The lane of a chunk job from its BullMQ priority (0 or absent: a chunk written before lanes). */
export function priorityOfJob(jobPriorityValue: number | undefined): TriggerPriority {
  if (jobPriorityValue === 1) return 'high';
  if (jobPriorityValue !== undefined && jobPriorityValue >= 3) return 'low';
  return 'normal';
}

/** Lane index (0 = high, 1 = normal, 2 = low) of a priority. */
export function laneIndex(priority: TriggerPriority): number {
  return JOB_PRIORITY[priority] - 1;
}
