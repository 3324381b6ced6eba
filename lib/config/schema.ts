import { z } from 'zod';
import { STAGES } from '../stage/stage.js';

/** Per-column overrides of the schema conversion and value translation. */
export const columnOverrideSchema = z
  .object({
    /** PostgreSQL type to use instead of the converted one, e.g. `text` or `numeric(20,0)`. */
    type: z.string().min(1).optional(),
    /** Force (true) or forbid (false) converting a CHAR(36)/VARCHAR(36) column to `uuid`. @default decided from the data */
    uuid: z.boolean().optional(),
    /** What to do with MySQL zero dates: store NULL in PostgreSQL, or reject the value. @default 'reject' */
    zeroDate: z.enum(['null', 'reject']).optional(),
    /** A named value transform applied MySQL → PG (see docs/type-mapping.md), e.g. `strip-nul`, `lowercase`. */
    transform: z.enum(['strip-nul', 'lowercase', 'trim']).optional(),
    /** Leave this column out of shadow comparisons and verification (columns each side sets itself). @default false */
    ignoreInCompare: z.boolean().optional(),
  })
  .strict();

export const tableOptionsSchema = z
  .object({
    /** Shadow-read sampling rate for this table, 0..1. @default the global `shadow.sampleRate` */
    shadowSampleRate: z.number().min(0).max(1).optional(),
    /** Columns holding sensitive data: hashed or redacted in every report and log line. @default [] */
    sensitiveColumns: z.array(z.string()).default([]),
    /** Per-column overrides. @default {} */
    columns: z.record(z.string(), columnOverrideSchema).default({}),
    /** Leave the table out of sync, backfill and verification. @default false */
    exclude: z.boolean().default(false),
    /**
     * The columns that identify a row, for a table without a primary key (or to use another key): rows
     * are captured, synced, backfilled, verified and repaired by them. They should be unique and NOT
     * NULL. @default the primary key, else the first NOT NULL unique key
     */
    key: z.array(z.string().min(1)).min(1).optional(),
  })
  .strict();

/** Time limits of every connection to one database (see lib/dialect/deadline.ts). */
export const timeoutsSchema = z
  .object({
    /** Establishing a connection, ms. @default 10000 */
    connectMs: z.number().int().positive().default(10_000),
    /** Waiting for a free pooled connection, ms. @default 10000 */
    acquireMs: z.number().int().positive().default(10_000),
    /** One statement (server-side cancel; a connection with no answer a second later is destroyed), ms. @default 30000 */
    statementMs: z.number().int().positive().default(30_000),
    /** Idle time before TCP keepalive probes, ms. @default 10000 */
    keepAliveMs: z.number().int().positive().default(10_000),
  })
  .strict()
  .prefault({});

export const configSchema = z
  .object({
    /** The migration stage; see the stage table in the README. @default 'mysql-only' */
    stage: z.enum(STAGES as [string, ...string[]]).default('mysql-only'),
    mysql: z
      .object({
        url: z.string().min(1),
        poolMax: z.number().int().positive().default(10),
        timeouts: timeoutsSchema,
      })
      .strict(),
    postgres: z
      .object({
        url: z.string().min(1),
        poolMax: z.number().int().positive().default(10),
        timeouts: timeoutsSchema,
      })
      .strict(),
    /** Reject writes whose values PostgreSQL cannot hold instead of quarantining their keys. @default false */
    strict: z.boolean().default(false),
    capture: z
      .object({
        /** `adapter`: the handle records keys; `triggers`: database triggers also record writes of other programs. @default 'adapter' */
        mode: z.enum(['adapter', 'triggers']).default('adapter'),
      })
      .strict()
      .prefault({}),
    sync: z
      .object({
        /** Outbox rows claimed per batch. @default 200 */
        batchSize: z.number().int().positive().default(200),
        /** Batches synced at once (p-queue concurrency). @default 4 */
        concurrency: z.number().int().positive().default(4),
        /** Idle poll interval of the outbox when no local write woke the worker, ms. @default 200 */
        pollIntervalMs: z.number().int().positive().default(200),
        /** Attempts per key before it is quarantined as failing. @default 8 */
        maxAttempts: z.number().int().positive().default(8),
        /** Timeout of one target operation, ms (circuit breaker timeout). @default 5000 */
        timeoutMs: z.number().int().positive().default(5000),
        /** Breaker: percentage of failures that opens it. @default 50 */
        breakerErrorThresholdPercentage: z.number().min(1).max(100).default(50),
        /** Breaker: consecutive unreachable-target failures that open it whatever the percentage (a hung target fails slowly). @default 3 */
        breakerConsecutiveFailures: z.number().int().positive().default(3),
        /** Breaker: time before a half-open probe, ms. @default 2000 */
        breakerResetTimeoutMs: z.number().int().positive().default(2000),
        /** Backlog size that raises a `backlogHigh` event. @default 10000 */
        backlogHighWatermark: z.number().int().positive().default(10_000),
        /** First retry delay of a failing key, ms; attempt n waits retryBaseMs * 2^(n-1). @default 100 */
        retryBaseMs: z.number().int().positive().default(100),
        /** Longest retry delay, ms. @default 30000 */
        retryMaxMs: z.number().int().positive().default(30_000),
        /** Keys at or above which a sync into PostgreSQL uses COPY through a staging table. @default 2000 */
        copyThreshold: z.number().int().positive().default(2000),
        /** How long close() waits for the outbox to drain before stopping anyway, ms. @default 10000 */
        closeTimeoutMs: z.number().int().nonnegative().default(10_000),
        /** App commits within this window wake the in-process worker once, ms (0: every commit). @default 20 */
        notifyWindowMs: z.number().int().nonnegative().default(20),
      })
      .strict()
      .prefault({}),
    shadow: z
      .object({
        /** Fraction of reads compared against the other database, 0..1. @default 0.1 */
        sampleRate: z.number().min(0).max(1).default(0.1),
        /** Shadow reads waiting at most; beyond it reads are skipped and counted. @default 1000 */
        queueSize: z.number().int().positive().default(1000),
        /** Shadow reads run at once. @default 2 */
        concurrency: z.number().int().positive().default(2),
        /** Where mismatch records are appended as JSON lines. @default 'reports/mismatches.jsonl' */
        mismatchLog: z.string().default('reports/mismatches.jsonl'),
        /** Where per-query-shape latency of both sides is saved (read by `dualwrite report`). @default 'reports/shadow-latency.json' */
        latencyFile: z.string().default('reports/shadow-latency.json'),
        /** Longest wait for a key pending in the outbox to sync before it is re-checked, ms. @default 10000 */
        recheckTimeoutMs: z.number().int().positive().default(10_000),
        /** Poll interval while waiting for pending keys to sync, ms. @default 100 */
        recheckIntervalMs: z.number().int().positive().default(100),
        /**
         * Settled re-runs (or re-reads by key) that must show the same difference before it counts as a
         * mismatch; at most three times as many are made, within `recheckTimeoutMs`. @default 2
         */
        confirmRuns: z.number().int().min(1).max(10).default(2),
        /**
         * Share of compared reads also timed on both sides, back to back and alternating which side runs
         * first, for the latency per query shape (costs one more read on the authoritative side). @default 0.1
         */
        latencySampleRate: z.number().min(0).max(1).default(0.1),
      })
      .strict()
      .prefault({}),
    verify: z
      .object({
        /** Rows per primary-key chunk compared by `dualwrite verify`. @default unset: sized by chunkBytes */
        chunkSize: z.number().int().positive().optional(),
        /** Bytes of row text per chunk when chunkSize is unset (the chunk size follows the row width). @default 4194304 */
        chunkBytes: z.number().int().positive().default(4_194_304),
        /** Chunks of one table digested at once, each on both servers in parallel. @default 2 */
        concurrency: z.number().int().positive().default(2),
        /** Directory of verification and HTML reports. @default 'reports' */
        reportDir: z.string().default('reports'),
        /** Outbox rows older than this make a verification not clean (reported as pending with their age), ms. @default 30000 */
        pendingMaxAgeMs: z.number().int().positive().default(30_000),
      })
      .strict()
      .prefault({}),
    flip: z
      .object({
        /** Longest time writes are held while the outbox drains, ms; the flip is abandoned past it. @default 5000 */
        maxPauseMs: z.number().int().positive().default(5000),
        /** Outbox backlog above which a flip is refused. @default 1000 */
        maxBacklog: z.number().int().nonnegative().default(1000),
        /** A flip to PG needs a clean verification at most this old, ms (0 disables the check). @default 86400000 */
        requireVerificationWithinMs: z.number().int().nonnegative().default(86_400_000),
        /** A flip is refused when mismatches or quarantined keys appeared within this window, ms. @default 3600000 */
        quietWindowMs: z.number().int().nonnegative().default(3_600_000),
        /**
         * `process`: each app instance fences its own writes. `instances`: a change of the authoritative
         * role also waits until every live instance (heartbeats in dualwrite_state) holds its writes for
         * the same stage. Read at start. @default 'process'
         */
        coordinate: z.enum(['process', 'instances']).default('process'),
        /** Heartbeat of an instance with `coordinate: instances`, ms; live while younger than 3 beats. @default 1000 */
        heartbeatMs: z.number().int().positive().default(1000),
        /** A stage of the config file that the running process could not apply is tried again this often, ms. @default 2000 */
        retryIntervalMs: z.number().int().positive().default(2000),
      })
      .strict()
      .prefault({}),
    /** How sensitive columns appear in reports: `hash` (sha256 prefix) or `redact`. @default 'hash' */
    sensitiveMode: z.enum(['hash', 'redact']).default('hash'),
    /** Per-table options. @default {} */
    tables: z.record(z.string(), tableOptionsSchema).default({}),
    /** Where audit lines of stage changes are appended. @default 'reports/audit.jsonl' */
    auditLog: z.string().default('reports/audit.jsonl'),
  })
  .strict();

export type DualWriteConfigInput = z.input<typeof configSchema>;
export type DualWriteConfig = z.output<typeof configSchema>;
export type TableOptions = z.output<typeof tableOptionsSchema>;
export type ColumnOverride = z.output<typeof columnOverrideSchema>;
