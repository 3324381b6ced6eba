import pino, { type Logger } from 'pino';

/** Paths redacted in every log line: credentials never reach the logs. */
export const REDACT_PATHS = [
  'password',
  '*.password',
  'url',
  '*.url',
  'mysqlUrl',
  'pgUrl',
  'connection.password',
  '*.connection.password',
  'api_key',
  '*.api_key',
  'hashed_password',
  '*.hashed_password',
];

/** The logger used when the caller injects none: JSON to stderr at `info`, credentials redacted. */
export function createDefaultLogger(level: string = process.env['DUALWRITE_LOG_LEVEL'] ?? 'info'): Logger {
  return pino({ level, redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, pino.destination(2));
}

/** A logger that writes nothing (tests and quiet CLI runs). */
export function createSilentLogger(): Logger {
  return pino({ level: 'silent' });
}

export type { Logger };
