export { parseActionResults, parseRequestErrors } from './action-results.js';
export {
  type ClientCredentialsOptions,
  ClientCredentialsTokenMinter,
} from './auth/client-credentials-token-minter.js';
export {
  buildJwtAssertion,
  JWT_BEARER_GRANT_TYPE,
  type JwtBearerOptions,
  JwtBearerTokenMinter,
  type JwtClaimsInput,
  jwtAudienceFor,
  loadPrivateKey,
} from './auth/jwt-bearer-token-minter.js';
export { SingleFlightTokenSource } from './auth/single-flight-token-source.js';
export { type StaticTokenOptions, StaticTokenSource } from './auth/static-token-source.js';
export {
  parseTokenError,
  parseTokenResponse,
  requestToken,
  type TokenRequest,
  tokenEndpointUrl,
} from './auth/token-endpoint.js';
export {
  fleetTokenSourceFromConfig,
  tokenMinterFromConfig,
  tokenSourceFromConfig,
} from './auth/token-source-from-config.js';
export {
  classifyHttpFailure,
  classifyInputResult,
  classifyInvokeResponse,
  classifyTransportError,
  type HttpFailure,
  type InvokeResponse,
} from './classify-response.js';
export { type CompositeBatchResponse, parseCompositeBatchResponse } from './composite-batch.js';
export {
  ALWAYS_AVAILABLE_INPUTS,
  checkInputAgainstDescribe,
  type DescribeProblem,
} from './describe-check.js';
export {
  isSalesforceAuthError,
  isSalesforceRequestError,
  SalesforceAuthError,
  type SalesforceAuthErrorCode,
  SalesforceRequestError,
  type SalesforceRequestErrorCode,
  SalesforceUsageError,
  type SalesforceUsageErrorCode,
} from './errors.js';
export { budgetCap, callsLeft, lingerFactor, type Usage } from './fleet/budget.js';
export { type CallPermit, type CallSlots, LocalCallSlots } from './fleet/call-slots.js';
export {
  FleetLimiter,
  type FleetLimiterOptions,
  fleetLimiterFromConfig,
  permitLeaseMs,
} from './fleet/fleet-limiter.js';
export { FleetTokenSource } from './fleet/fleet-token-source.js';
export { type LimitSignal, limitSignal, type PauseCause, pauseMs } from './fleet/limit-signals.js';
export { underPermit } from './fleet/under-permit.js';
export { parseFlowDescribe } from './flow-describe.js';
export { parseFlowList } from './flow-list.js';
// isValidFlowName stays internal: the package index already exports the same rule from queue/flow-name.ts.
export { assertFlowName } from './flow-name.js';
export { parseLimitInfo } from './limit-info-header.js';
export { parseOrgLimits } from './org-limits.js';
export { parseRetryAfterMs } from './retry-after-header.js';
export {
  type InvokeFlowOptions,
  SalesforceClient,
  type SalesforceClientOptions,
} from './salesforce-client.js';
export type {
  AccessToken,
  ActionResult,
  CallVerdict,
  FlowDescribe,
  FlowInputDescribe,
  InputError,
  InputVerdict,
  InvokeOutcome,
  LimitInfo,
  OrgLimits,
  RequestError,
  TokenMinter,
  TokenSource,
} from './types.js';
