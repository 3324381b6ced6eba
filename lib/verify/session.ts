import type { Knex } from 'knex';
import type { DualWriteConfig } from '../config/schema.js';
import { introspectMysql } from '../dialect/mysql/introspect.js';
import { createMysqlKnex } from '../dialect/mysql/connection.js';
import { introspectPostgres } from '../dialect/postgres/introspect.js';
import { createPostgresKnex } from '../dialect/postgres/connection.js';
import { initMetaTables } from '../meta/init.js';
import type { DatabaseSchema } from '../schema/model.js';
import { buildTranslators } from '../translate/build.js';
import type { TranslatorSet } from '../translate/types.js';

export interface VerifySession {
  mysql: Knex;
  postgres: Knex;
  schemas: { mysql: DatabaseSchema; postgres: DatabaseSchema };
  translators: TranslatorSet;
  close(): Promise<void>;
}

/**
 * Connects to both databases, makes sure dualwrite's own tables exist (checkpoints and `verify.last`
 * live in dualwrite_state) and builds the translators from both introspected schemas.
 */
export async function openVerifySession(config: Readonly<DualWriteConfig>): Promise<VerifySession> {
  const mysql = createMysqlKnex({ url: config.mysql.url, pool: { max: config.mysql.poolMax } });
  const postgres = createPostgresKnex({ url: config.postgres.url, pool: { max: config.postgres.poolMax } });
  const close = async (): Promise<void> => {
    await Promise.all([mysql.destroy(), postgres.destroy()]);
  };
  try {
    await initMetaTables(mysql, postgres);
    const schemas = { mysql: await introspectMysql(mysql), postgres: await introspectPostgres(postgres) };
    const translators = buildTranslators(schemas.mysql, schemas.postgres, config);
    return { mysql, postgres, schemas, translators, close };
  } catch (error) {
    await close();
    throw error;
  }
}
