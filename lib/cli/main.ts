import { Command, CommanderError } from 'commander';
import { ExitCode } from './common.js';
import { registerCommands } from './commands/index.js';

const program = new Command()
  .name('dualwrite')
  .description('Move a live application from MySQL to PostgreSQL with no maintenance window.')
  .exitOverride()
  .configureOutput({ writeErr: (s) => process.stderr.write(s) });

registerCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    process.exitCode = error.exitCode === 0 ? ExitCode.Ok : ExitCode.Usage;
  } else {
    process.stderr.write(`dualwrite: ${(error as Error).message}\n`);
    process.exitCode = ExitCode.Usage;
  }
}
