/** A trigger the producer refused before writing anything (bad flow name, input or key). */
export class InvalidTriggerError extends Error {
  override readonly name = 'InvalidTriggerError';
  readonly code = 'INVALID_TRIGGER';

  constructor(
    message: string,
    /** Which input or option is at fault, e.g. `IndividualId`, `flow`, `key`. */
    readonly field: string,
    /** Position of the trigger in a `triggerMany` call. */
    readonly index?: number,
  ) {
    super(index === undefined ? message : `trigger ${index}: ${message}`);
  }
}
