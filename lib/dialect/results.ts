import type { Side } from '../stage/stage.js';
import type { DriverResult } from './fields.js';
import { driverResult as mysqlResult } from './mysql/fields.js';
import { driverResult as postgresResult } from './postgres/fields.js';

/** Each side's reader of a driver response (rows and field metadata). */
export const driverResult: Readonly<Record<Side, (response: unknown) => DriverResult>> = {
  mysql: mysqlResult,
  postgres: postgresResult,
};
