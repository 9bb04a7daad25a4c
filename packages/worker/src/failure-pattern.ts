import type { CallVerdict, InputError } from '@flow-dispatcher/salesforce';

/**
 * What a call's answer says about whose fault its failures were (pure).
 *
 * | answer                                                         | pattern                  |
 * |----------------------------------------------------------------|--------------------------|
 * | > 1 input, every one a governor limit                          | rolled back              |
 * | > 1 input, every one the generic UNKNOWN_EXCEPTION, same text  | rolled back (ambiguous)  |
 * | every input failed with the same error (ids and values aside)  | uniform, with signature  |
 * | request-level refusal of the whole call (400 naming no result) | uniform, with signature  |
 * | anything with a success, mixed errors, or no per-input answer  | none                     |
 *
 * Rolled back: one call's inputs run as one bulk transaction; when it breaks a governor limit,
 * everything rolls back and every input carries the same generic error, so a multi-input call
 * failing that way may be the call's size and not the inputs (docs/salesforce-api.md, "One call,
 * one transaction"). Nothing ran: the inputs are sent again in smaller calls, and only an input
 * that fails alone is its own fault.
 *
 * Uniform: the same error on every input is the mark of a sender's systematic mistake (an input
 * name the flow does not declare) or of a flow that fails every interview; the flow's breaker
 * counts such calls (flow-breaker.ts).
 */
export interface FailurePattern {
  rolledBack: boolean;
  /** Error code and normalised message shared by every input, when they all failed alike. */
  signature?: string;
  /** The shared error, for reports. */
  error?: { code: string; message: string };
}

const GENERIC_FLOW_FAULT = 'UNKNOWN_EXCEPTION';

export function failurePattern(verdict: CallVerdict): FailurePattern {
  if (verdict.kind === 'rejected') {
    const error = { code: verdict.errorCode, message: verdict.message };
    return { rolledBack: false, signature: signatureOf(error.code, error.message), error };
  }
  if (verdict.kind !== 'results' || verdict.inputs.length === 0) return { rolledBack: false };
  const errors: InputError[] = [];
  let governor = 0;
  for (const input of verdict.inputs) {
    if (input.kind === 'succeeded') return { rolledBack: false };
    if (input.kind === 'governor-limit') governor++;
    errors.push(input.error);
  }
  const first = errors[0] as InputError;
  const signature = signatureOf(first.statusCode, first.message);
  const alike = errors.every(
    (error) => error === first || signatureOf(error.statusCode, error.message) === signature,
  );
  const several = verdict.inputs.length > 1;
  const rolledBack =
    several &&
    (governor === verdict.inputs.length ||
      (alike &&
        first.statusCode === GENERIC_FLOW_FAULT &&
        errors.every((error) => error.message === first.message)));
  if (!alike) return { rolledBack };
  return {
    rolledBack,
    signature,
    error: { code: first.statusCode, message: normaliseErrorMessage(first.message) },
  };
}

/** Code and normalised message: what a systematic error keeps from one input to the next. */
export function signatureOf(code: string, message: string): string {
  return `${code}|${normaliseErrorMessage(message)}`;
}

/**
 * An error message with what differs between inputs taken out: quoted values, e-mail addresses,
 * Salesforce ids (15 or 18 letters and digits, at least one a digit), phone-like and other
 * numbers. Input names (an unknown input parameter) stay: they are
 * what a systematic mistake has in common.
 */
export function normaliseErrorMessage(message: string): string {
  return message
    .replace(/"[^"]*"/g, '"…"')
    .replace(/[^\s@]+@[^\s@]+/g, '<email>')
    .replace(/\b(?=[a-zA-Z]*\d)[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?\b/g, '<id>')
    .replace(/\+?\d[\d\s().-]{5,}\d/g, '<n>')
    .replace(/\d+/g, '<n>')
    .slice(0, 200);
}
