import { validateConfig } from '../../lib/config/load.js';
import type { DatabaseSchema } from '../../lib/schema/model.js';
import type { TranslatorSet } from '../../lib/translate/types.js';
import type { VerifyOptions } from '../../lib/verify/verify.js';
import type { TestDatabases } from '../support/databases.js';

export interface VerifyFixture {
  dbs: TestDatabases;
  /** Report directory. */
  dir: string;
  translators: TranslatorSet;
  schemas: { mysql: DatabaseSchema; postgres: DatabaseSchema };
}

/**
 * Verify options for a test's databases: stage shadow, reports in `dir`, short re-check waits;
 * `config` is merged over that (its `verify` and `shadow` sections key by key).
 */
export function verifyOptions(
  fixture: VerifyFixture,
  config: { verify?: object; shadow?: object; tables?: object } = {},
  extra: Partial<VerifyOptions> = {},
): VerifyOptions {
  const { dbs } = fixture;
  return {
    config: validateConfig({
      ...config,
      stage: 'shadow',
      mysql: { url: dbs.mysqlUrl },
      postgres: { url: dbs.pgUrl },
      verify: { reportDir: fixture.dir, ...config.verify },
      shadow: { recheckTimeoutMs: 2000, recheckIntervalMs: 50, ...config.shadow },
    }),
    mysql: dbs.mysql,
    postgres: dbs.pg,
    translators: fixture.translators,
    schemas: fixture.schemas,
    ...extra,
  };
}
