/** Stable error codes. Callers switch on `code`, never on messages. */
export const ErrorCode = {
  /** Options or configuration are invalid. */
  InvalidConfig: 'DW_INVALID_CONFIG',
  /** A value cannot be held by the target database (NUL byte, bad UUID, zero date, out of range...). */
  UnrepresentableValue: 'DW_UNREPRESENTABLE_VALUE',
  /** A write cannot be captured (raw write without table/keys, no primary key). */
  UncapturedWrite: 'DW_UNCAPTURED_WRITE',
  /** A table has no primary key, so rows cannot be synced or compared by key. */
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
  /** The database user lacks a privilege an operation needs (the message names it and the remedy). */
  MissingPrivilege: 'DW_MISSING_PRIVILEGE',
  /** The handle was used after close(). */
  Closed: 'DW_CLOSED',
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

export function isDualWriteError(error: unknown): error is DualWriteError {
  return error instanceof DualWriteError;
}
