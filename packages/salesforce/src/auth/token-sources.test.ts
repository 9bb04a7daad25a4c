import { loadConfig } from '@flow-dispatcher/shared/config';
import { describe, expect, it } from 'vitest';
import { isSalesforceAuthError, SalesforceAuthError } from '../errors.js';
import type { AccessToken, TokenMinter } from '../types.js';
import { SingleFlightTokenSource } from './single-flight-token-source.js';
import { StaticTokenSource } from './static-token-source.js';
import { tokenSourceFromConfig } from './token-source-from-config.js';

/** A minter whose mints the test releases by hand. */
class ManualMinter implements TokenMinter {
  calls = 0;
  readonly #pending: { resolve: (t: AccessToken) => void; reject: (e: unknown) => void }[] = [];

  mintToken(): Promise<AccessToken> {
    this.calls += 1;
    return new Promise((resolve, reject) => this.#pending.push({ resolve, reject }));
  }

  release(accessToken: string): void {
    const next = this.#pending.shift();
    if (!next) throw new Error('no pending mint');
    next.resolve({ accessToken, instanceUrl: 'https://org.my.salesforce.com', issuedAt: 1 });
  }

  fail(error: unknown): void {
    const next = this.#pending.shift();
    if (!next) throw new Error('no pending mint');
    next.reject(error);
  }
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('SingleFlightTokenSource', () => {
  it('mints lazily, once for concurrent first callers', async () => {
    const minter = new ManualMinter();
    const source = new SingleFlightTokenSource(minter);
    expect(source.mints).toBe(0);
    const callers = Array.from({ length: 10 }, () => source.getToken());
    await tick();
    expect(minter.calls).toBe(1);
    minter.release('t1');
    const tokens = await Promise.all(callers);
    expect(new Set(tokens.map((t) => t.accessToken))).toEqual(new Set(['t1']));
    expect(source.mints).toBe(1);
    await source.getToken();
    expect(source.mints).toBe(1);
  });

  it('shares one refresh among holders of the same stale token', async () => {
    const minter = new ManualMinter();
    const source = new SingleFlightTokenSource(minter);
    const first = source.getToken();
    minter.release('t1');
    const stale = await first;

    const refreshes = Array.from({ length: 20 }, () => source.refresh(stale));
    await tick();
    expect(minter.calls).toBe(2);
    minter.release('t2');
    const fresh = await Promise.all(refreshes);
    expect(fresh.every((t) => t.accessToken === 't2')).toBe(true);
    expect(source.mints).toBe(2);

    // A late caller with the already-replaced token gets the replacement, no request.
    await expect(source.refresh(stale)).resolves.toMatchObject({ accessToken: 't2' });
    expect(source.mints).toBe(2);
    // getToken while a refresh is in flight waits for the new token.
    const again = source.refresh(fresh[0] as AccessToken);
    const meanwhile = source.getToken();
    minter.release('t3');
    await expect(meanwhile).resolves.toMatchObject({ accessToken: 't3' });
    await expect(again).resolves.toMatchObject({ accessToken: 't3' });
    expect(source.mints).toBe(3);
  });

  it('rejects every sharer of a failed mint, keeps the old token, and mints again next time', async () => {
    const minter = new ManualMinter();
    const source = new SingleFlightTokenSource(minter);
    const first = source.getToken();
    minter.release('t1');
    const stale = await first;

    const failing = [source.refresh(stale), source.refresh(stale)];
    await tick();
    const error = new SalesforceAuthError('token-rejected', 'refused');
    minter.fail(error);
    for (const attempt of failing) await expect(attempt).rejects.toBe(error);
    expect(source.mints).toBe(2);
    await expect(source.getToken()).resolves.toMatchObject({ accessToken: 't1' });

    const retry = source.refresh(stale);
    await tick();
    minter.release('t2');
    await expect(retry).resolves.toMatchObject({ accessToken: 't2' });
    expect(source.mints).toBe(3);
  });
});

describe('StaticTokenSource', () => {
  const secretToken = '00Dxx0000000001!AQ0AQSECRETSECRET';

  it('hands out the fixed token and cannot refresh it', async () => {
    const source = new StaticTokenSource({
      instanceUrl: 'https://org.my.salesforce.com/',
      accessToken: secretToken,
      issuedAt: 5,
    });
    const token = await source.getToken();
    expect(token).toEqual({
      accessToken: secretToken,
      instanceUrl: 'https://org.my.salesforce.com',
      issuedAt: 5,
    });
    const error = await source.refresh(token).catch((e: unknown) => e);
    expect(isSalesforceAuthError(error)).toBe(true);
    expect(error).toMatchObject({ code: 'static-token-expired', retryable: false });
    expect(String(error)).toContain('SF_ACCESS_TOKEN');
    expect(String(error)).not.toContain(secretToken);
    expect(source.mints).toBe(0);
  });

  it.each([
    [{ instanceUrl: 'not a url', accessToken: 'x' }],
    [{ instanceUrl: 'ftp://x', accessToken: 'x' }],
    [{ instanceUrl: 'https://x', accessToken: '' }],
  ])('refuses bad configuration %j', (options) => {
    expect(() => new StaticTokenSource(options)).toThrow(
      expect.objectContaining({ code: 'invalid-option' }),
    );
  });
});

describe('tokenSourceFromConfig', () => {
  const config = (env: Record<string, string>) =>
    loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379', ...env });

  it('builds the source for each way of authenticating without minting', () => {
    const cc = tokenSourceFromConfig(
      config({
        SF_LOGIN_URL: 'https://org.my.salesforce.com',
        SF_CLIENT_ID: 'id',
        SF_CLIENT_SECRET: 'secret',
      }),
    );
    expect(cc).toBeInstanceOf(SingleFlightTokenSource);
    expect(cc.mints).toBe(0);
    const fixed = tokenSourceFromConfig(
      config({ SF_INSTANCE_URL: 'https://org.my.salesforce.com', SF_ACCESS_TOKEN: 't' }),
    );
    expect(fixed).toBeInstanceOf(StaticTokenSource);
  });

  it('refuses login.salesforce.com for client credentials, naming SF_LOGIN_URL', () => {
    expect(() =>
      tokenSourceFromConfig(
        config({
          SF_LOGIN_URL: 'https://login.salesforce.com',
          SF_CLIENT_ID: 'id',
          SF_CLIENT_SECRET: 'secret',
        }),
      ),
    ).toThrow(/SF_LOGIN_URL/);
  });
});
