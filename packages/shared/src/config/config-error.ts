/**
 * A bad or missing configuration value. Start-up stops with this error; its message names the
 * environment variable and never repeats a secret value.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code = 'CONFIG_INVALID';

  constructor(
    /** The environment variable at fault. */
    readonly variable: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`${variable}: ${reason}`, options);
  }
}

export function isConfigError(err: unknown): err is ConfigError {
  return (
    typeof err === 'object' &&
    err !== null &&
    (err as { code?: unknown }).code === 'CONFIG_INVALID' &&
    typeof (err as { variable?: unknown }).variable === 'string'
  );
}
