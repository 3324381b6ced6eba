/** Raw SQL the app wrote for MySQL runs on MySQL as written. */
export function rawSqlFor(sql: string): string {
  return sql;
}
