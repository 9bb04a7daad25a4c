import { defaults } from '../config/defaults.js';
import type { FlowInput } from './chunk-job.js';

/** Bounds on one trigger's input. Flow inputs are a handful of scalars or one Apex-defined object. */
export interface InputLimits {
  /** Deepest nesting of objects/arrays below the input itself. */
  maxDepth: number;
  /** Largest input, as JSON, in bytes. */
  maxBytes: number;
}

export const defaultInputLimits = {
  maxDepth: defaults.inputMaxDepth,
  maxBytes: defaults.inputMaxBytes,
} as const satisfies InputLimits;

/** Input variable names: Salesforce API names (a letter, then letters, digits, underscores). */
const INPUT_NAME = /^[A-Za-z][A-Za-z0-9_]{0,79}$/;
/** Names JavaScript gives meaning to: refused so no consumer of the data can be tricked by them. */
const RESERVED_NAMES = new Set(['constructor', 'prototype', '__proto__']);

/** Whether `name` may name an input: a Salesforce API name, none of the reserved ones. */
export function isValidInputName(name: string): boolean {
  return INPUT_NAME.test(name) && !RESERVED_NAMES.has(name);
}

export type InputProblem = { field: string; message: string };

/**
 * Checks one trigger's input (pure). Returns the first problem, or undefined when it is fine:
 * a plain JSON object, names that are Salesforce API names at every level (none of `__proto__`,
 * `constructor`, `prototype`), finite numbers, bounded depth and size, and `IndividualId` a
 * non-empty string.
 */
export function checkTriggerInput(
  input: unknown,
  limits: InputLimits = defaultInputLimits,
): InputProblem | undefined {
  if (!isPlainObject(input)) return { field: 'input', message: 'must be a JSON object' };
  const individualId = (input as FlowInput).IndividualId;
  if (typeof individualId !== 'string' || individualId.trim() === '') {
    return { field: 'IndividualId', message: 'is required and must be a non-empty string' };
  }
  if (individualId.length > 255) {
    return { field: 'IndividualId', message: 'must be at most 255 characters' };
  }
  const problem = checkValue(input, 'input', 0, limits.maxDepth);
  if (problem) return problem;
  const bytes = Buffer.byteLength(JSON.stringify(input));
  if (bytes > limits.maxBytes) {
    return {
      field: 'input',
      message: `is ${bytes} bytes as JSON, more than the ${limits.maxBytes} allowed`,
    };
  }
  return undefined;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function checkValue(
  value: unknown,
  path: string,
  depth: number,
  maxDepth: number,
): InputProblem | undefined {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return undefined;
    case 'number':
      return Number.isFinite(value)
        ? undefined
        : { field: path, message: 'must be a finite number' };
    case 'object': {
      if (value === null) return undefined;
      if (depth >= maxDepth)
        return { field: path, message: `nests deeper than ${maxDepth} levels` };
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) {
          const problem = checkValue(value[i], `${path}[${i}]`, depth + 1, maxDepth);
          if (problem) return problem;
        }
        return undefined;
      }
      if (!isPlainObject(value)) return { field: path, message: 'must be plain JSON' };
      for (const name of Object.keys(value)) {
        const field = path === 'input' ? name : `${path}.${name}`;
        if (!isValidInputName(name)) {
          return {
            field: path === 'input' ? 'input' : path,
            message: `has an invalid input name ${JSON.stringify(name.slice(0, 100))}`,
          };
        }
        const problem = checkValue(value[name], field, depth + 1, maxDepth);
        if (problem) return problem;
      }
      return undefined;
    }
    default:
      return {
        field: path,
        message: `has a value of type ${typeof value}, which JSON cannot carry`,
      };
  }
}

/** A client-chosen name (an input's, a flow's), quoted and cut short enough to echo in a message. */
export function quoteName(name: string): string {
  return JSON.stringify(name.length > 60 ? `${name.slice(0, 60)}…` : name);
}
