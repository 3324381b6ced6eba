/**
 * PostgreSQL errors as the MySQL errors an app written for MySQL catches (mysql2's `code`, `errno`,
 * `sqlState`, `sqlMessage`), the original kept as `cause`. Unknown ones pass unchanged.
 */
interface PgError extends Error {
  code?: string;
  detail?: string;
  column?: string;
  table?: string;
  constraint?: string;
}

export interface MysqlErrorNames {
  /** MySQL database name (messages name `db.table`). */
  database: string;
  /** MySQL 8 names keys `table.key`, MariaDB just `key`. */
  qualifiedKeys: boolean;
}

function mysqlError(code: string, errno: number, sqlState: string, sqlMessage: string, cause: Error): Error {
  const e = new Error(sqlMessage, { cause }) as Error & Record<string, unknown>;
  e['code'] = code;
  e['errno'] = errno;
  e['sqlState'] = sqlState;
  e['sqlMessage'] = sqlMessage;
  return e;
}

/** `Key (email)=(bob@example.com) already exists.` → the value; `people_people_email` → `people_email`. */
function duplicate(err: PgError, names: MysqlErrorNames): string {
  const value = /=\((.*)\) already exists/s.exec(err.detail ?? '')?.[1] ?? '';
  const table = err.table ?? '';
  let key = err.constraint ?? '';
  if (key === `${table}_pkey`) key = 'PRIMARY';
  else if (key.startsWith(`${table}_`)) key = key.slice(table.length + 1);
  return `Duplicate entry '${value}' for key '${names.qualifiedKeys && table ? `${table}.${key}` : key}'`;
}

export function asMysqlError(error: unknown, names: MysqlErrorNames): unknown {
  const err = error as PgError;
  if (!(error instanceof Error) || typeof err.code !== 'string' || err.code.length !== 5) return error;
  const m = (code: string, errno: number, state: string, message: string): Error =>
    mysqlError(code, errno, state, message, err);
  switch (err.code) {
    case '23505':
      return m('ER_DUP_ENTRY', 1062, '23000', duplicate(err, names));
    case '23502':
      return m('ER_BAD_NULL_ERROR', 1048, '23000', `Column '${err.column ?? ''}' cannot be null`);
    case '23503':
      return /still referenced/.test(err.detail ?? '')
        ? m(
            'ER_ROW_IS_REFERENCED_2',
            1451,
            '23000',
            `Cannot delete or update a parent row: a foreign key constraint fails (${err.constraint ?? ''})`,
          )
        : m(
            'ER_NO_REFERENCED_ROW_2',
            1452,
            '23000',
            `Cannot add or update a child row: a foreign key constraint fails (${err.constraint ?? ''})`,
          );
    case '22001':
      return m('ER_DATA_TOO_LONG', 1406, '22001', `Data too long for column '${err.column ?? ''}' at row 1`);
    case '22P02':
      return /enum/.test(err.message)
        ? m('WARN_DATA_TRUNCATED', 1265, '01000', `Data truncated for column '${err.column ?? ''}' at row 1`)
        : m('ER_TRUNCATED_WRONG_VALUE_FOR_FIELD', 1366, 'HY000', err.message);
    case '22003':
      return m('ER_WARN_DATA_OUT_OF_RANGE', 1264, '22003', err.message);
    case '22007':
    case '22008':
      return m('ER_TRUNCATED_WRONG_VALUE', 1292, '22007', err.message);
    case '22012':
      return m('ER_DIVISION_BY_ZERO', 1365, '22012', 'Division by 0');
    case '23514':
      return m(
        'ER_CHECK_CONSTRAINT_VIOLATED',
        3819,
        'HY000',
        `Check constraint '${err.constraint ?? ''}' is violated.`,
      );
    case '42703': {
      const column =
        /column "?([^"\s]+)"? (?:of relation "[^"]+" )?does not exist/.exec(err.message)?.[1] ?? '';
      return m(
        'ER_BAD_FIELD_ERROR',
        1054,
        '42S22',
        `Unknown column '${column.split('.').pop() ?? column}' in 'field list'`,
      );
    }
    case '42P01': {
      const table = /relation "([^"]+)" does not exist/.exec(err.message)?.[1] ?? '';
      return m('ER_NO_SUCH_TABLE', 1146, '42S02', `Table '${names.database}.${table}' doesn't exist`);
    }
    case '42601':
      return m('ER_PARSE_ERROR', 1064, '42000', `You have an error in your SQL syntax: ${err.message}`);
    case '40P01':
      return m(
        'ER_LOCK_DEADLOCK',
        1213,
        '40001',
        'Deadlock found when trying to get lock; try restarting transaction',
      );
    case '55P03':
      return m(
        'ER_LOCK_WAIT_TIMEOUT',
        1205,
        'HY000',
        'Lock wait timeout exceeded; try restarting transaction',
      );
    default:
      return error;
  }
}

/**
 * A value the app wrote that PostgreSQL cannot hold, found before the write (the translator's
 * TranslationError), as the error MySQL gives for the same value in strict mode. Problems MySQL
 * accepts (it holds what PostgreSQL cannot: NUL bytes, zero dates off strict mode...) keep
 * dualwrite's typed error.
 */
export function valueErrorAsMysql(error: unknown): unknown {
  const e = error as { problem?: string; column?: string; value?: unknown } & Error;
  if (!(error instanceof Error) || typeof e.problem !== 'string') return error;
  const column = e.column ?? '';
  const value = typeof e.value === 'string' ? e.value : String(e.value);
  switch (e.problem) {
    case 'string_too_long':
      return mysqlError(
        'ER_DATA_TOO_LONG',
        1406,
        '22001',
        `Data too long for column '${column}' at row 1`,
        e,
      );
    case 'invalid_enum_value':
      return mysqlError(
        'WARN_DATA_TRUNCATED',
        1265,
        '01000',
        `Data truncated for column '${column}' at row 1`,
        e,
      );
    case 'zero_date':
      return mysqlError(
        'ER_TRUNCATED_WRONG_VALUE',
        1292,
        '22007',
        `Incorrect date value: '${value}' for column '${column}' at row 1`,
        e,
      );
    case 'number_out_of_range':
      return mysqlError(
        'ER_WARN_DATA_OUT_OF_RANGE',
        1264,
        '22003',
        `Out of range value for column '${column}' at row 1`,
        e,
      );
    case 'invalid_value':
      return /^-?[\d.]*$/.test(value)
        ? error
        : mysqlError(
            'ER_TRUNCATED_WRONG_VALUE_FOR_FIELD',
            1366,
            'HY000',
            `Incorrect integer value: '${value}' for column '${column}' at row 1`,
            e,
          );
    default:
      return error;
  }
}
