import { type Logger, type LoggerOptions, pino } from 'pino';

/**
 * Field paths pino censors wherever they appear (one level deep and at the top). Inputs are never
 * logged on the hot path; these paths catch the rest: tokens, secrets and personal data.
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
  'input',
  'inputs',
  '*.input',
  '*.inputs',
];

export type { Logger };

export function createLogger(
  options: { level?: string; name?: string; destination?: NodeJS.WritableStream } = {},
): Logger {
  const loggerOptions: LoggerOptions = {
    level: options.level ?? 'info',
    base: { pid: process.pid, ...(options.name ? { name: options.name } : {}) },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  };
  return options.destination ? pino(loggerOptions, options.destination) : pino(loggerOptions);
}
