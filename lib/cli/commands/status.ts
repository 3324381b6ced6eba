import Table from 'cli-table3';
import type { Command } from 'commander';
import { readStatus } from '../../handle/status.js';
import { planFor, type Side, type Stage } from '../../stage/stage.js';
import {
  action,
  configFromOptions,
  ExitCode,
  output,
  withGlobalOptions,
  type GlobalOptions,
} from '../common.js';
import { withConnections } from '../connections.js';

/** `dualwrite status`: stage, outbox backlog and lag, reachability of both sides, quarantine count. */
export function registerStatus(program: Command): void {
  withGlobalOptions(
    program
      .command('status')
      .description('stage, outbox backlog and lag, breaker/reachability, quarantine count'),
  ).action(
    action(async (options: GlobalOptions) => {
      const config = configFromOptions(options);
      const result = await withConnections(config, async (knex) => {
        const reachable = async (side: Side): Promise<string> =>
          knex[side].raw('SELECT 1').then(
            () => 'reachable',
            () => 'unreachable',
          );
        const [mysql, postgres] = await Promise.all([reachable('mysql'), reachable('postgres')]);
        // The breakers live in the app processes; from here a probe tells whether each side answers.
        return readStatus({
          knex,
          plan: planFor(config.stage as Stage),
          breakerState: (side) => (side === 'mysql' ? mysql : postgres),
        });
      });
      output(options, result, (r) => {
        const table = new Table({
          head: ['stage', 'authoritative', 'backlog', 'lag ms', 'mysql', 'postgres', 'quarantined'],
        });
        table.push([
          r.stage,
          r.authoritative,
          r.backlog,
          r.lagMs,
          r.breaker.mysql,
          r.breaker.postgres,
          r.quarantined,
        ]);
        process.stdout.write(`${table.toString()}\n`);
        if (r.instances && r.instances.length > 0) {
          const inst = new Table({
            head: ['instance', 'host', 'pid', 'stage', 'holding for', 'heartbeat ms ago'],
          });
          for (const i of r.instances) inst.push([i.id, i.host, i.pid, i.stage, i.holdingFor ?? '', i.ageMs]);
          process.stdout.write(`${inst.toString()}\n`);
        }
      });
      return ExitCode.Ok;
    }),
  );
}
