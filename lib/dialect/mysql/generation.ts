/**
 * A generated column's expression as SQL MySQL runs again. MySQL 8+ reports GENERATION_EXPRESSION with
 * every quote of a string literal escaped (`_utf8mb4\'$._id\'`); MariaDB reports it as written.
 */
export function generationSql(reported: string): string {
  const escaped = (reported.match(/\\'/g) ?? []).length;
  const quotes = (reported.match(/'/g) ?? []).length;
  return escaped > 0 && escaped === quotes ? reported.replace(/\\'/g, "'") : reported;
}
