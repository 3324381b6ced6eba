import { quoteIdent, quoteLiteral } from './names.js';

/** The one trigger function behind every converted `ON UPDATE CURRENT_TIMESTAMP` column. */
export const ON_UPDATE_FUNCTION = 'dualwrite_on_update_timestamp';

/**
 * Mimics MySQL: the listed columns (trigger arguments) get the statement time only when some *other*
 * column changed and the statement did not change the listed column itself. No-op updates leave the row
 * alone (a plain `NEW.col = now()` trigger would not). Writes of dualwrite's Syncer (`dualwrite.sync` = 1)
 * are copies of the other database's row and are never altered.
 */
export function onUpdateFunctionDdl(): string {
  return `CREATE OR REPLACE FUNCTION ${quoteIdent(ON_UPDATE_FUNCTION)}() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
  col text;
  new_row jsonb := to_jsonb(NEW);
  old_row jsonb := to_jsonb(OLD);
  typ oid;
  stamp jsonb;
BEGIN
  IF coalesce(current_setting('dualwrite.sync', true), '') = '1' THEN
    RETURN NEW;
  END IF;
  FOREACH col IN ARRAY TG_ARGV LOOP
    new_row := new_row - col;
    old_row := old_row - col;
  END LOOP;
  IF new_row IS NOT DISTINCT FROM old_row THEN
    RETURN NEW;
  END IF;
  FOREACH col IN ARRAY TG_ARGV LOOP
    IF (to_jsonb(NEW) -> col) IS NOT DISTINCT FROM (to_jsonb(OLD) -> col) THEN
      SELECT atttypid INTO typ FROM pg_attribute WHERE attrelid = TG_RELID AND attname = col;
      stamp := CASE WHEN typ = 'timestamptz'::regtype THEN to_jsonb(statement_timestamp())
                    ELSE to_jsonb(statement_timestamp() AT TIME ZONE 'UTC') END;
      NEW := jsonb_populate_record(NEW, jsonb_build_object(col, stamp));
    END IF;
  END LOOP;
  RETURN NEW;
END
$fn$`;
}

export function onUpdateTriggerDdl(table: string, triggerName: string, columns: readonly string[]): string {
  return `CREATE TRIGGER ${quoteIdent(triggerName)} BEFORE UPDATE ON ${quoteIdent(table)} FOR EACH ROW EXECUTE FUNCTION ${quoteIdent(ON_UPDATE_FUNCTION)}(${columns.map(quoteLiteral).join(', ')})`;
}
