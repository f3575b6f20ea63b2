/**
 * @mm-gateway/sqlite-projection — persistence for mm-gateway on SQLite (WAL, kysely + better-sqlite3):
 * the event store with inline read-model projections, the projection runner and rebuild, the webhook
 * inbox, and the worker lease.
 */
export { type CheckpointMode } from "./checkpointer.js"
export { configure, type Database, DEFAULT_BUSY_TIMEOUT_MS, type Durability, gated, immediate, retryBusy } from "./connection.js"
export { layerDatabase, openDatabase, SqliteDatabase, type SqliteOptions } from "./database.js"
export { layerEventStore, layerEventStoreFor, makeEventStore } from "./event-store.js"
export {
  type Accepted,
  HEADERS_KEPT,
  headersToKeep,
  type InboxEntry,
  type InboxOptions,
  inboxPathFor,
  type InboxSource,
  type InboxState,
  layerInbox,
  makeInbox,
  openInbox,
  WebhookInbox
} from "./inbox.js"
export { catchUpProjections, layer, rebuildProjections } from "./layers.js"
export { layerUnitOfWork, makeUnitOfWork } from "./unit-of-work.js"
export { layerLease, makeLease, WorkerLease } from "./lease.js"
export { appliedMigrations, inboxMigrations, mainMigrations, migrate, READ_MODEL_TABLES } from "./migrations.js"
export { clampLimit, decodeCursor, encodeCursor, type Page } from "./pagination.js"
export { decodeRow, getCheckpoint, type Projection } from "./projection.js"
export * from "./projections/index.js"
export {
  type BusinessManagerView,
  type CampaignStats,
  campaignStats,
  type ChannelDispatchView,
  type ChannelView,
  type ClickView,
  type ListOptions,
  layerReadModels,
  makeReadModels,
  type MessageWork,
  ReadModels,
  type TemplateView,
  type WabaView
} from "./read-models.js"
export { layerStatusMatching, makeStatusMatching } from "./status-matching.js"
export { layerParkedStatuses, makeParkedStatuses, type ParkedStatusRecord, ParkedStatuses } from "./parked-statuses.js"
export { catchUp, type CatchUpResult, DEFAULT_BATCH_SIZE, INLINE_GAP_LIMIT, projectInline, rebuild } from "./runner.js"
export { databaseFileFrom, rebuildDatabase } from "./cli/rebuild-command.js"
