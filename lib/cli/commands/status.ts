import Table from 'cli-table3';
import type { Command } from 'commander';
import { readStatus } from '../../handle/status.js';
import { readAuthority } from '../../stage/authority.js';
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
        const authority = await readAuthority(knex).catch(() => null);
        // The breakers live in the app processes; from here a probe tells whether each side answers.
        // The stage the databases hold (the file may say another one not applied yet).
        const inForce = (['mysql', 'postgres'] as const)
          .map((side) => ({ side, row: authority?.[side] }))
          .find((a) => a.row?.state === 'writable')?.row?.stage;
        return readStatus({
          knex,
          plan: planFor(inForce ?? (config.stage as Stage)),
          breakerState: (side) => (side === 'mysql' ? mysql : postgres),
          configStage: config.stage as Stage,
        });
      });
      output(options, result, (r) => {
        const table = new Table({
          head: ['stage (file)', 'stage (databases)', 'authoritative', 'mysql', 'postgres', 'quarantined'],
        });
        table.push([
          r.configStage,
          r.stage,
          r.authoritative,
          r.breaker.mysql,
          r.breaker.postgres,
          r.quarantined,
        ]);
        process.stdout.write(`${table.toString()}\n`);
        const outboxes = new Table({ head: ['outbox', 'rows', 'oldest row age ms', 'authority'] });
        for (const side of ['mysql', 'postgres'] as const) {
          const o = r.outboxes[side];
          const a = r.authority?.[side];
          outboxes.push([
            side,
            o?.backlog ?? 'unreadable',
            o?.oldestAgeMs ?? '',
            a ? `${a.state}${a.stage ? ` (${a.stage})` : ''}` : '',
          ]);
        }
        process.stdout.write(`${outboxes.toString()}\n`);
        if (r.instances && r.instances.length > 0) {
          const inst = new Table({
            head: ['instance', 'host', 'pid', 'stage', 'holding for', 'heartbeat ms ago'],
          });
          for (const i of r.instances) inst.push([i.id, i.host, i.pid, i.stage, i.holdingFor ?? '', i.ageMs]);
          process.stdout.write(`${inst.toString()}\n`);
        }
        for (const d of r.disagreements)
          process.stdout.write(`WARNING: does not agree with the file (${r.configStage}): ${d}\n`);
      });
      for (const d of result.disagreements) process.stderr.write(`dualwrite: warning: ${d}\n`);
      return ExitCode.Ok;
    }),
  );
}
