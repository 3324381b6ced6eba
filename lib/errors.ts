/** Stable error codes. Callers switch on `code`, never on messages. */
export const ErrorCode = {
  /** Options or configuration are invalid. */
  InvalidConfig: 'DW_INVALID_CONFIG',
  /** A value cannot be held by the target database (NUL byte, bad UUID, zero date, out of range...). */
  UnrepresentableValue: 'DW_UNREPRESENTABLE_VALUE',
  /** A write cannot be captured (raw write without table/keys, no primary key). */
  UncapturedWrite: 'DW_UNCAPTURED_WRITE',
  /** A table has no key to sync rows by: no primary key, no NOT NULL unique key, none declared (`tables.<name>.key`). */
  NoPrimaryKey: 'DW_NO_PRIMARY_KEY',
  /** A table or column is unknown to the introspected schema. */
  UnknownTable: 'DW_UNKNOWN_TABLE',
  /** A stage flip was refused by a safety check. */
  FlipRefused: 'DW_FLIP_REFUSED',
  /** A sync of keys failed after its retries. */
  SyncFailed: 'DW_SYNC_FAILED',
  /** The secondary database is unavailable (breaker open). */
  SecondaryUnavailable: 'DW_SECONDARY_UNAVAILABLE',
  /** Schema conversion found something it cannot convert. */
  SchemaConversion: 'DW_SCHEMA_CONVERSION',
  /** A knex feature the handle cannot offer safely (it would bypass capture), refused before it runs. */
  Unsupported: 'DW_UNSUPPORTED',
  /** The database user lacks a privilege an operation needs (the message names it and the remedy). */
  MissingPrivilege: 'DW_MISSING_PRIVILEGE',
  /** The handle was used after close(). */
  Closed: 'DW_CLOSED',
  /** A statement over a set of keys failed; the message names table, operation and keys. */
  KeyQueryFailed: 'DW_KEY_QUERY_FAILED',
  /**
   * No database takes writes now: the authoritative role is moving and did not settle within the
   * bound. Nothing of the write was applied; it can be retried.
   */
  NotAuthoritative: 'DW_NOT_AUTHORITATIVE',
  /** A database did not answer within its timeout (the connection was closed and replaced). */
  Timeout: 'DW_TIMEOUT',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export interface DualWriteErrorDetails {
  table?: string;
  column?: string;
  /** Primary key of the row involved, in primary-key column order. */
  key?: readonly unknown[];
  /** The offending value (already redacted when the column is sensitive). */
  value?: unknown;
  cause?: unknown;
}

/** Base class of every error dualwrite throws on purpose. */
export class DualWriteError extends Error {
  readonly code: ErrorCode;
  readonly table: string | undefined;
  readonly column: string | undefined;
  readonly key: readonly unknown[] | undefined;
  readonly value: unknown;

  constructor(code: ErrorCode, message: string, details: DualWriteErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = new.target.name;
    this.code = code;
    this.table = details.table;
    this.column = details.column;
    this.key = details.key;
    this.value = details.value;
  }
}

export class ConfigError extends DualWriteError {
  constructor(message: string, details: DualWriteErrorDetails = {}) {
    super(ErrorCode.InvalidConfig, message, details);
  }
}

/** Reason codes for values one side cannot hold. Stable: they are stored in the quarantine table. */
export const ValueProblem = {
  NulByte: 'nul_byte',
  InvalidUuid: 'invalid_uuid',
  ZeroDate: 'zero_date',
  DateOutOfRange: 'date_out_of_range',
  NumberOutOfRange: 'number_out_of_range',
  InvalidJson: 'invalid_json',
  JsonNulEscape: 'json_nul_escape',
  InvalidEnumValue: 'invalid_enum_value',
  StringTooLong: 'string_too_long',
  InvalidValue: 'invalid_value',
} as const;
export type ValueProblem = (typeof ValueProblem)[keyof typeof ValueProblem];

export class TranslationError extends DualWriteError {
  readonly problem: ValueProblem;
  constructor(problem: ValueProblem, message: string, details: DualWriteErrorDetails = {}) {
    super(ErrorCode.UnrepresentableValue, message, details);
    this.problem = problem;
  }
}

/**
 * A database statement over a set of keys failed (reading, looking up, writing or deleting rows of a
 * table by key). The message names the table, the operation and the keys (first and last), and the
 * database's own message; the statement itself appears cut to a readable length. The driver's error
 * is the `cause` (its code is `sqlState`).
 */
export class KeyQueryError extends DualWriteError {
  readonly operation: string;
  readonly sqlState: string | undefined;
  constructor(
    message: string,
    details: DualWriteErrorDetails & { operation: string; sqlState: string | undefined },
  ) {
    super(ErrorCode.KeyQueryFailed, message, details);
    this.operation = details.operation;
    this.sqlState = details.sqlState;
  }
}

export function isDualWriteError(error: unknown): error is DualWriteError {
  return error instanceof DualWriteError;
}
