import { DIALECTS } from '../dialect/dialects.js';

/** Error codes that mean "the database could not be reached or went away", not "the data is wrong". */
const UNAVAILABLE_CODES = new Set([
  ...DIALECTS.mysql.errors.unavailableCodes,
  ...DIALECTS.postgres.errors.unavailableCodes,
  // Node's and the breaker's own.
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EOPENBREAKER',
  'ESHUTDOWN',
]);

const UNAVAILABLE_MESSAGES = [
  /Connection terminated/i,
  /Timeout acquiring a connection/i,
  /connect ECONNREFUSED/i,
  /Connection lost/i,
  /read ECONNRESET/i,
  /Client has encountered a connection error/i,
];

/**
 * True when an error means the target is unreachable or overloaded. Such failures open the breaker and
 * leave the keys in the outbox without counting an attempt — an outage must never quarantine keys.
 */
export function isUnavailable(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e && depth < 4; depth++) {
    const { code, message, cause } = e as { code?: unknown; message?: unknown; cause?: unknown };
    if (typeof code === 'string' && UNAVAILABLE_CODES.has(code)) return true;
    if (typeof message === 'string' && UNAVAILABLE_MESSAGES.some((re) => re.test(message))) return true;
    e = cause;
  }
  return false;
}
