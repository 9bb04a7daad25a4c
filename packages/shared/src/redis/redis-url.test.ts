import { describe, expect, it } from 'vitest';
import { isConfigError } from '../config/config-error.js';
import { parseRedisUrl, redisUrlLabel } from './redis-url.js';

describe('parseRedisUrl', () => {
  it.each([
    ['redis://127.0.0.1:6379', { kind: 'node', url: 'redis://127.0.0.1:6379' }],
    ['redis://:s3cret@cache:6380/2', { kind: 'node', url: 'redis://:s3cret@cache:6380/2' }],
    [
      'rediss://user:pw@cache.example.com',
      { kind: 'node', url: 'rediss://user:pw@cache.example.com' },
    ],
    ['redis://[::1]:6379/', { kind: 'node', url: 'redis://[::1]:6379/' }],
    ['redis://redis_master:6379', { kind: 'node', url: 'redis://redis_master:6379' }],
    [
      'redis://:p%40ss@a:7000,b:7001,c:7002',
      {
        kind: 'cluster',
        nodes: [
          { host: 'a', port: 7000 },
          { host: 'b', port: 7001 },
          { host: 'c', port: 7002 },
        ],
        username: undefined,
        password: 'p@ss',
        tls: false,
      },
    ],
    [
      'rediss://app:pw@10.0.0.1:7000,10.0.0.2',
      {
        kind: 'cluster',
        nodes: [
          { host: '10.0.0.1', port: 7000 },
          { host: '10.0.0.2', port: 6379 },
        ],
        username: 'app',
        password: 'pw',
        tls: true,
      },
    ],
    [
      'redis+cluster://clustercfg.example.com:6379',
      {
        kind: 'cluster',
        nodes: [{ host: 'clustercfg.example.com', port: 6379 }],
        username: undefined,
        password: undefined,
        tls: false,
      },
    ],
    [
      'redis+sentinel://:pw@s1:26379,s2,[::1]:26380/mymaster',
      {
        kind: 'sentinel',
        sentinels: [
          { host: 's1', port: 26_379 },
          { host: 's2', port: 26_379 },
          { host: '::1', port: 26_380 },
        ],
        masterName: 'mymaster',
        username: undefined,
        password: 'pw',
        tls: false,
        db: 0,
      },
    ],
    [
      'rediss+sentinel://s1:26379/my%20master/3',
      {
        kind: 'sentinel',
        sentinels: [{ host: 's1', port: 26_379 }],
        masterName: 'my master',
        username: undefined,
        password: undefined,
        tls: true,
        db: 3,
      },
    ],
  ])('reads %s', (url, target) => {
    expect(parseRedisUrl(url)).toEqual(target);
  });

  it.each([
    ['http://:hunter2hunter2@cache:6379', /unknown scheme "http:\/\/"/],
    ['cache:6379', /is not a URL/],
    ['redis://:hunter2hunter2@', /empty host/],
    ['redis://:hunter2hunter2@a:7000,,b:7001', /empty host/],
    ['redis://:hunter2hunter2@a:99999,b:7001', /bad port \(host 1 of 2\)/],
    ['redis://:hunter2hunter2@a:7000,b:x', /bad port \(host 2 of 2\)/],
    ['redis://:hunter2hunter2@a:7000,b:7001/3', /database other than 0/],
    ['redis://:hunter2hunter2@a:7000,b:7001?tls=true', /takes no options/],
    ['redis+sentinel://:hunter2hunter2@s1:26379', /names no master/],
    ['redis+sentinel://:hunter2hunter2@s1:26379/m/x', /path other than a database number/],
    ['redis://:hunter2hunter2@cache:6379/db', /path other than a database number/],
    ['redis://:hunter2%zz@a:1,b:2', /bad %-escape/],
    ['redis://:hunter2hunter2@a$b:1,c:2', /bad host \(host 1 of 2\)/],
    ['redis://:hunter2/hunter2@cache:6379', /bad host/],
    ['redis://:hunter2@hunter2@a:1,b:x', /bad port/],
  ])('refuses %s naming REDIS_URL, without the password', (url, reason) => {
    let error: unknown;
    try {
      parseRedisUrl(url);
    } catch (err) {
      error = err;
    }
    expect(isConfigError(error)).toBe(true);
    const message = (error as Error).message;
    expect(message).toMatch(/^REDIS_URL: /);
    expect(message).toMatch(reason);
    expect(message).not.toContain('hunter2');
  });
});

describe('redisUrlLabel', () => {
  it('masks the password of every form', () => {
    expect(redisUrlLabel('redis://:pw@cache:6379/')).toBe('redis://:***@cache:6379');
    expect(redisUrlLabel('redis://app:pw@a:7000,b:7001')).toBe('redis://app:***@a:7000,b:7001');
    expect(redisUrlLabel('redis+sentinel://s1,s2/m')).toBe('redis+sentinel://s1,s2/m');
  });
});
