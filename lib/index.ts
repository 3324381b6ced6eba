// The one public entry of dualwrite.
export { Stage, Side, STAGES, planFor, isStage, type StagePlan } from './stage/stage.js';
export {
  DualWriteError,
  ConfigError,
  TranslationError,
  ErrorCode,
  ValueProblem,
  isDualWriteError,
  type DualWriteErrorDetails,
} from './errors.js';
export { loadConfig, validateConfig, type LoadConfigOptions } from './config/load.js';
export type { DualWriteConfig, DualWriteConfigInput, TableOptions, ColumnOverride } from './config/schema.js';
export { createMysqlKnex, mysqlKnexConfig } from './dialect/mysql/connection.js';
export { createPostgresKnex, postgresKnexConfig } from './dialect/postgres/connection.js';
export { DEFAULT_TIMEOUTS, type ConnectionTimeouts } from './dialect/deadline.js';
export { DEFAULT_MYSQL_URL, DEFAULT_PG_URL } from './dialect/urls.js';
export type { DatabaseSchema, TableSchema, ColumnSchema } from './schema/model.js';
export type { Row, KeyTuple, RowTranslator, TranslatorSet } from './translate/types.js';
export type { Syncer, SyncResult, SyncOptions } from './sync/types.js';
export { initMetaTables } from './meta/init.js';
export { META_TABLES, LOCK_BUCKETS, isMetaTable } from './meta/tables.js';
export { KeySyncer, type KeySyncerOptions } from './sync/syncer.js';
export { QuarantineStore, type QuarantineEntry, type QuarantineRecord } from './sync/quarantine.js';
export { lockBucket, keyText, parseKeyText } from './sync/buckets.js';
export { DualWriteEvents, type DualWriteEventMap, type DualWriteEventName } from './observe/events.js';
export { createMetrics, BreakerStateValue, type DualWriteMetrics } from './observe/metrics.js';
export { backfill, assertBackfilled, BACKFILL_DEFAULTS } from './backfill/backfill.js';
export type { BackfillOptions, BackfillEvent, BackfillResult, TableOutcome } from './backfill/types.js';
export {
  CheckpointStore,
  checkpointName,
  BackfillPhase,
  type BackfillCheckpoint,
} from './backfill/checkpoint.js';
export { resetPgSequences } from './backfill/sequences.js';
export { TokenBucket } from './backfill/throttle.js';
export { SyncWorker, type SyncWorkerOptions, type SyncConfig, type LagStats } from './sync/worker.js';
export { enqueueKeys, outboxBacklog } from './sync/outbox.js';
export { isUnavailable } from './sync/unavailable.js';
export { introspectMysql } from './dialect/mysql/introspect.js';
export { introspectPostgres } from './dialect/postgres/introspect.js';
export { findTable } from './schema/model.js';
export type { IndexSchema, ForeignKeySchema, CheckSchema } from './schema/model.js';
export { buildTranslators, type TranslationConfig } from './translate/build.js';
export { TableTranslator, type TableTranslationOptions } from './translate/table.js';
export type { ReadObservation, ReadObserver, ReadRun, RequestContext } from './shadow/types.js';
export { FieldKind, type ResultField } from './dialect/fields.js';
export { replayMismatches, type ReplayOptions, type ReplayResult } from './shadow/replay.js';
export type { Evidence } from './shadow/confirm.js';
export {
  ShadowReader,
  LAST_MISMATCH_STATE,
  type ShadowReaderOptions,
  type ShadowEvents,
  type ShadowStats,
  type SkipReason,
} from './shadow/reader.js';
export {
  compareResults,
  normalizeRow,
  DiffKind,
  type RowDiff,
  type ColumnDiff,
  type CompareResult,
} from './shadow/compare.js';
export { queryShape, normalizeSql, type QueryShape } from './shadow/fingerprint.js';
export { LatencyBook, type ShapeLatency, type LatencySummary } from './shadow/latency.js';
export {
  verify,
  LAST_VERIFY_STATE,
  type VerifyOptions,
  type VerifyResult,
  type TableVerifyResult,
  verifyCheckpointName,
} from './verify/verify.js';
export { createRedactor, hashValue, SensitiveMode, type Redactor } from './report/redact.js';
export {
  readMismatches,
  isConfirmed,
  DismissReason,
  type MismatchRecord,
  type RecordedQuery,
} from './report/records.js';
export { shadowMetrics, verifyMetrics, serveMetrics } from './report/metrics.js';
export { writeReport, formatSummary, type WriteReportOptions } from './report/report.js';
export { loadReportData, summarize, type ReportData, type ReportSummary } from './report/data.js';
export { renderHtml } from './report/html.js';
export { openVerifySession, type VerifySession } from './verify/session.js';
export { createDualWrite, type DualWriteOptions } from './handle/create.js';
export { dualwriteMiddleware, type MiddlewareOptions, type MiddlewareRequest } from './handle/middleware.js';
export type {
  DualWriteDb,
  DualWriteTransaction,
  DualWriteQueryInterface,
  DualWriteControl,
  DualWriteStatus,
  OutboxStatus,
} from './handle/types.js';
export type { RawOptions } from './handle/raw.js';
export type { OutboxWorkerLike } from './handle/scope.js';
export { StageController, FlipRefusedError, type SetStageOptions, type StageChange } from './stage/flip.js';
export { flipChecks, type FlipCheckInput, type FlipCheckResult } from './stage/checks.js';
export { StateName } from './stage/state.js';
export {
  NotAuthoritativeError,
  isNotAuthoritative,
  readAuthority,
  type AuthorityRow,
  type AuthorityState,
  type AuthorityView,
} from './stage/authority.js';
export {
  InstanceRegistry,
  listInstances,
  type InstanceInfo,
  type InstanceState,
  type FenceDecision,
} from './stage/instances.js';
export { ConfigWatcher, type ConfigWatcherOptions } from './config/watch.js';
export { backfillFromConfig, type BackfillRunOptions } from './backfill/from-config.js';
export {
  createProgressReporter,
  type ProgressReporter,
  type ProgressReporterOptions,
} from './backfill/progress.js';
export {
  convertSchema,
  type ConvertOptions,
  type ConversionResult,
  type ConversionReport,
  type ColumnReport,
} from './schema/convert.js';
export { applySchema, resetSequences, convertDatabase } from './schema/apply.js';
export { detectUuidColumns, type UuidColumns } from './schema/uuid.js';
export { parseJsonLossless, canonicalJson, canonicalNumber, type JsonNode } from './translate/json.js';
export { installCaptureTriggers, dropCaptureTriggers } from './capture/triggers.js';
export { writeStageToFile } from './stage/config-file.js';
export { appendAudit, type StageAuditEntry } from './stage/audit.js';
