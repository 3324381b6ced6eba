import type { Knex } from 'knex';
import { runStatement, type StatementWrap } from '../handle/statement-context.js';
import type { ShapeHints } from '../shape/pg-rows.js';

/** What running the app's own statement gave: knex's answer to the app, and the driver's raw response. */
export interface AppStatementResult {
  result: unknown;
  response: unknown;
}

/**
 * Runs the app's statement (its knex builder or raw) through knex's own runner, marked as the app's:
 * knex answers it exactly as it would have, its events reach the app, and the driver's raw response
 * (generated ids, rows returned for the outbox) is kept for capture.
 */
export async function appStatement(
  statement: Knex.QueryBuilder | Knex.Raw,
  wrap?: StatementWrap,
  hints?: ShapeHints,
): Promise<AppStatementResult> {
  const { value, context } = await runStatement('app', () => statement, wrap, hints);
  return { result: value, response: context.response };
}

/** A typeCast that leaves mysql2's own conversion in place of the app's (keys read back must be plain). */
const plainTypeCast = (_field: unknown, next: () => unknown): unknown => next();

/**
 * Rows of one of dualwrite's own reads (key look-ups) on an app connection, from the driver's response:
 * the app's postProcessResponse and typeCast never reshape them.
 */
export async function internalRows(
  select: Knex.QueryBuilder,
  side: 'mysql' | 'postgres',
): Promise<Record<string, unknown>[]> {
  if (side === 'mysql') select.options({ typeCast: plainTypeCast });
  const { context } = await runStatement('internal', () => select);
  const response = context.response;
  if (side === 'mysql') return (Array.isArray(response) ? response[0] : []) as Record<string, unknown>[];
  return (response as { rows?: Record<string, unknown>[] } | undefined)?.rows ?? [];
}

/** Rows of one of dualwrite's own raw reads on an app connection (MySQL `[rows, fields]` or pg's result). */
export async function internalRawRows(raw: Knex.Raw): Promise<Record<string, unknown>[]> {
  raw.options({ typeCast: plainTypeCast });
  const { context } = await runStatement('internal', () => raw);
  const response = context.response;
  if (Array.isArray(response)) return (response[0] ?? []) as Record<string, unknown>[];
  return (response as { rows?: Record<string, unknown>[] } | undefined)?.rows ?? [];
}
