import { SalesforceAuthError, SalesforceUsageError } from '../errors.js';
import type { AccessToken, TokenSource } from '../types.js';

export interface StaticTokenOptions {
  /** `SF_INSTANCE_URL` */
  instanceUrl: string;
  /** `SF_ACCESS_TOKEN` */
  accessToken: string;
  /** Epoch ms the token was obtained. @defaultValue the construction time */
  issuedAt?: number;
}

/**
 * A fixed token (`SF_INSTANCE_URL` + `SF_ACCESS_TOKEN`, for development). It cannot mint: once
 * Salesforce rejects it, `refresh` fails with an `auth-misconfigured`-class error.
 */
export class StaticTokenSource implements TokenSource {
  readonly mints = 0;
  readonly #token: AccessToken;

  constructor(options: StaticTokenOptions) {
    let origin: string;
    try {
      const url = new URL(options.instanceUrl);
      if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error(url.protocol);
      origin = url.origin;
    } catch (cause) {
      throw new SalesforceUsageError('invalid-option', 'SF_INSTANCE_URL is not an https:// URL', {
        cause,
      });
    }
    if (!options.accessToken) {
      throw new SalesforceUsageError('invalid-option', 'SF_ACCESS_TOKEN is empty');
    }
    this.#token = {
      accessToken: options.accessToken,
      instanceUrl: origin,
      issuedAt: options.issuedAt ?? Date.now(),
    };
  }

  getToken(): Promise<AccessToken> {
    return Promise.resolve(this.#token);
  }

  refresh(_stale: AccessToken): Promise<AccessToken> {
    return Promise.reject(
      new SalesforceAuthError(
        'static-token-expired',
        'Salesforce rejected the fixed access token (SF_ACCESS_TOKEN): it has expired or was ' +
          'revoked, and a fixed token cannot be renewed. Set a fresh SF_ACCESS_TOKEN, or configure ' +
          'the client-credentials flow (SF_CLIENT_ID, SF_CLIENT_SECRET) or the JWT bearer flow ' +
          '(SF_USERNAME, SF_PRIVATE_KEY_FILE, SF_CLIENT_ID) so tokens are renewed automatically.',
      ),
    );
  }
}
