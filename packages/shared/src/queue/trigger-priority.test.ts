import { describe, expect, it } from 'vitest';
import { isTriggerPriority, jobPriority, laneIndex, priorityOfJob } from './trigger-priority.js';

describe('trigger priority', () => {
  it('maps lanes to BullMQ priorities and back', () => {
    expect(jobPriority('high')).toBe(1);
    expect(jobPriority('normal')).toBe(2);
    expect(jobPriority('low')).toBe(3);
    expect(jobPriority()).toBe(2);
    expect(priorityOfJob(1)).toBe('high');
    expect(priorityOfJob(2)).toBe('normal');
    expect(priorityOfJob(3)).toBe('low');
    expect(priorityOfJob(0)).toBe('normal');
    expect(priorityOfJob(undefined)).toBe('normal');
    expect(laneIndex('high')).toBe(0);
    expect(laneIndex('low')).toBe(2);
  });

  it('accepts only the three names', () => {
    expect(isTriggerPriority('high')).toBe(true);
    expect(isTriggerPriority('urgent')).toBe(false);
    expect(isTriggerPriority(1)).toBe(false);
  });
});
