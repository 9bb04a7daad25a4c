import { createPublicKey } from 'node:crypto';
import { z } from 'zod';
import { SimulatorConfigError } from './simulator-errors.js';

/** One input variable of a flow, as the describe call lists it. */
export interface FlowInputSpec {
  /** API name: the (case-sensitive) key in each element of `inputs`. */
  name: string;
  /** Describe `type`, e.g. `STRING` or `APEX`. The exact strings for flows are UNCONFIRMED. */
  type: string;
  /** An element without a value for it fails with REQUIRED_FIELD_MISSING. */
  required: boolean;
  /** Above 1 marks a collection. @defaultValue 1 */
  maxOccurs?: number;
  /** Class of an Apex-defined (nested object) input such as `customInput`. */
  apexClass?: string;
  label?: string;
  description?: string;
}

/** One output variable of a flow. */
export interface FlowOutputSpec {
  name: string;
  type: string;
  /** Returned in `outputValues` of every successful interview. @defaultValue null */
  value?: unknown;
  maxOccurs?: number;
  apexClass?: string;
  label?: string;
  description?: string;
}

/** An autolaunched flow the org exposes at `/actions/custom/flow/{name}`. */
export interface FlowSpec {
  /** @defaultValue the name with `_` replaced by spaces */
  label?: string;
  description?: string;
  inputs: FlowInputSpec[];
  outputs?: FlowOutputSpec[];
  /** An inactive flow answers 404 on GET and POST, like a missing one. @defaultValue true */
  active?: boolean;
  /**
   * Most inputs one call's shared transaction holds before it breaks a governor limit and rolls
   * back; overrides the global `transactionCapacity` for this flow. @defaultValue the global one
   */
  transactionCapacity?: number;
}

/** How long an invoke call takes before it is answered. */
export type LatencyDistribution =
  | { kind: 'fixed'; ms: number }
  | { kind: 'uniform'; minMs: number; maxMs: number }
  | { kind: 'lognormal'; medianMs: number; p99Ms: number };

export type LatencyModel = LatencyDistribution & {
  /** With probability `rate` (0..1) a call takes `ms` longer. */
  spikes?: { rate: number; ms: number };
  /** Added once per input of the call. */
  perInputMs?: number;
};

/** Credentials the token endpoint accepts. */
export interface AuthConfig {
  /** Consumer key (client credentials `client_id`, JWT `iss`). @defaultValue 'sim-client-id' */
  clientId: string;
  /** @defaultValue 'sim-client-secret' */
  clientSecret: string;
  /** Run-as / JWT `sub` user. @defaultValue 'integration@example.com' */
  username?: string;
  /** PEM (SPKI or certificate) that verifies RS256 JWT assertions; without it the JWT grant is refused. */
  jwtPublicKeyPem?: string;
  /** Accepted JWT `aud` values. @defaultValue login.salesforce.com, test.salesforce.com, the simulator's url */
  jwtAudiences?: string[];
}

/** Makes every input whose `field` matches fail with `error`. */
export interface InputFaultRule {
  /** All conditions given must hold; with none, any input that has the field matches. */
  match: { field: string; equals?: string; prefix?: string; regex?: string };
  error: { statusCode: string; message: string };
  /** Fail this many times per distinct IndividualId, then let it succeed. Omitted: always fail. */
  times?: number;
}

/**
 * A request-level refusal that concerns no input (nothing runs):
 * - `api-disabled`: every /services/data request answers 403 API_DISABLED_FOR_ORG (the org's API
 *   access is off);
 * - `insufficient-access`: invoke calls and describes of `flows` (every flow when omitted) answer
 *   403 INSUFFICIENT_ACCESS (the integration user may not run them).
 */
export type RequestRefusal =
  | { kind: 'api-disabled' }
  | { kind: 'insufficient-access'; flows?: string[] };

/** The three concurrency refusals Salesforce is known to answer, by the name in their message. */
export type ConcurrencyRefusal =
  | 'ConcurrentPerOrgLongTxn'
  | 'ConcurrentRequests'
  | 'ConcurrentPerOrgApex';

/** Whole-call faults armed for the next invoke calls, consumed one per call. */
export interface FailNext {
  http503?: number;
  http502?: number;
  http429?: number;
  reset?: number;
  hang?: number;
}

export interface SimulatorConfig {
  /** Accepted `vNN.N` path versions: a list such as `['65.0']`, or a range of major numbers. */
  apiVersions: string[] | { min: number; max: number };
  /** The org's flows by API name. Configuring `flows` replaces the whole set. */
  flows: Record<string, FlowSpec>;
  /** `not-found`: 404; `accept`: any name works as a flow with the always-available inputs. */
  unknownFlows: 'not-found' | 'accept';
  /** An input name the flow does not declare: per-element INVALID_INPUT, or a whole-call 400. */
  unknownInputMode: 'element' | 'request';
  /** More inputs in one call: request-level 400 LIMIT_EXCEEDED (the real cap is UNCONFIRMED). */
  maxInputsPerCall: number;
  /** Larger request bodies: 413. */
  maxBodyBytes: number;
  /** Applied to invoke calls that run their inputs; other endpoints answer at once. */
  latency: LatencyModel;
  /** Rolling allocation of /services/data requests. */
  dailyLimit: number;
  /** Usage already spent when configured (and after `reset()`). */
  dailyUsed: number;
  /** Usage older than this drops off. */
  dailyWindowMs: number;
  /** Invoke calls admitted at once; more answer 403 with the `concurrencyRefusal` message. */
  maxConcurrency: number;
  /** Which REQUEST_LIMIT_EXCEEDED message a call over `maxConcurrency` gets. */
  concurrencyRefusal: ConcurrencyRefusal;
  /** Issued tokens older than this answer 401 INVALID_SESSION_ID. */
  tokenTtlMs: number;
  /** Every valid token answers 401 "This session is not valid for use with the REST API". */
  restApiDisabled: boolean;
  /** A refusal that concerns no input, for the whole org or some flows; null: none. */
  refuse: RequestRefusal | null;
  /** The max shown as `api-bursts=N/MAX` in `Sforce-Limit-Info`; null leaves that part out. */
  apiBurstsMax: number | null;
  /** Bearer tokens accepted without the token endpoint (no TTL, not touched by expireTokens). */
  staticTokens: string[];
  /** Configuring `auth` merges into the current credentials. */
  auth: AuthConfig;
  inputFaults: InputFaultRule[];
  /** Probability per input of UNABLE_TO_LOCK_ROW. */
  transientInputRate: number;
  /** Probability per input of UNKNOWN_EXCEPTION. */
  permanentInputRate: number;
  /**
   * Most inputs one call's shared transaction holds: a call with more breaks a governor limit,
   * rolls back, and every input fails with the generic UNKNOWN_EXCEPTION. null: no limit.
   */
  transactionCapacity: number | null;
  /** Probability per invoke call of a 503 SERVER_UNAVAILABLE; nothing runs. */
  http503Rate: number;
  /** Probability per invoke call of a 502 HTML page; nothing runs. */
  http502Rate: number;
  /** Probability per invoke call of a 429 with Retry-After; nothing runs. */
  http429Rate: number;
  /** Seconds in the 429 `Retry-After` header. */
  retryAfterSeconds: number;
  /** Probability per invoke call that the socket is destroyed before anything runs. */
  resetRate: number;
  /** Probability per invoke call that the inputs run and the answer is held back for `hangMs`. */
  hangAfterProcessingRate: number;
  hangMs: number;
  /** Arms whole-call faults for the next calls (replacing what is still armed). */
  failNext: FailNext;
  /** Seeds the PRNG behind random faults and latency; null: a random seed. */
  seed: number | null;
  /** Keep each call's IndividualIds in its RecordedCall. */
  recordInputs: boolean;
  /** Only the newest calls are kept in the call record. */
  maxRecordedCalls: number;
  /** Who may use `/__sim/*`. */
  adminAccess: 'loopback' | 'any';
}

/** The inputs every On-Demand Flow accepts (docs/salesforce-api.md#inputs-every-flow-takes). */
export const alwaysAvailableInputs: readonly FlowInputSpec[] = [
  { name: 'IndividualId', type: 'STRING', required: true, label: 'Individual ID' },
  { name: 'EmailAddress', type: 'STRING', required: false, label: 'Email Address' },
  { name: 'TelephoneNumber', type: 'STRING', required: false, label: 'Telephone Number' },
];

const dayMs = 24 * 60 * 60 * 1000;

export const simulatorDefaults = deepFreeze({
  apiVersions: { min: 20, max: 70 },
  flows: {
    Welcome_SMS: {
      label: 'Welcome SMS',
      description: 'Sends a welcome SMS right after sign-up.',
      inputs: [
        ...alwaysAvailableInputs,
        { name: 'Coupon_Code', type: 'STRING', required: false, label: 'Coupon Code' },
      ],
    },
    Order_Confirmation_Email: {
      label: 'Order Confirmation Email',
      description: 'Sends the order confirmation email, personalised by an Apex-defined input.',
      inputs: [
        ...alwaysAvailableInputs,
        {
          name: 'customInput',
          type: 'APEX',
          apexClass: 'OrderConfirmationInput',
          required: false,
          label: 'customInput',
        },
      ],
    },
  },
  unknownFlows: 'not-found',
  unknownInputMode: 'element',
  maxInputsPerCall: 200,
  maxBodyBytes: 50 * 1024 * 1024,
  latency: { kind: 'fixed', ms: 20 },
  dailyLimit: 100_000,
  dailyUsed: 0,
  dailyWindowMs: dayMs,
  maxConcurrency: Number.POSITIVE_INFINITY,
  concurrencyRefusal: 'ConcurrentPerOrgLongTxn',
  tokenTtlMs: 2 * 60 * 60 * 1000,
  restApiDisabled: false,
  refuse: null,
  apiBurstsMax: 750,
  staticTokens: [],
  auth: {
    clientId: 'sim-client-id',
    clientSecret: 'sim-client-secret',
    username: 'integration@example.com',
  },
  inputFaults: [],
  transientInputRate: 0,
  permanentInputRate: 0,
  transactionCapacity: null,
  http503Rate: 0,
  http502Rate: 0,
  http429Rate: 0,
  retryAfterSeconds: 1,
  resetRate: 0,
  hangAfterProcessingRate: 0,
  hangMs: 10 * 60 * 1000,
  failNext: {},
  seed: null,
  recordInputs: false,
  maxRecordedCalls: 200_000,
  adminAccess: 'loopback',
} satisfies SimulatorConfig);

const rate = z.number().min(0).max(1);
const durationMs = z.number().min(0).finite();
const count = z.number().int().min(0);
const text = z.string().min(1);

const inputSchema = z.strictObject({
  name: text,
  type: text,
  required: z.boolean(),
  maxOccurs: z.number().int().min(1).optional(),
  apexClass: text.optional(),
  label: z.string().optional(),
  description: z.string().optional(),
});

const outputSchema = z.strictObject({
  name: text,
  type: text,
  value: z.unknown().optional(),
  maxOccurs: z.number().int().min(1).optional(),
  apexClass: text.optional(),
  label: z.string().optional(),
  description: z.string().optional(),
});

const flowSchema = z.strictObject({
  label: z.string().optional(),
  description: z.string().optional(),
  inputs: z.array(inputSchema),
  outputs: z.array(outputSchema).optional(),
  active: z.boolean().optional(),
  transactionCapacity: z.number().int().min(1).optional(),
});

const latencyExtras = {
  spikes: z.strictObject({ rate, ms: durationMs }).optional(),
  perInputMs: durationMs.optional(),
};

const latencySchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('fixed'), ms: durationMs, ...latencyExtras }),
  z
    .strictObject({
      kind: z.literal('uniform'),
      minMs: durationMs,
      maxMs: durationMs,
      ...latencyExtras,
    })
    .refine((l) => l.minMs <= l.maxMs, 'latency.minMs must not exceed latency.maxMs'),
  z
    .strictObject({
      kind: z.literal('lognormal'),
      medianMs: z.number().positive().finite(),
      p99Ms: z.number().positive().finite(),
      ...latencyExtras,
    })
    .refine((l) => l.p99Ms >= l.medianMs, 'latency.p99Ms must not be below latency.medianMs'),
]);

const publicKeyPem = z.string().refine((pem) => {
  try {
    createPublicKey(pem);
    return true;
  } catch {
    return false;
  }
}, 'auth.jwtPublicKeyPem is not a readable public key or certificate');

const regexSource = z.string().refine((source) => {
  try {
    new RegExp(source);
    return true;
  } catch {
    return false;
  }
}, 'not a valid regular expression');

const errorSpec = z.strictObject({ statusCode: text, message: z.string() });

/** Validates a patch; unknown keys are refused so that a typo does not pass silently. */
const patchSchema = z.strictObject({
  apiVersions: z
    .union([
      z.array(z.string().regex(/^\d+\.\d$/, 'API versions look like 65.0')),
      z.strictObject({ min: count, max: count }),
    ])
    .optional(),
  flows: z
    .record(z.string().regex(/^\w+$/, 'flow API names are word characters'), flowSchema)
    .optional(),
  unknownFlows: z.enum(['not-found', 'accept']).optional(),
  unknownInputMode: z.enum(['element', 'request']).optional(),
  maxInputsPerCall: z.number().int().min(1).optional(),
  maxBodyBytes: z.number().int().min(1).optional(),
  latency: latencySchema.optional(),
  dailyLimit: count.optional(),
  dailyUsed: count.optional(),
  dailyWindowMs: z.number().positive().finite().optional(),
  maxConcurrency: z
    .union([
      count,
      z.literal(Number.POSITIVE_INFINITY),
      z.null().transform(() => Number.POSITIVE_INFINITY),
    ])
    .optional(),
  tokenTtlMs: durationMs.optional(),
  concurrencyRefusal: z
    .enum(['ConcurrentPerOrgLongTxn', 'ConcurrentRequests', 'ConcurrentPerOrgApex'])
    .optional(),
  restApiDisabled: z.boolean().optional(),
  refuse: z
    .discriminatedUnion('kind', [
      z.strictObject({ kind: z.literal('api-disabled') }),
      z.strictObject({
        kind: z.literal('insufficient-access'),
        flows: z.array(z.string().regex(/^\w+$/, 'flow API names are word characters')).optional(),
      }),
    ])
    .nullable()
    .optional(),
  apiBurstsMax: z.number().int().min(1).nullable().optional(),
  staticTokens: z.array(text).optional(),
  auth: z
    .strictObject({
      clientId: text.optional(),
      clientSecret: text.optional(),
      username: text.optional(),
      jwtPublicKeyPem: publicKeyPem.optional(),
      jwtAudiences: z.array(text).optional(),
    })
    .optional(),
  inputFaults: z
    .array(
      z.strictObject({
        match: z.strictObject({
          field: text,
          equals: z.string().optional(),
          prefix: z.string().optional(),
          regex: regexSource.optional(),
        }),
        error: errorSpec,
        times: z.number().int().min(1).optional(),
      }),
    )
    .optional(),
  transientInputRate: rate.optional(),
  permanentInputRate: rate.optional(),
  transactionCapacity: z.number().int().min(1).nullable().optional(),
  http503Rate: rate.optional(),
  http502Rate: rate.optional(),
  http429Rate: rate.optional(),
  retryAfterSeconds: count.optional(),
  resetRate: rate.optional(),
  hangAfterProcessingRate: rate.optional(),
  hangMs: durationMs.optional(),
  failNext: z
    .strictObject({
      http503: count.optional(),
      http502: count.optional(),
      http429: count.optional(),
      reset: count.optional(),
      hang: count.optional(),
    })
    .optional(),
  seed: z.number().int().nullable().optional(),
  recordInputs: z.boolean().optional(),
  maxRecordedCalls: z.number().int().min(1).optional(),
  adminAccess: z.enum(['loopback', 'any']).optional(),
});

export type SimulatorConfigPatch = Partial<Omit<SimulatorConfig, 'auth'>> & {
  auth?: Partial<AuthConfig>;
};

// Compile-time check that the schema and the interfaces describe the same thing.
const checkedPatchSchema: z.ZodType<SimulatorConfigPatch> = patchSchema;

/** Parses an untrusted patch (from code, a file or HTTP) or throws SimulatorConfigError. */
export function parseConfigPatch(raw: unknown): SimulatorConfigPatch {
  const parsed = checkedPatchSchema.safeParse(raw);
  if (!parsed.success) {
    throw new SimulatorConfigError(`invalid simulator config: ${z.prettifyError(parsed.error)}`, {
      cause: parsed.error,
    });
  }
  return parsed.data;
}

/** Applies a validated patch: top-level keys replace, `auth` merges. The result is frozen. */
export function applyConfigPatch(
  current: SimulatorConfig,
  patch: SimulatorConfigPatch,
): SimulatorConfig {
  const next: Record<string, unknown> = { ...current };
  // Cloned so that freezing the config never freezes an object the caller still holds.
  for (const [key, value] of Object.entries(structuredClone(patch))) {
    if (value !== undefined) next[key] = value;
  }
  next.auth = { ...current.auth, ...withoutUndefined(patch.auth ?? {}) };
  return deepFreeze(next as unknown as SimulatorConfig);
}

/** A fresh frozen copy of the defaults. */
export function defaultConfig(): SimulatorConfig {
  return deepFreeze(structuredClone(simulatorDefaults) as SimulatorConfig);
}

/** Whether an API version from the path (`65.0`, without the `v`) is served. */
export function isApiVersionAccepted(config: SimulatorConfig, version: string): boolean {
  const accepted = config.apiVersions;
  if (Array.isArray(accepted)) return accepted.includes(version);
  const match = /^(\d+)\.0$/.exec(version);
  if (match === null) return false;
  const major = Number(match[1]);
  return major >= accepted.min && major <= accepted.max;
}

/** Config as JSON can carry it (Infinity has no JSON form: it becomes null). */
export function configToJson(config: SimulatorConfig): unknown {
  return {
    ...config,
    maxConcurrency: Number.isFinite(config.maxConcurrency) ? config.maxConcurrency : null,
  };
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
