import { describe, expect, it } from 'vitest';
import { writeVerdict } from './write-policy.js';

describe('admin UI write policy', () => {
  it('allows reads always and nothing else when read-only', () => {
    expect(writeVerdict('GET', '/api/queues', {}, true)).toBe('allowed');
    expect(writeVerdict('HEAD', '/', {}, true)).toBe('allowed');
    expect(writeVerdict('PUT', '/api/queues/:queueName/pause', {}, true)).toBe('read-only');
  });

  it.each([
    ['PUT', '/api/queues/pause', {}],
    ['PUT', '/api/queues/:queueName/resume', {}],
    ['PUT', '/api/queues/:queueName/retry/:queueStatus', { queueStatus: 'failed' }],
    ['PUT', '/api/queues/:queueName/:jobId/retry', {}],
    ['PUT', '/api/queues/:queueName/:jobId/promote', {}],
  ])('allows %s %s in write mode', (method, route, params) => {
    expect(writeVerdict(method, route, params, false)).toBe('allowed');
  });

  it.each([
    ['POST', '/api/queues/:queueName/add', {}],
    ['PUT', '/api/queues/:queueName/empty', {}],
    ['PUT', '/api/queues/:queueName/obliterate', {}],
    ['PUT', '/api/queues/:queueName/clean/:queueStatus', { queueStatus: 'failed' }],
    ['PUT', '/api/queues/:queueName/:jobId/clean', {}],
    ['PATCH', '/api/queues/:queueName/:jobId/update-data', {}],
    ['PUT', '/api/queues/:queueName/retry/:queueStatus', { queueStatus: 'completed' }],
    ['POST', '/api/metrics/history/purge', {}],
  ])('refuses %s %s even in write mode', (method, route, params) => {
    expect(writeVerdict(method, route, params, false)).toBe('forbidden');
  });
});
