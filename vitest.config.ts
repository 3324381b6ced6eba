import { defineConfig } from 'vitest/config';
import { mysqlSideTargets } from './test/support/targets.js';

// One project per MySQL-side server: the same suite runs against MySQL and MariaDB.
// MYSQL_URL set by the caller replaces both with that one server.
export default defineConfig({
  test: {
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 2,
    projects: mysqlSideTargets().map((target) => ({
      extends: true,
      test: {
        name: target.name,
        include: ['test/**/*.test.ts'],
        globalSetup: ['test/support/global-setup.ts'],
        env: { TZ: 'UTC', MYSQL_URL: target.url, DUALWRITE_TEST_FLAVOUR: target.name },
      },
    })),
  },
});
