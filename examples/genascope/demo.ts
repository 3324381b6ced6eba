// `npm run demo`: from nothing to a finished MySQL → PostgreSQL migration of the Genascope example,
// narrated step by step. See `npm run demo -- --help`.
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { FastifyInstance } from 'fastify';
import type { Knex } from 'knex';
import {
  backfillFromConfig,
  createDualWrite,
  createMysqlKnex,
  createPostgresKnex,
  dualwriteMiddleware,
  introspectMysql,
  introspectPostgres,
  loadConfig,
  planFor,
  ShadowReader,
  verify,
  writeReport,
  type ConversionReport,
  type DualWriteDb,
  type Stage,
} from '../../lib/index.js';
import { redactUrl } from '../../lib/dialect/urls.js';
import { buildApp } from './app.js';
import { runCli } from './demo/cli.js';
import { DemoConfigFile } from './demo/config-file.js';
import { LogTap } from './demo/log-tap.js';
import { Narrator } from './demo/narrate.js';
import { parseDemoOptions, USAGE, type DemoOptions } from './demo/options.js';
import { demoProgress } from './demo/progress.js';
import { createDemoDatabases, dropDemoDatabases, ensureServers, type ServerSession } from './demo/servers.js';
import { emptySummary, writeSummary, type DemoSummary } from './demo/summary.js';
import { createMysqlSchema } from './schema.js';
import { generateSeed, insertSeed, type SeedData } from './seed.js';
import { GENASCOPE_TABLES } from './tables.js';
import { findLostWrites } from './ledger.js';
import { TrafficGenerator, worldFromSeed } from './traffic.js';

/** The migration itself found a problem (differences, a lost write, a refused flip): exit 1, not 2. */
class DemoProblem extends Error {}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface StageMove {
  from: Stage;
  to: Stage;
  /** Writes held by the fence, ms (from the audit log); null when the authoritative side did not move. */
  pauseMs: number | null;
  /** From the config edit until the handle served the new stage, ms. */
  appliedMs: number;
  /** Slowest write that started around the change, ms. */
  maxWriteMs: number;
}

class Demo {
  readonly summary: DemoSummary;
  private servers: ServerSession | undefined;
  private urls: { mysqlUrl: string; pgUrl: string } | undefined;
  private mysql: Knex | undefined;
  private pg: Knex | undefined;
  private handle: DualWriteDb | undefined;
  private shadow: ShadowReader | undefined;
  private app: FastifyInstance | undefined;
  private traffic: TrafficGenerator | undefined;
  private log: LogTap | undefined;
  private baseUrl = '';
  private data: SeedData | undefined;
  private probe: { path: string; mysqlOnly: unknown } | undefined;
  private readonly config: DemoConfigFile;
  private readonly dir: string;
  private readonly summaryFile: string;

  constructor(
    private readonly options: DemoOptions,
    private readonly n: Narrator,
  ) {
    this.summary = emptySummary(options.database, options.quick);
    this.dir = resolve(options.reportsDir, 'demo');
    this.config = new DemoConfigFile(join(this.dir, 'dualwrite.yaml'));
    this.summaryFile = resolve(options.reportsDir, 'demo-summary.json');
  }

  async run(): Promise<number> {
    this.clearOwnReports();
    await this.startServers();
    await this.createDatabases();
    await this.loadMysql();
    await this.convertToPostgres();
    await this.startApp();
    await this.mysqlOnly();
    await this.dualWriteWithBackfill();
    await this.shadowReads();
    await this.verifyLive();
    await this.flipToPg(
      'Flip to PostgreSQL',
      'PostgreSQL becomes authoritative; MySQL keeps receiving every write.',
    );
    await this.rollBack();
    await this.flipToPg('Flip to PostgreSQL again', 'After the rollback drill, move forward again.');
    await this.finish();
    return this.summary.exitCode;
  }

  /** A fresh run starts with fresh reports: only the files the demo itself writes are removed. */
  private clearOwnReports(): void {
    if (!existsSync(this.dir)) return;
    const own =
      /^(audit\.jsonl|mismatches\.jsonl|verify-.*\.json|report\.html|shadow-latency\.json|dualwrite\.log|schema\.postgres\.sql|dualwrite\.yaml)$/;
    for (const name of readdirSync(this.dir))
      if (own.test(name)) rmSync(join(this.dir, name), { force: true });
  }

  private async startServers(): Promise<void> {
    const { mysqlUrl, pgUrl, urlsGiven } = this.options;
    this.n.begin(
      'Database servers',
      '-',
      'MySQL (or MariaDB with --mariadb) and PostgreSQL 15, local unless MYSQL_URL/PG_URL say otherwise.',
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
    const [[server]] = (await this.mysql.raw('SELECT VERSION() AS v')) as [{ v: string }[]];
    this.summary.mysqlServer = String(server?.v);
    this.n.figure(
      'MySQL side',
      `${/mariadb/i.test(this.summary.mysqlServer) ? 'MariaDB' : 'MySQL'} ${this.summary.mysqlServer}`,
    );
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
    this.n.figure('tables', GENASCOPE_TABLES.length);
    this.n.figure('rows seeded', rows);
    this.n.figure('patients', this.data.patients.length);
    this.n.figure('seed time', `${((Date.now() - began) / 1000).toFixed(1)} s`);
    this.n.end('ok', `${GENASCOPE_TABLES.length} tables, ${rows} rows`);
  }

  private writeConfig(): void {
    this.config.create({
      stage: 'mysql-only',
      mysql: { url: this.urls!.mysqlUrl },
      postgres: { url: this.urls!.pgUrl },
      shadow: {
        sampleRate: this.options.quick ? 0.25 : 0.1,
        mismatchLog: join(this.dir, 'mismatches.jsonl'),
        latencyFile: join(this.dir, 'shadow-latency.json'),
      },
      verify: { reportDir: this.dir },
      auditLog: join(this.dir, 'audit.jsonl'),
      tables: {
        users: { sensitiveColumns: ['email', 'hashed_password'] },
        patients: { sensitiveColumns: ['email', 'phone'] },
      },
    });
    this.summary.reports['config'] = this.config.path;
  }

  private async convertToPostgres(): Promise<void> {
    this.n.begin(
      'Convert the schema to PostgreSQL',
      'mysql-only',
      "Introspect MySQL, convert types (uuid, jsonb, enums, boolean, timestamp), apply in one transaction; then dualwrite's own tables.",
    );
    this.writeConfig();
    const ddlFile = join(this.dir, 'schema.postgres.sql');
    this.n.say(`$ dualwrite schema --apply --out ${ddlFile} --config ${this.config.path}`);
    const { report } = await runCli<{ report: ConversionReport }>([
      'schema',
      '--apply',
      '--out',
      ddlFile,
      '--config',
      this.config.path,
    ]);
    this.n.say(`$ dualwrite init --config ${this.config.path}`);
    await runCli(['init', '--config', this.config.path]);
    const columns = report.tables.reduce((a, t) => a + t.columns.length, 0);
    const uuids = report.tables.flatMap((t) => t.columns).filter((c) => c.to === 'uuid').length;
    this.n.figure('tables', report.tables.length);
    this.n.figure('columns', `${columns} (${uuids} as uuid)`);
    this.n.figure('enum types', report.enumTypes.length);
    this.n.figure('ON UPDATE triggers', report.updateTriggers.length);
    this.n.figure('warnings', report.warnings.length);
    this.n.figure('DDL', ddlFile);
    this.summary.reports['postgresDdl'] = ddlFile;
    this.n.end(
      'ok',
      `${report.tables.length} tables, ${uuids} uuid columns, ${report.enumTypes.length} enums`,
    );
  }

  private async startApp(): Promise<void> {
    this.n.begin('Genascope API on the dualwrite handle + traffic', 'mysql-only');
    this.log = new LogTap(join(this.dir, 'dualwrite.log'));
    this.summary.reports['log'] = this.log.path;
    // The shadow reader and the handle are built together: the reader reads config and translators from the handle.
    const initial = loadConfig({ file: this.config.path, env: {} });
    this.shadow = new ShadowReader({
      config: () => this.handle?.dualwrite.config ?? initial,
      mysql: this.mysql!,
      postgres: this.pg!,
      translators: () => this.handle?.dualwrite.translators,
      logger: this.log.logger,
    });
    this.handle = await createDualWrite({
      configFile: this.config.path,
      logger: this.log.logger,
      readObserver: this.shadow,
      env: {},
    });
    this.app = buildApp({ db: this.handle, middleware: dualwriteMiddleware(this.handle) });
    this.baseUrl = await this.app.listen({ host: '127.0.0.1', port: 0 });
    this.traffic = new TrafficGenerator(
      { baseUrl: this.baseUrl, concurrency: 4, ratePerSecond: this.options.quick ? 120 : 200 },
      worldFromSeed(this.data!),
    );
    this.traffic.start();
    this.n.figure('API', this.baseUrl);
    this.n.figure('config file (stage flips are edits of it)', this.config.path);
    this.n.end('ok', this.baseUrl);
  }

  private async mysqlOnly(): Promise<void> {
    this.n.begin('Serve traffic', 'mysql-only', 'The app runs as before the migration: MySQL only.');
    const from = Date.now();
    await sleep(this.options.phaseMs);
    const path = `/patients/${worldFromSeed(this.data!).frozenPatients[0]}`;
    this.probe = { path, mysqlOnly: await this.getJson(path) };
    const latency = this.traffic!.latencyBetween(from, Date.now());
    this.n.figure('requests', latency.count);
    this.n.figure('latency p50/p99', `${latency.p50} / ${latency.p99} ms`);
    this.n.end('ok', `${latency.count} requests, p99 ${latency.p99} ms`);
  }

  private async dualWriteWithBackfill(): Promise<void> {
    this.n.begin(
      'Dual writes + background backfill',
      'dual-write',
      'Every write now records its key in the MySQL outbox; the worker syncs it to PostgreSQL. The backfill copies history meanwhile.',
    );
    const move = await this.moveTo('dual-write');
    this.n.figure('stage applied after', `${move.appliedMs} ms`);
    const total = await this.countRows(this.mysql!);
    const progress = demoProgress(total, (line) => this.n.say(line));
    const from = Date.now();
    const result = await backfillFromConfig(this.handle!.dualwrite.config, {
      onEvent: (e) => progress.onEvent(e),
      batchSize: 500,
    }).finally(() => progress.stop());
    const latency = this.traffic!.latencyBetween(from, Date.now());
    const status = await this.handle!.dualwrite.status();
    this.n.figure('rows copied', result.rows);
    this.n.figure('backfill rate', `${Math.round(result.rowsPerSecond)} rows/s`);
    this.n.figure('backfill time', `${(result.durationMs / 1000).toFixed(1)} s`);
    this.n.figure(
      'tables done',
      `${result.tables.filter((t) => t.status === 'done').length}/${result.tables.length}`,
    );
    this.n.figure('app latency during backfill p50/p99', `${latency.p50} / ${latency.p99} ms`);
    this.n.figure('outbox backlog', status.backlog);
    if (!result.ok)
      throw new DemoProblem(
        `backfill failed: ${result.tables
          .filter((t) => t.status !== 'done')
          .map((t) => `${t.table}: ${t.reason}`)
          .join('; ')}`,
      );
    this.n.end(
      'ok',
      `${result.rows} rows at ${Math.round(result.rowsPerSecond)} rows/s, app p99 ${latency.p99} ms`,
    );
  }

  private async shadowReads(): Promise<void> {
    this.n.begin(
      'Shadow reads',
      'shadow',
      `Reads are still served by MySQL; ${this.options.quick ? 'a quarter' : 'a tenth'} of them run again on PostgreSQL afterwards and are compared.`,
    );
    await this.moveTo('shadow');
    const before = this.shadow!.stats();
    await sleep(this.options.phaseMs);
    await this.shadow!.onIdle();
    const stats = this.shadow!.stats();
    await this.shadow!.flush();
    const { file } = await writeReport({
      config: this.handle!.dualwrite.config,
      out: join(this.dir, 'report.html'),
    });
    const compared = stats.checks - before.checks;
    const mismatches = stats.mismatches - before.mismatches;
    this.n.figure('reads compared', compared);
    this.n.figure('mismatches', mismatches);
    this.n.figure('re-checked after sync', stats.rechecks - before.rechecks);
    this.n.figure('mismatch log', this.handle!.dualwrite.config.shadow.mismatchLog);
    this.n.figure('HTML report', file);
    this.summary.reports['mismatches'] = this.handle!.dualwrite.config.shadow.mismatchLog;
    this.summary.reports['html'] = file;
    this.n.end(mismatches === 0 ? 'ok' : 'MISMATCH', `${compared} reads compared, ${mismatches} mismatches`);
  }

  private async verifyLive(): Promise<void> {
    this.n.begin(
      'Verify every table, repair a planted difference',
      'shadow',
      "Whole tables compared in primary-key chunks (hash first), under live traffic. First a row is changed in PostgreSQL behind dualwrite's back, as a stray script would.",
    );
    const planted = String(this.data!.patient_profiles[0]!['id']);
    await this.pg!('patient_profiles')
      .where({ id: planted })
      .update({ ancestry: 'edited outside dualwrite' });
    const first = await this.runVerify();
    this.n.say(
      `verification found ${first.differences} difference(s); the planted one is patient_profiles ${planted}`,
    );
    if (first.differences !== 1)
      throw new DemoProblem(`expected the 1 planted difference, found ${first.differences} (${first.file})`);
    this.n.say(`$ dualwrite repair --tables patient_profiles --config ${this.config.path}`);
    const repair = await runCli<{
      clean: boolean;
      tables: { repair: { synced: number; remaining: number } | null }[];
    }>(['repair', '--tables', 'patient_profiles', '--config', this.config.path]);
    const synced = repair.tables.reduce((a, t) => a + (t.repair?.synced ?? 0), 0);
    this.n.figure('keys repaired (synced from MySQL)', synced);
    this.summary.repair = { planted: 1, found: first.differences, repaired: synced };
    this.n.say('verify again:');
    const result = await this.runVerify();
    this.n.end(
      result.differences === 0 ? 'ok' : 'DIFFERENT',
      `planted 1 → found ${first.differences}, repaired ${synced}; then ${result.rows} rows, ${result.differences} differences`,
    );
    if (!repair.clean || result.differences !== 0)
      throw new DemoProblem(
        `verification found ${result.differences} differences after repair (${result.file})`,
      );
  }

  private async flipToPg(title: string, why: string): Promise<void> {
    this.n.begin(title, 'pg-primary', why);
    const move = await this.moveTo('pg-primary');
    this.n.figure('writes held (flip pause)', `${move.pauseMs} ms`);
    this.n.figure('slowest write around the flip', `${move.maxWriteMs} ms`);
    const before = this.shadow!.stats();
    const from = Date.now();
    await sleep(this.options.phaseMs);
    await this.shadow!.onIdle();
    const stats = this.shadow!.stats();
    const latency = this.traffic!.latencyBetween(from, Date.now());
    const mismatches = stats.mismatches - before.mismatches;
    this.n.figure('requests on PostgreSQL', latency.count);
    this.n.figure('latency p50/p99', `${latency.p50} / ${latency.p99} ms`);
    this.n.figure('reads compared against MySQL', stats.checks - before.checks);
    this.n.figure('mismatches', mismatches);
    if (this.summary.sameJsonAcrossStages === null && this.probe) {
      const now = await this.getJson(this.probe.path);
      const same = isDeepStrictEqual(now, this.probe.mysqlOnly);
      this.summary.sameJsonAcrossStages = same;
      this.summary.probe = { path: this.probe.path, mysqlOnly: this.probe.mysqlOnly, pgPrimary: now };
      this.n.figure(`GET ${this.probe.path} same JSON as in mysql-only`, same ? 'yes' : 'NO');
    }
    this.n.end(
      mismatches === 0 ? 'ok' : 'MISMATCH',
      `pause ${move.pauseMs} ms, ${latency.count} requests, ${mismatches} mismatches`,
    );
  }

  private async rollBack(): Promise<void> {
    this.n.begin(
      'Roll back to MySQL',
      'shadow',
      'The rollback drill, run as an operator would with `dualwrite stage`: MySQL authoritative again. Every write acknowledged on PostgreSQL must be in MySQL.',
    );
    const move = await this.moveTo('shadow', 'cli');
    const acknowledged = this.traffic!.ledger.length;
    const found = await findLostWrites(this.mysql!, this.traffic!.ledger.slice(0, acknowledged));
    // Traffic goes on: a row a later write touched (possibly in flight during the check) is not evidence.
    await sleep(1000);
    const later = new Set(this.traffic!.ledger.slice(acknowledged).map((e) => `${e.table}/${e.id}`));
    const lost = found.filter((l) => !later.has(`${l.table}/${l.id}`));
    this.n.figure('writes held (flip pause)', `${move.pauseMs} ms`);
    this.n.figure('acknowledged writes so far', acknowledged);
    this.n.figure('missing in MySQL right after the rollback', lost.length);
    if (lost.length > 0) {
      this.summary.lostWrites.samples.push(...lost.slice(0, 10));
      throw new DemoProblem(`${lost.length} acknowledged writes missing in MySQL after the rollback`);
    }
    await sleep(Math.round(this.options.phaseMs / 2));
    this.n.end('ok', `pause ${move.pauseMs} ms, 0 of ${acknowledged} writes missing`);
  }

  private async finish(): Promise<void> {
    this.n.begin('Stop traffic, drain, verify, count lost writes', 'pg-primary');
    const stats = await this.traffic!.stop();
    this.summary.traffic = stats;
    await this.handle!.dualwrite.worker?.drain({ timeoutMs: 30_000 });
    await this.shadow!.onIdle();
    const verification = await this.runVerify();
    const lostMysql = await findLostWrites(this.mysql!, this.traffic!.ledger);
    const lostPg = await findLostWrites(this.pg!, this.traffic!.ledger);
    this.summary.lostWrites = {
      mysql: lostMysql.length,
      postgres: lostPg.length,
      samples: [...this.summary.lostWrites.samples, ...lostMysql.slice(0, 5), ...lostPg.slice(0, 5)],
    };
    const shadow = this.shadow!.stats();
    this.summary.shadow = { checks: shadow.checks, mismatches: shadow.mismatches, errors: shadow.errors };
    this.n.figure(
      'requests',
      `${stats.requests} (${stats.reads} reads, ${stats.writes} writes, ${stats.errors} errors)`,
    );
    this.n.figure('acknowledged writes', stats.acknowledgedWrites);
    this.n.figure('lost in MySQL / PostgreSQL', `${lostMysql.length} / ${lostPg.length}`);
    this.n.figure(
      'shadow reads compared / mismatches (whole run)',
      `${shadow.checks} / ${shadow.mismatches}`,
    );
    const ok =
      verification.differences === 0 &&
      lostMysql.length === 0 &&
      lostPg.length === 0 &&
      stats.errors === 0 &&
      this.summary.sameJsonAcrossStages === true;
    this.n.end(
      ok ? 'ok' : 'FAILED',
      `${stats.acknowledgedWrites} writes, lost ${lostMysql.length}/${lostPg.length}, ${verification.differences} differences`,
    );
    this.summary.ok = ok;
    this.summary.exitCode = ok ? 0 : 1;
  }

  /** Edits the stage in the config file and waits until the running handle serves it. */
  private async moveTo(target: Stage, via: 'edit' | 'cli' = 'edit'): Promise<StageMove> {
    const handle = this.handle!;
    const from = handle.dualwrite.stage;
    const problems = this.log!.problems.length;
    const audits = this.auditLines().length;
    // Comparisons still queued from before a flip would compare the old side's answer after the other
    // side took writes (the reader re-checks only the outbox of the side that served the read), so the
    // queue is let empty first.
    if (planFor(from).authoritative !== planFor(target).authoritative) await this.shadow!.onIdle();
    const t0 = Date.now();
    if (via === 'cli') {
      this.n.say(`$ dualwrite stage ${target} --config ${this.config.path}`);
      const answer = await runCli<{ from: string; to: string; refused: boolean; reasons: string[] }>([
        'stage',
        target,
        '--config',
        this.config.path,
      ]);
      if (answer.refused)
        throw new DemoProblem(`dualwrite stage ${target} refused: ${answer.reasons.join('; ')}`);
      this.n.say(`  stage ${answer.from} → ${answer.to} written to the config file`);
    } else {
      this.config.setStage(target);
      this.n.say(`edited ${this.config.path}: stage ${from} → ${target}`);
    }
    while (handle.dualwrite.stage !== target) {
      if (Date.now() - t0 > 30_000) {
        const why = this.log!.since(problems).join(' | ') || 'no reason logged';
        throw new DemoProblem(`the app did not move to ${target}: ${why}`);
      }
      await sleep(20);
    }
    const appliedMs = Date.now() - t0;
    const audit = this.auditLines()
      .slice(audits)
      .find((a) => a.to === target);
    const maxWriteMs = this.traffic!.latencyBetween(t0 - 200, t0 + appliedMs + 200, true).max;
    const move: StageMove = { from, to: target, pauseMs: audit?.pauseMs ?? null, appliedMs, maxWriteMs };
    this.summary.flips.push({ from, to: target, pauseMs: move.pauseMs, maxWriteLatencyMs: maxWriteMs });
    this.summary.reports['audit'] = handle.dualwrite.config.auditLog;
    return move;
  }

  private auditLines(): { to: string; pauseMs: number | null }[] {
    const file = this.handle!.dualwrite.config.auditLog;
    if (!existsSync(file)) return [];
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l) as { to: string; pauseMs: number | null });
  }

  private async runVerify(): Promise<{ differences: number; rows: number; file: string | null }> {
    const handle = this.handle!;
    const [mysqlSchema, pgSchema] = await Promise.all([
      introspectMysql(this.mysql!),
      introspectPostgres(this.pg!),
    ]);
    const result = await verify({
      config: handle.dualwrite.config,
      mysql: this.mysql!,
      postgres: this.pg!,
      translators: handle.dualwrite.translators,
      schemas: { mysql: mysqlSchema, postgres: pgSchema },
      resume: false,
      logger: this.log!.logger,
    });
    const differences = result.tables.reduce((a, t) => a + t.missing + t.extra + t.different, 0);
    const rows = result.tables.reduce((a, t) => a + t.rowsCompared, 0);
    this.n.figure('tables', result.tables.length);
    this.n.figure('rows compared', rows);
    this.n.figure(
      'chunks (differing)',
      `${result.tables.reduce((a, t) => a + t.chunks, 0)} (${result.tables.reduce((a, t) => a + t.differentChunks, 0)})`,
    );
    this.n.figure('differences', differences);
    this.n.figure('took', `${(result.durationMs / 1000).toFixed(1)} s`);
    this.n.figure('report', result.reportFile ?? '-');
    this.summary.verification = { differences, tables: result.tables.length, rowsCompared: rows };
    if (result.reportFile) this.summary.reports['verification'] = result.reportFile;
    return { differences, rows, file: result.reportFile };
  }

  private async countRows(db: Knex): Promise<number> {
    let total = 0;
    for (const table of GENASCOPE_TABLES) {
      const row = (await db(table).count({ n: '*' }).first()) as { n: number | string } | undefined;
      total += Number(row?.n ?? 0);
    }
    return total;
  }

  private async getJson(path: string): Promise<unknown> {
    const response = await fetch(`${this.baseUrl}${path}`);
    if (!response.ok) throw new Error(`GET ${path} → ${response.status}`);
    return response.json() as Promise<unknown>;
  }

  async cleanup(): Promise<void> {
    if (this.traffic?.isRunning) await this.traffic.stop();
    await this.app?.close();
    await this.shadow?.close().catch(() => undefined);
    await this.handle?.destroy().catch(() => undefined);
    await this.mysql?.destroy();
    await this.pg?.destroy();
    await this.log?.close();
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

  get configPath(): string {
    return this.config.path;
  }

  get reportsDir(): string {
    return this.dir;
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
    code = error instanceof DemoProblem ? 1 : 2;
  }
  demo.summary.exitCode = code;
  demo.summary.ok = code === 0;
  try {
    await demo.cleanup();
  } catch (error) {
    process.stderr.write(`cleanup failed: ${(error as Error).message}\n`);
  }
  process.stdout.write(`\n${n.table()}\n`);
  process.stdout.write(
    `reports: ${demo.reportsDir} (config, audit log, mismatch log, verification JSON, report.html, dualwrite.log)\n`,
  );
  process.stdout.write(`summary: ${demo.summaryPath}\n`);
  if (options.keepServers) {
    process.stdout.write(
      `kept: database "${options.database}" on both servers; run the API on it with\n` +
        `  npx tsx examples/genascope/server.ts --config ${demo.configPath}\n` +
        `and move it with ./bin/dualwrite.js stage <stage> --config ${demo.configPath}\n`,
    );
  }
  process.stdout.write(
    `${code === 0 ? 'demo finished' : 'demo FAILED'} in ${n.elapsedSeconds()} s (exit ${code})\n`,
  );
  return code;
}

process.exitCode = await main();
