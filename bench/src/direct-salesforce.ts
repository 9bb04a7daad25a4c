import { Pool } from 'undici';

/** What one invoke call came back with. */
export interface DirectCallResult {
  status: number;
  /** Inputs Salesforce reported `isSuccess: true` for. */
  succeeded: number;
  failed: number;
}

/**
 * The Salesforce client a team writes for itself, used by the baselines B0, B1 and B2: one
 * client-credentials token at start, then a keep-alive undici pool posting `{"inputs":[…]}` and
 * reading `isSuccess` of each result. No retries, no classification, no limits: the lean end of
 * what anyone would ship, so the baselines' CPU figures are not inflated by our client.
 */
export class DirectSalesforce {
  readonly #pool: Pool;
  readonly #path: string;
  readonly #authorization: string;

  private constructor(instanceUrl: string, accessToken: string, flow: string, connections: number) {
    this.#pool = new Pool(instanceUrl, { connections, pipelining: 1 });
    this.#path = `/services/data/v65.0/actions/custom/flow/${flow}`;
    this.#authorization = `Bearer ${accessToken}`;
  }

  static async connect(options: {
    loginUrl: string;
    flow: string;
    connections: number;
  }): Promise<DirectSalesforce> {
    const response = await fetch(`${options.loginUrl}/services/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: 'sim-client-id',
        client_secret: 'sim-client-secret',
      }).toString(),
    });
    if (!response.ok) throw new Error(`token request failed: ${response.status}`);
    const token = (await response.json()) as { access_token: string; instance_url: string };
    return new DirectSalesforce(
      token.instance_url,
      token.access_token,
      options.flow,
      options.connections,
    );
  }

  /** Posts a ready-made body (`{"inputs":[…]}`) and counts the results that succeeded. */
  async invokeBody(body: string): Promise<DirectCallResult> {
    const response = await this.#pool.request({
      method: 'POST',
      path: this.#path,
      headers: { authorization: this.#authorization, 'content-type': 'application/json' },
      body,
    });
    const text = await response.body.text();
    let succeeded = 0;
    let failed = 0;
    if (response.statusCode === 200 || response.statusCode === 400) {
      const results = JSON.parse(text) as { isSuccess?: boolean }[];
      for (const result of results) {
        if (result.isSuccess === true) succeeded++;
        else failed++;
      }
    }
    return { status: response.statusCode, succeeded, failed };
  }

  invoke(inputs: readonly unknown[]): Promise<DirectCallResult> {
    return this.invokeBody(JSON.stringify({ inputs }));
  }

  close(): Promise<void> {
    return this.#pool.close();
  }
}
