import { type Logger, type LoggerOptions, pino } from 'pino';
import { CENSOR, redactForLog, redactionKeys } from './log-redaction.js';

/**
 * Field paths pino itself censors (top level and one level deep), a second layer behind the
 * deep redaction of `createLogger` (see log-redaction.ts) for code that builds its own pino
 * logger. Inputs are never logged on the hot path.
 */
export const REDACTED_PATHS = [
  'accessToken',
  'access_token',
  'clientSecret',
  'client_secret',
  'password',
  'authorization',
  'assertion',
  'EmailAddress',
  'TelephoneNumber',
  '*.accessToken',
  '*.access_token',
  '*.clientSecret',
  '*.client_secret',
  '*.password',
  '*.authorization',
  '*.Authorization',
  '*.assertion',
  '*.EmailAddress',
  '*.TelephoneNumber',
  '*.input',
];

export type { Logger };

export interface CreateLoggerOptions {
  level?: string;
  name?: string;
  destination?: NodeJS.WritableStream;
  /** Input names censored besides the built-in ones (LOG_REDACT_INPUTS, `config.log.redactInputs`). */
  redactInputs?: readonly string[];
}

/**
 * A pino JSON logger that never writes a secret or personal data: every argument of every log
 * call (and the bindings of child loggers) goes through `redactForLog` first, so credentials,
 * e-mail addresses, phone numbers, trigger inputs and the configured input names are censored at
 * any depth, and e-mail addresses, phone numbers and tokens inside text (messages, error
 * messages) are masked. The cost is a copy of each logged object, which is fine for a logger that
 * writes one line per call or event, never one per trigger.
 */
export function createLogger(options: CreateLoggerOptions = {}): Logger {
  const keys = redactionKeys(options.redactInputs);
  const loggerOptions: LoggerOptions = {
    level: options.level ?? 'info',
    base: { pid: process.pid, ...(options.name ? { name: options.name } : {}) },
    redact: { paths: REDACTED_PATHS, censor: CENSOR },
    timestamp: pino.stdTimeFunctions.isoTime,
    // Errors arrive here already turned into plain, redacted objects; keep them as they are.
    serializers: {
      err: (err: unknown) => (err instanceof Error ? pino.stdSerializers.err(err) : err),
    },
    formatters: {
      level: (label) => ({ level: label }),
      bindings: (bindings) => redactForLog(bindings, keys) as Record<string, unknown>,
    },
    hooks: {
      logMethod(args, method) {
        // pino files a leading Error under `err`; the redacted copy is a plain object, so say so.
        const first = args[0] instanceof Error ? { err: args[0] } : args[0];
        const safe = [first, ...args.slice(1)].map((arg) => redactForLog(arg, keys)) as Parameters<
          typeof method
        >;
        return method.apply(this, safe);
      },
    },
  };
  const logger = options.destination
    ? pino(loggerOptions, options.destination)
    : pino(loggerOptions);
  // Child bindings skip `formatters.bindings`; children inherit this `child` from the root.
  const child = logger.child;
  logger.child = function redactedChild(this: Logger, bindings, childOptions) {
    return child.call(this, redactForLog(bindings, keys) as typeof bindings, childOptions);
  } as typeof logger.child;
  return logger;
}
