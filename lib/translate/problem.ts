import type { ValueProblem } from '../errors.js';

/** Raised by a column codec; the table translator adds table, column and key and turns it into a TranslationError. */
export class ValueRejection extends Error {
  constructor(
    readonly problem: ValueProblem,
    message: string,
  ) {
    super(message);
  }
}

export function reject(problem: ValueProblem, message: string): never {
  throw new ValueRejection(problem, message);
}
