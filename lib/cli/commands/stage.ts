import type { Command } from 'commander';
import { introspectMysql } from '../../dialect/mysql/introspect.js';
import { introspectPostgres } from '../../dialect/postgres/introspect.js';
import { writeState } from '../../report/state.js';
import { flipChecks } from '../../stage/checks.js';
import { writeStageToFile } from '../../stage/config-file.js';
import { chooseSyncKey } from '../../schema/sync-key.js';
import { isStage, planFor, STAGES, type Stage } from '../../stage/stage.js';
import { StateName } from '../../stage/state.js';
import {
  action,
  configFromOptions,
  ExitCode,
  output,
  UsageError,
  withGlobalOptions,
  type GlobalOptions,
} from '../common.js';
import { withConnections } from '../connections.js';

interface StageOptions extends GlobalOptions {
  force?: boolean;
}

/** How long a `--force` authorises the running handles to skip the flip checks. */
const FORCE_WINDOW_MS = 5 * 60_000;

/**
 * `dualwrite stage [<new-stage>] [--force]`: prints the stage, or writes a new one into the config file
 * (running handles pick it up and flip through the fence). A flip that moves the authoritative role is
 * checked first and refused (exit 1) when unsafe, unless --force.
 */
export function registerStage(program: Command): void {
  withGlobalOptions(
    program
      .command('stage [new-stage]')
      .alias('flip')
      .description(`print the stage, or set it in the config file (${STAGES.join(' | ')})`)
      .option('--force', 'flip even when the safety checks refuse'),
  ).action(
    action(async (newStage: string | undefined, options: StageOptions) => {
      const config = configFromOptions(options);
      const current = config.stage as Stage;
      if (newStage === undefined) {
        output(options, { stage: current, plan: planFor(current) }, () =>
          process.stdout.write(`${current}\n`),
        );
        return ExitCode.Ok;
      }
      if (!isStage(newStage))
        throw new UsageError(`unknown stage '${newStage}' (one of ${STAGES.join(', ')})`);
      if (!options.config)
        throw new UsageError('setting the stage needs --config <file> (the file running apps watch)');
      if (process.env['DUALWRITE_STAGE']) {
        process.stderr.write(
          'dualwrite: warning: DUALWRITE_STAGE is set and overrides the file for processes that see it\n',
        );
      }
      const moves = planFor(current).authoritative !== planFor(newStage).authoritative;
      let reasons: string[] = [];
      if (moves) {
        reasons = await withConnections(config, async (knex) => {
          const [m, p] = await Promise.all([introspectMysql(knex.mysql), introspectPostgres(knex.postgres)]);
          const pgNames = new Set(p.tables.map((t) => t.name));
          const tables = m.tables
            .filter(
              (t) =>
                pgNames.has(t.name) &&
                chooseSyncKey(t, config.tables[t.name]?.key) !== null &&
                !t.name.startsWith('dualwrite_'),
            )
            .filter((t) => !config.tables[t.name]?.exclude)
            .map((t) => t.name);
          const check = await flipChecks({ knex, config, tables, from: current, to: newStage });
          if (check.reasons.length > 0 && options.force) {
            await writeState(knex.postgres, StateName.flipForce, {
              to: newStage,
              until: Date.now() + FORCE_WINDOW_MS,
            });
          }
          return check.reasons;
        });
      }
      const refused = reasons.length > 0 && !options.force;
      if (!refused) writeStageToFile(options.config, newStage);
      const result = {
        from: current,
        to: newStage,
        moved: moves,
        refused,
        forced: Boolean(options.force) && reasons.length > 0,
        reasons,
      };
      output(options, result, (r) => {
        if (r.refused) {
          process.stdout.write(
            `flip ${r.from} → ${r.to} refused:\n${r.reasons.map((x) => `  - ${x}`).join('\n')}\n(use --force to flip anyway)\n`,
          );
        } else {
          process.stdout.write(
            `stage ${r.from} → ${r.to} written to ${options.config}${r.forced ? ' (forced)' : ''}\n`,
          );
        }
      });
      return refused ? ExitCode.Problem : ExitCode.Ok;
    }),
  );
}
