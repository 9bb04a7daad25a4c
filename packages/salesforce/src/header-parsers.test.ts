import { describe, expect, it } from 'vitest';
import { parseLimitInfo } from './limit-info-header.js';
import { parseRetryAfterMs } from './retry-after-header.js';
import type { LimitInfo } from './types.js';

const limitInfoCases: { header: string | string[] | undefined; expected: LimitInfo | undefined }[] =
  [
    { header: 'api-usage=10018/100000', expected: { apiUsage: { used: 10018, max: 100000 } } },
    {
      header: 'api-usage=25/5000; per-app-api-usage=17/250(appName=sample-app)',
      expected: {
        apiUsage: { used: 25, max: 5000 },
        perAppApiUsage: { used: 17, max: 250, appName: 'sample-app' },
      },
    },
    {
      header: '  API-Usage = 25 / 5000 ;PER-APP-API-USAGE=17/250 ( appName = my app )',
      expected: {
        apiUsage: { used: 25, max: 5000 },
        perAppApiUsage: { used: 17, max: 250, appName: 'my app' },
      },
    },
    {
      header: 'api-usage=25/5000,per-app-api-usage=1/2',
      expected: {
        apiUsage: { used: 25, max: 5000 },
        perAppApiUsage: { used: 1, max: 2, appName: null },
      },
    },
    {
      header: ['api-usage=1/10', 'per-app-api-usage=2/20(appName=a)'],
      expected: {
        apiUsage: { used: 1, max: 10 },
        perAppApiUsage: { used: 2, max: 20, appName: 'a' },
      },
    },
    {
      header: 'per-app-api-usage=17/250(appName=x)',
      expected: { perAppApiUsage: { used: 17, max: 250, appName: 'x' } },
    },
    {
      header: 'api-usage=abc/100; per-app-api-usage=17/250(appName=x)',
      expected: { perAppApiUsage: { used: 17, max: 250, appName: 'x' } },
    },
    // The REST API guide's current example: api-bursts has no documented meaning and is ignored.
    {
      header: 'api-usage=18/5000, api-bursts=1/750',
      expected: { apiUsage: { used: 18, max: 5000 } },
    },
    {
      header: 'api-bursts=1/750; api-usage=18/5000',
      expected: { apiUsage: { used: 18, max: 5000 } },
    },
    {
      header: 'api-usage=25/5000; per-app-api-usage=17/250(appName=x), api-bursts=3/750',
      expected: {
        apiUsage: { used: 25, max: 5000 },
        perAppApiUsage: { used: 17, max: 250, appName: 'x' },
      },
    },
    { header: 'api-bursts=1/750', expected: undefined },
    { header: 'api-usage=12/100 garbage', expected: undefined },
    { header: 'api-usage=-1/100', expected: undefined },
    { header: 'api-usage=1.5/100', expected: undefined },
    { header: 'api-usage=', expected: undefined },
    { header: 'garbage', expected: undefined },
    { header: '', expected: undefined },
    { header: [], expected: undefined },
    { header: undefined, expected: undefined },
    { header: 'api-usage=1/2=3', expected: undefined },
  ];

describe('parseLimitInfo', () => {
  it.each(limitInfoCases)('$header', ({ header, expected }) => {
    expect(parseLimitInfo(header)).toEqual(expected);
  });

  it('never throws on odd input', () => {
    for (const odd of [null, 42, {}, ['a', 1], 'x'.repeat(100_000)]) {
      expect(() => parseLimitInfo(odd as never)).not.toThrow();
    }
  });
});

const NOW_MS = Date.parse('2025-06-01T12:00:00Z');

const retryAfterCases: { value: string | string[] | undefined; expected: number | undefined }[] = [
  { value: '0', expected: 0 },
  { value: '120', expected: 120_000 },
  { value: ' 5 ', expected: 5000 },
  { value: '1.5', expected: 1500 },
  { value: ['3', '9'], expected: 3000 },
  { value: 'Sun, 01 Jun 2025 12:01:30 GMT', expected: 90_000 },
  { value: 'Sun, 01 Jun 2025 11:00:00 GMT', expected: 0 },
  { value: '-1', expected: undefined },
  { value: 'soon', expected: undefined },
  { value: '', expected: undefined },
  { value: undefined, expected: undefined },
  { value: '999999999', expected: undefined },
];

describe('parseRetryAfterMs', () => {
  it.each(retryAfterCases)('$value', ({ value, expected }) => {
    expect(parseRetryAfterMs(value, NOW_MS)).toBe(expected);
  });
});
