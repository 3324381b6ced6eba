import { DualWriteError, ErrorCode } from '../../errors.js';

/** ER_BINLOG_CREATE_ROUTINE_NEED_SUPER: binary logging is on and the user may not create triggers. */
const NEED_SUPER_WITH_BINLOG = 1419;

/**
 * The typed error for a trigger MySQL refused to create because binary logging is on (the rule that
 * stored programs need SUPER unless `log_bin_trust_function_creators` is set); undefined for others.
 */
export function triggerPrivilegeError(error: unknown, table: string): DualWriteError | undefined {
  if ((error as { errno?: unknown } | null)?.errno !== NEED_SUPER_WITH_BINLOG) return undefined;
  return new DualWriteError(
    ErrorCode.MissingPrivilege,
    `creating the capture triggers of ${table} was refused: with binary logging on, MySQL lets only ` +
      'users with SUPER (or SET_ANY_DEFINER) create triggers unless the server runs with ' +
      'log_bin_trust_function_creators = 1. Set it (SET GLOBAL log_bin_trust_function_creators = 1, and in ' +
      'the server config), run `dualwrite init --capture triggers` as such a user, or keep capture.mode: adapter.',
    { table, cause: error },
  );
}
