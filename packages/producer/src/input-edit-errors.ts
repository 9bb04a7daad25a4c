/** Edits that cannot be applied: wrong names, or a name used twice. */
export class InvalidInputEditsError extends Error {
  override readonly name = 'InvalidInputEditsError';
  readonly code = 'INVALID_INPUT_EDITS';
}

/**
 * Some matching dead letters cannot take the edits (see applyInputEdits): nothing was replayed.
 * Carries how many, and one of them.
 */
export class InputEditConflictError extends Error {
  override readonly name = 'InputEditConflictError';
  readonly code = 'INPUT_EDIT_CONFLICT';

  constructor(
    readonly letters: number,
    readonly exampleId: string,
    reason: string,
  ) {
    super(
      `nothing replayed: ${letters} matching dead letter(s) cannot take the input edits (${exampleId}: ${reason}); drop one of the two inputs too, or leave those letters out`,
    );
  }
}
