// `npm run demo`: from nothing to a finished MySQL → PostgreSQL migration of the Genascope example,
// narrated step by step. See `npm run demo -- --help`.
import { join, resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Knex } from 'knex';
import { createMysqlKnex } from '../../lib/dialect/mysql/connection.js';
import { createPostgresKnex } from '../../lib/dialect/postgres/connection.js';
import { redactUrl } from '../../lib/dialect/urls.js';
import { buildApp } from './app.js';
import { DemoConfigFile } from './demo/config-file.js';
import { Narrator } from './demo/narrate.js';
import { parseDemoOptions, USAGE, type DemoOptions } from './demo/options.js';
import { createDemoDatabases, dropDemoDatabases, ensureServers, type ServerSession } from './demo/servers.js';
import { emptySummary, writeSummary, type DemoSummary } from './demo/summary.js';
import { createMysqlSchema } from './schema.js';
import { generateSeed, insertSeed, type SeedData } from './seed.js';
import { findLostWrites, TrafficGenerator, worldFromSeed } from './traffic.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

class Demo {
  readonly summary: DemoSummary;
  private servers: ServerSession | undefined;
  private urls: { mysqlUrl: string; pgUrl: string } | undefined;
  private mysql: Knex | undefined;
  private pg: Knex | undefined;
  private app: FastifyInstance | undefined;
  private traffic: TrafficGenerator | undefined;
  private baseUrl = '';
  private data: SeedData | undefined;
  private readonly config: DemoConfigFile;
  private readonly summaryFile: string;

  constructor(
    private readonly options: DemoOptions,
    private readonly n: Narrator,
  ) {
    this.summary = emptySummary(options.database, options.quick);
    this.config = new DemoConfigFile(resolve(options.reportsDir, 'demo', 'dualwrite.yaml'));
    this.summaryFile = resolve(options.reportsDir, 'demo-summary.json');
  }

  async run(): Promise<number> {
    await this.startServers();
    await this.createDatabases();
    await this.loadMysql();
    await this.startApp();
    await this.mysqlOnly();
    await this.finish();
    return this.summary.exitCode;
  }

  private async startServers(): Promise<void> {
    const { mysqlUrl, pgUrl, urlsGiven } = this.options;
    this.n.begin(
      'Database servers',
      '-',
      'MariaDB/MySQL and PostgreSQL 15, local unless MYSQL_URL/PG_URL say otherwise.',
    );
    this.servers = await ensureServers(mysqlUrl, pgUrl, urlsGiven);
    this.n.figure('MySQL', redactUrl(mysqlUrl));
    this.n.figure('PostgreSQL', redactUrl(pgUrl));
    this.n.say(
      this.servers.startedHere
        ? 'started by the demo (stopped at the end)'
        : 'already running (left running)',
    );
    this.n.end('ok', this.servers.startedHere ? 'started by the demo' : 'already running');
  }

  private async createDatabases(): Promise<void> {
    this.n.begin(`Fresh database pair "${this.options.database}"`, '-');
    this.urls = await createDemoDatabases(this.options.mysqlUrl, this.options.pgUrl, this.options.database);
    this.mysql = createMysqlKnex({ url: this.urls.mysqlUrl });
    this.pg = createPostgresKnex({ url: this.urls.pgUrl });
    this.n.say('dropped and created on both servers');
    this.n.end('ok', 'MySQL + PostgreSQL');
  }

  private async loadMysql(): Promise<void> {
    const mysql = this.mysql!;
    this.n.begin(
      'Genascope MySQL-era schema + seed data',
      'mysql-only',
      'VARCHAR(36) UUID keys, TINYINT(1) booleans, JSON, ENUMs, DATETIME with ON UPDATE.',
    );
    await createMysqlSchema(mysql);
    const began = Date.now();
    this.data = generateSeed(this.options.seed);
    const rows = await insertSeed(mysql, this.data);
    this.summary.seedRows = rows;
    this.n.figure('tables', 16);
    this.n.figure('rows seeded', rows);
    this.n.figure('patients', this.data.patients.length);
    this.n.figure('seed time', `${((Date.now() - began) / 1000).toFixed(1)} s`);
    this.n.end('ok', `16 tables, ${rows} rows`);
  }

  private async startApp(): Promise<void> {
    this.config.create({
      stage: 'mysql-only',
      mysql: { url: this.urls!.mysqlUrl },
      postgres: { url: this.urls!.pgUrl },
      shadow: { sampleRate: 1, mismatchLog: join(this.options.reportsDir, 'demo', 'mismatches.jsonl') },
      auditLog: join(this.options.reportsDir, 'demo', 'audit.jsonl'),
    });
    this.summary.reports['config'] = this.config.path;
    this.n.begin('Genascope API + traffic generator', 'mysql-only');
    this.app = buildApp({ db: this.mysql! });
    this.baseUrl = await this.app.listen({ host: '127.0.0.1', port: 0 });
    this.traffic = new TrafficGenerator(
      { baseUrl: this.baseUrl, concurrency: 4, ratePerSecond: this.options.quick ? 120 : 200 },
      worldFromSeed(this.data!),
    );
    this.traffic.start();
    this.n.figure('API', this.baseUrl);
    this.n.figure('config file', this.config.path);
    this.n.end('ok', this.baseUrl);
  }

  private async mysqlOnly(): Promise<void> {
    this.n.begin('Serve traffic', 'mysql-only', 'The app runs as before the migration: MySQL only.');
    const from = Date.now();
    await sleep(this.options.phaseMs);
    const latency = this.traffic!.latencyBetween(from, Date.now());
    this.n.figure('requests', latency.count);
    this.n.figure('latency p50/p99', `${latency.p50} / ${latency.p99} ms`);
    this.n.end('ok', `${latency.count} requests, p99 ${latency.p99} ms`);
  }

  private async finish(): Promise<void> {
    this.n.begin('Stop traffic and check every acknowledged write', '-');
    const stats = await this.traffic!.stop();
    this.summary.traffic = stats;
    const lostMysql = await findLostWrites(this.mysql!, this.traffic!.ledger);
    this.summary.lostWrites = { mysql: lostMysql.length, postgres: null, samples: lostMysql.slice(0, 10) };
    this.n.figure(
      'requests',
      `${stats.requests} (${stats.reads} reads, ${stats.writes} writes, ${stats.errors} errors)`,
    );
    this.n.figure('acknowledged writes', stats.acknowledgedWrites);
    this.n.figure('lost in MySQL', lostMysql.length);
    const ok = lostMysql.length === 0 && stats.errors === 0;
    this.n.end(
      ok ? 'ok' : 'FAILED',
      `${stats.acknowledgedWrites} writes acknowledged, ${lostMysql.length} lost`,
    );
    this.summary.ok = ok;
    this.summary.exitCode = ok ? 0 : 1;
  }

  async cleanup(): Promise<void> {
    if (this.traffic?.isRunning) await this.traffic.stop();
    await this.app?.close();
    await this.mysql?.destroy();
    await this.pg?.destroy();
    if (!this.options.keepServers && this.urls) {
      await dropDemoDatabases(this.options.mysqlUrl, this.options.pgUrl, this.options.database).catch(
        () => undefined,
      );
    }
    if (this.servers?.startedHere && !this.options.keepServers) this.servers.stop();
    this.summary.runtimeSeconds = this.n.elapsedSeconds();
    this.summary.steps = this.n.steps;
    writeSummary(this.summaryFile, this.summary);
  }

  get summaryPath(): string {
    return this.summaryFile;
  }
}

async function main(): Promise<number> {
  let options: DemoOptions | null;
  try {
    options = parseDemoOptions(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (!options) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const n = new Narrator();
  process.stdout.write(
    `dualwrite demo — Genascope moves from MySQL to PostgreSQL under live traffic${options.quick ? ' (quick)' : ''}\n`,
  );
  const demo = new Demo(options, n);
  let code: number;
  try {
    code = await demo.run();
  } catch (error) {
    demo.summary.error = (error as Error).message;
    process.stderr.write(`\ndemo failed: ${(error as Error).stack ?? String(error)}\n`);
    code = 2;
  }
  demo.summary.exitCode = code;
  demo.summary.ok = code === 0;
  try {
    await demo.cleanup();
  } catch (error) {
    process.stderr.write(`cleanup failed: ${(error as Error).message}\n`);
  }
  process.stdout.write(`\n${n.table()}\n`);
  process.stdout.write(`summary: ${demo.summaryPath}\n`);
  process.stdout.write(
    `${code === 0 ? 'demo finished' : 'demo FAILED'} in ${n.elapsedSeconds()} s (exit ${code})\n`,
  );
  return code;
}

process.exitCode = await main();
