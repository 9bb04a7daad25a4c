import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isConfigError, loadConfig } from '@flow-dispatcher/shared';
import { afterAll, describe, expect, it } from 'vitest';
import { JwtBearerTokenMinter } from './jwt-bearer-token-minter.js';
import { tokenMinterFromConfig } from './token-source-from-config.js';

describe('tokenMinterFromConfig', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fd-key-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const jwtEnv = (file: string) => ({
    SF_LOGIN_URL: 'https://example.my.salesforce.com',
    SF_CLIENT_ID: 'client-id',
    SF_USERNAME: 'integration@example.com',
    SF_PRIVATE_KEY_FILE: file,
  });
  const failure = (file: string) => {
    try {
      tokenMinterFromConfig(loadConfig(jwtEnv(file)));
    } catch (err) {
      return err;
    }
    throw new Error('expected an error');
  };

  it('reads an RSA key file for the JWT bearer flow', () => {
    const file = join(dir, 'key.pem');
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    writeFileSync(file, privateKey.export({ type: 'pkcs8', format: 'pem' }));
    expect(tokenMinterFromConfig(loadConfig(jwtEnv(file)))).toBeInstanceOf(JwtBearerTokenMinter);
  });

  it('reports a missing or unusable key file as a configuration error naming the variable', () => {
    const missing = failure(join(dir, 'missing.pem'));
    expect(isConfigError(missing)).toBe(true);
    expect((missing as Error).message).toMatch(
      /^SF_PRIVATE_KEY_FILE: cannot read the private key file ".*missing\.pem" \(ENOENT\)$/,
    );

    const junk = join(dir, 'junk.pem');
    writeFileSync(junk, 'not a key');
    const invalid = failure(junk);
    expect(isConfigError(invalid)).toBe(true);
    expect((invalid as Error).message).toMatch(/^SF_PRIVATE_KEY_FILE: .*is not a PEM private key$/);

    const ec = join(dir, 'ec.pem');
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    writeFileSync(ec, pem);
    const wrongType = failure(ec);
    expect(isConfigError(wrongType)).toBe(true);
    expect((wrongType as Error).message).toMatch(/must be an RSA private key/);
    // The key itself is never quoted.
    expect((wrongType as Error).message).not.toContain(pem.split('\n')[1]);
  });
});
