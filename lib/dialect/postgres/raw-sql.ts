/**
 * Raw SQL the app wrote for MySQL, made to run on PostgreSQL where only the quoting differs:
 * backtick-quoted identifiers become double-quoted ones (string literals and comments untouched).
 * Other MySQL-only syntax is left as it is (see README, differences after the flip).
 */
export function rawSqlFor(sql: string): string {
  if (!sql.includes('`')) return sql;
  let out = '';
  let i = 0;
  while (i < sql.length) {
    const ch = sql[i] as string;
    if (ch === "'" || ch === '"') {
      // A string literal (MySQL): copied as is, escapes and doubled quotes included.
      let j = i + 1;
      while (j < sql.length && sql[j] !== ch) j += sql[j] === '\\' ? 2 : 1;
      if (sql[j + 1] === ch) {
        out += sql.slice(i, j + 2);
        i = j + 2;
        continue;
      }
      out += sql.slice(i, j + 1);
      i = j + 1;
    } else if (ch === '`') {
      let j = i + 1;
      let name = '';
      while (j < sql.length) {
        if (sql[j] === '`' && sql[j + 1] === '`') {
          name += '`';
          j += 2;
        } else if (sql[j] === '`') break;
        else name += sql[j++];
      }
      out += `"${name.replace(/"/g, '""')}"`;
      i = j + 1;
    } else if (ch === '-' && sql[i + 1] === '-') {
      const end = sql.indexOf('\n', i);
      const stop = end < 0 ? sql.length : end;
      out += sql.slice(i, stop);
      i = stop;
    } else {
      out += ch;
      i++;
    }
  }
  return out;
}
