import type { Dispatcher } from 'undici';
import { SalesforceUsageError } from '../errors.js';
import type { AccessToken, TokenMinter } from '../types.js';
import { requestToken, tokenEndpointUrl } from './token-endpoint.js';

export interface ClientCredentialsOptions {
  /** `SF_LOGIN_URL`: the org's My Domain URL (login/test.salesforce.com refuse this flow). */
  loginUrl: string;
  /** `SF_CLIENT_ID`: the consumer key. */
  clientId: string;
  /** `SF_CLIENT_SECRET`: the consumer secret. */
  clientSecret: string;
  /** Defaults to undici's global dispatcher. */
  dispatcher?: Dispatcher;
  /** Deadline of one token request, from connect to the last byte. */
  timeoutMs: number;
  /** Epoch ms. @defaultValue Date.now */
  clock?: () => number;
}

/**
 * OAuth 2.0 client-credentials flow (docs/salesforce-api.md, Authentication):
 * `grant_type=client_credentials&client_id=..&client_secret=..`, form-encoded, to the My Domain
 * token endpoint.
 */
export class ClientCredentialsTokenMinter implements TokenMinter {
  readonly #options: ClientCredentialsOptions;

  constructor(options: ClientCredentialsOptions) {
    const host = tokenEndpointUrl(options.loginUrl).hostname.toLowerCase();
    // simple-salesforce refuses these too: Salesforce only serves this flow on the My Domain host.
    if (host === 'login.salesforce.com' || host === 'test.salesforce.com') {
      throw new SalesforceUsageError(
        'invalid-option',
        `SF_LOGIN_URL must be the org's My Domain URL for the client-credentials flow, not ${host}`,
      );
    }
    if (!options.clientId || !options.clientSecret) {
      throw new SalesforceUsageError(
        'invalid-option',
        'the client-credentials flow needs SF_CLIENT_ID and SF_CLIENT_SECRET',
      );
    }
    this.#options = { ...options };
  }

  mintToken(): Promise<AccessToken> {
    const { loginUrl, clientId, clientSecret, dispatcher, timeoutMs, clock } = this.#options;
    return requestToken({
      loginUrl,
      grantLabel: 'client credentials',
      form: { grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret },
      secrets: [clientSecret],
      dispatcher,
      timeoutMs,
      clock,
    });
  }
}
