import type { Knex } from 'knex';
import { META_TABLES } from '../meta/tables.js';
import type { ColumnSchema, TableSchema } from '../schema/model.js';
import { chooseSyncKey } from '../schema/sync-key.js';
import type { Side } from '../stage/stage.js';
import { triggerPrivilegeError } from '../dialect/mysql/privileges.js';

const INTEGER_TYPES = new Set(['tinyint', 'smallint', 'mediumint', 'int', 'integer', 'bigint']);

/** Trigger names are bounded (64 chars on MySQL): a short prefix plus the table name, cut if needed. */
function triggerName(kind: string, table: string): string {
  return `dw_capture_${kind}_${table}`.slice(0, 63);
}

function q(name: string): string {
  return `\`${name.replace(/`/g, '``')}\``;
}

/**
 * MySQL text of the outbox `pk` for a row image (`NEW`/`OLD`), identical to JSON.stringify of the
 * canonical key tuple: integers as numbers, everything else as JSON strings.
 */
function mysqlKeyText(table: TableSchema, ref: 'NEW' | 'OLD'): string {
  const parts = table.primaryKey.map((name) => {
    const col = table.columns.find((c) => c.name === name) as ColumnSchema | undefined;
    const v = `${ref}.${q(name)}`;
    return col && INTEGER_TYPES.has(col.dataType) ? `CAST(${v} AS CHAR)` : `JSON_QUOTE(${v})`;
  });
  return `CONCAT('[', ${parts.join(", ',', ")}, ']')`;
}

function mysqlStatements(table: TableSchema): string[] {
  const t = table.name;
  const insert = (ref: 'NEW' | 'OLD'): string =>
    `INSERT INTO ${META_TABLES.outbox} (table_name, pk) VALUES (${`'${t.replace(/'/g, "''")}'`}, ${mysqlKeyText(table, ref)});`;
  const keyChanged = table.primaryKey.map((c) => `NOT (OLD.${q(c)} <=> NEW.${q(c)})`).join(' OR ');
  // Sessions of the syncer set @dualwrite_sync = 1: their writes are not captured again.
  const skip = 'COALESCE(@dualwrite_sync, 0) <> 1';
  return [
    `DROP TRIGGER IF EXISTS ${q(triggerName('ai', t))}`,
    `DROP TRIGGER IF EXISTS ${q(triggerName('au', t))}`,
    `DROP TRIGGER IF EXISTS ${q(triggerName('ad', t))}`,
    `CREATE TRIGGER ${q(triggerName('ai', t))} AFTER INSERT ON ${q(t)} FOR EACH ROW BEGIN IF ${skip} THEN ${insert('NEW')} END IF; END`,
    `CREATE TRIGGER ${q(triggerName('au', t))} AFTER UPDATE ON ${q(t)} FOR EACH ROW BEGIN IF ${skip} THEN ${insert('NEW')} IF ${keyChanged} THEN ${insert('OLD')} END IF; END IF; END`,
    `CREATE TRIGGER ${q(triggerName('ad', t))} AFTER DELETE ON ${q(t)} FOR EACH ROW BEGIN IF ${skip} THEN ${insert('OLD')} END IF; END`,
  ];
}

/** One generic PL/pgSQL function; each table's trigger passes its key columns as arguments. */
const PG_FUNCTION = `CREATE OR REPLACE FUNCTION dualwrite_capture() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  n jsonb;
  o jsonb;
  nk text;
  ok text;
BEGIN
  -- The syncer's sessions set dualwrite.sync = 1: their writes are not captured again.
  IF coalesce(current_setting('dualwrite.sync', true), '') = '1' THEN RETURN NULL; END IF;
  IF TG_OP <> 'DELETE' THEN
    n := to_jsonb(NEW);
    SELECT '[' || string_agg((n -> c)::text, ',' ORDER BY i) || ']' INTO nk FROM unnest(TG_ARGV) WITH ORDINALITY AS a(c, i);
    INSERT INTO ${META_TABLES.outbox} (table_name, pk) VALUES (TG_TABLE_NAME, nk);
  END IF;
  IF TG_OP <> 'INSERT' THEN
    o := to_jsonb(OLD);
    SELECT '[' || string_agg((o -> c)::text, ',' ORDER BY i) || ']' INTO ok FROM unnest(TG_ARGV) WITH ORDINALITY AS a(c, i);
    IF nk IS DISTINCT FROM ok THEN
      INSERT INTO ${META_TABLES.outbox} (table_name, pk) VALUES (TG_TABLE_NAME, ok);
    END IF;
  END IF;
  RETURN NULL;
END $$`;

function pgIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

function pgLiteral(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

function pgStatements(table: TableSchema): string[] {
  const name = triggerName('row', table.name);
  return [
    `DROP TRIGGER IF EXISTS ${pgIdent(name)} ON ${pgIdent(table.name)}`,
    `CREATE TRIGGER ${pgIdent(name)} AFTER INSERT OR UPDATE OR DELETE ON ${pgIdent(table.name)}
     FOR EACH ROW EXECUTE FUNCTION dualwrite_capture(${table.primaryKey.map(pgLiteral).join(', ')})`,
  ];
}

/**
 * Installs capture triggers on `side` for `tables`: every insert, update and delete of a session not
 * flagged as a sync write records its key in the outbox, in the writing transaction (an update that
 * changes the key records the old key too). The key is the table's sync key (schema/sync-key: the
 * `declared` columns of `tables.<name>.key`, else the primary key, else the first NOT NULL unique key);
 * tables without one get no triggers. Idempotent: triggers are dropped and created again.
 */
export async function installCaptureTriggers(
  knex: Knex,
  side: Side,
  tables: readonly TableSchema[],
  declared: Readonly<Record<string, { key?: readonly string[] | undefined } | undefined>> = {},
): Promise<number> {
  let installed = 0;
  if (side === 'postgres') await knex.raw(PG_FUNCTION);
  for (const t of tables) {
    const key = chooseSyncKey(t, declared[t.name]?.key);
    if (!key || t.name.startsWith('dualwrite_')) continue;
    const table = { ...t, primaryKey: [...key.columns] };
    for (const sql of side === 'mysql' ? mysqlStatements(table) : pgStatements(table)) {
      await knex.raw(sql).catch((error: unknown) => {
        throw triggerPrivilegeError(error, table.name) ?? error;
      });
    }
    installed++;
  }
  return installed;
}

/** Removes the capture triggers of `tables` on `side`. */
export async function dropCaptureTriggers(
  knex: Knex,
  side: Side,
  tables: readonly TableSchema[],
): Promise<void> {
  for (const table of tables) {
    if (side === 'mysql') {
      for (const kind of ['ai', 'au', 'ad'])
        await knex.raw(`DROP TRIGGER IF EXISTS ${q(triggerName(kind, table.name))}`);
    } else {
      await knex.raw(
        `DROP TRIGGER IF EXISTS ${pgIdent(triggerName('row', table.name))} ON ${pgIdent(table.name)}`,
      );
    }
  }
}
