/** Bad usage of the command line: exit 2 with one line. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  readonly code = 'USAGE';
}
