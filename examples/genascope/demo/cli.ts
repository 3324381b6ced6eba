import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);
const BIN = fileURLToPath(new URL('../../../bin/dualwrite.js', import.meta.url));

/** Runs `dualwrite <args> --json` as an operator would; exit 1 (a problem found) still answers JSON. */
export async function runCli<T>(args: string[]): Promise<T> {
  // The config file is the whole truth here: overrides from the environment would point elsewhere.
  const env = { ...process.env };
  for (const name of ['DUALWRITE_STAGE', 'MYSQL_URL', 'PG_URL']) delete env[name];
  const { stdout } = await execFileAsync(process.execPath, [BIN, ...args, '--json'], { env }).catch(
    (error: { stdout?: string }) => {
      if (error.stdout) return { stdout: error.stdout };
      throw error;
    },
  );
  return JSON.parse(stdout) as T;
}
