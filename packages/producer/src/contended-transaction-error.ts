/**
 * An optimistic transaction was aborted by concurrent writers more times than it may retry:
 * nothing of it was applied, and trying again later is safe.
 */
export class ContendedTransactionError extends Error {
  override readonly name = 'ContendedTransactionError';
  readonly code = 'TRANSACTION_CONTENDED';
}
