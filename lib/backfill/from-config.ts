import type { DualWriteConfig } from '../config/schema.js';
import { introspectMysql } from '../dialect/mysql/introspect.js';
import { createMysqlKnex } from '../dialect/mysql/connection.js';
import { createPostgresKnex } from '../dialect/postgres/connection.js';
import { introspectPostgres } from '../dialect/postgres/introspect.js';
import { isStage, planFor } from '../stage/stage.js';
import { buildTranslators } from '../translate/build.js';
import { backfill } from './backfill.js';
import type { BackfillOptions, BackfillResult } from './types.js';

/** BackfillOptions a caller sets on top of a config (connections, schemas and translators come from it). */
export type BackfillRunOptions = Omit<
  BackfillOptions,
  'mysql' | 'postgres' | 'translators' | 'sourceSchema' | 'exclude' | 'syncer'
>;

/**
 * Backfill driven by a dualwrite config: opens both databases, introspects them, builds the translators
 * (with the config's column overrides), copies from the stage's authoritative side unless `from` is given,
 * leaves out tables the config excludes, and closes the connections.
 */
export async function backfillFromConfig(
  config: Readonly<DualWriteConfig>,
  options: BackfillRunOptions = {},
): Promise<BackfillResult> {
  const mysql = createMysqlKnex({
    url: config.mysql.url,
    pool: { max: config.mysql.poolMax },
    timeouts: config.mysql.timeouts,
  });
  const postgres = createPostgresKnex({
    url: config.postgres.url,
    pool: { max: config.postgres.poolMax },
    timeouts: config.postgres.timeouts,
  });
  try {
    const [mysqlSchema, pgSchema] = await Promise.all([introspectMysql(mysql), introspectPostgres(postgres)]);
    const from = options.from ?? (isStage(config.stage) ? planFor(config.stage).authoritative : 'mysql');
    return await backfill({
      ...options,
      from,
      mysql,
      postgres,
      translators: buildTranslators(mysqlSchema, pgSchema, config),
      sourceSchema: from === 'mysql' ? mysqlSchema : pgSchema,
      exclude: Object.entries(config.tables)
        .filter(([, t]) => t.exclude)
        .map(([name]) => name),
    });
  } finally {
    await Promise.all([mysql.destroy(), postgres.destroy()]);
  }
}
