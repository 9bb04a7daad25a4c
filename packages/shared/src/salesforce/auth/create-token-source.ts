import type { Dispatcher } from 'undici';
import type { TokenSource } from '../types.js';
import { ClientCredentialsTokenMinter } from './client-credentials-token-minter.js';
import { JwtBearerTokenMinter } from './jwt-bearer-token-minter.js';
import { SingleFlightTokenSource } from './single-flight-token-source.js';
import { StaticTokenSource } from './static-token-source.js';

/** The three ways to authenticate (DESIGN §4), as parsed from the environment by the caller. */
export type TokenSourceConfig =
  | {
      kind: 'client-credentials';
      loginUrl: string;
      clientId: string;
      clientSecret: string;
    }
  | {
      kind: 'jwt-bearer';
      loginUrl: string;
      clientId: string;
      username: string;
      /** PEM text (`loadPrivateKey(SF_PRIVATE_KEY_FILE)`). */
      privateKey: string;
      audience?: string;
    }
  | { kind: 'static'; instanceUrl: string; accessToken: string };

export interface TokenSourceExtras {
  dispatcher?: Dispatcher;
  timeoutMs?: number;
}

/** A process-local, single-flight `TokenSource` for `config`. */
export function createTokenSource(
  config: TokenSourceConfig,
  extras: TokenSourceExtras = {},
): TokenSource {
  switch (config.kind) {
    case 'client-credentials':
      return new SingleFlightTokenSource(
        new ClientCredentialsTokenMinter({ ...config, ...extras }),
      );
    case 'jwt-bearer':
      return new SingleFlightTokenSource(new JwtBearerTokenMinter({ ...config, ...extras }));
    case 'static':
      return new StaticTokenSource(config);
  }
}
