/** A write asked of a producer (or of its group commit) after `close()`: nothing was stored. */
export class ProducerClosedError extends Error {
  override readonly name = 'ProducerClosedError';
  readonly code = 'PRODUCER_CLOSED';

  constructor(message = 'the producer is closed: nothing was stored') {
    super(message);
  }
}

/** Recognised by code, so that two copies of the package agree. */
export function isProducerClosedError(err: unknown): err is ProducerClosedError {
  return (err as { code?: unknown } | null)?.code === 'PRODUCER_CLOSED';
}
