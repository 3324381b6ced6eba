import { spawn } from 'node:child_process';
import { createMysqlKnex } from '../../lib/dialect/mysql/connection.js';

/** Longest part of the client's error output kept in an error message. */
const MAX_ERROR_CHARS = 2000;

/** Whether the server refuses statements that mix transactional and non-transactional tables. */
export async function gtidConsistencyEnforced(mysqlUrl: string): Promise<boolean> {
  const knex = createMysqlKnex({ url: mysqlUrl, pool: { max: 1 } });
  try {
    const [rows] = (await knex.raw("SHOW VARIABLES LIKE 'enforce_gtid_consistency'")) as [
      { Value: string }[],
    ];
    return rows[0]?.Value === 'ON';
  } finally {
    await knex.destroy();
  }
}

/**
 * Runs an SQL script with the `mysql` command-line client (scripts with DELIMITER blocks for
 * triggers and procedures need it), as raw bytes into the URL's database.
 */
export async function runMysqlScript(mysqlUrl: string, script: Buffer, label: string): Promise<void> {
  const url = new URL(mysqlUrl);
  const client = process.env['MYSQL_CLIENT'] ?? 'mysql';
  const args = [
    '--no-defaults',
    `-h${url.hostname}`,
    `-P${url.port || '3306'}`,
    `-u${decodeURIComponent(url.username)}`,
    '--default-character-set=binary',
    '--binary-mode',
    url.pathname.replace(/^\//, ''),
  ];
  await new Promise<void>((resolve, reject) => {
    const child = spawn(client, args, {
      stdio: ['pipe', 'ignore', 'pipe'],
      env: { ...process.env, MYSQL_PWD: decodeURIComponent(url.password) },
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      if (stderr.length < 64 * 1024) stderr += d.toString();
    });
    child.on('error', reject);
    child.stdin.on('error', () => undefined); // the client exits on the first error; its stderr says why
    child.on('close', (code) => {
      if (code === 0) return resolve();
      // The client echoes the failing statement: keep its end, where the error is.
      const tail = stderr.length > MAX_ERROR_CHARS ? `…${stderr.slice(-MAX_ERROR_CHARS)}` : stderr;
      reject(new Error(`loading ${label} failed (${client} exit ${code}): ${tail}`));
    });
    child.stdin.end(script);
  });
}
