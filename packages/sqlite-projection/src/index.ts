/**
 * @mm-gateway/sqlite-projection — persistence for mm-gateway on SQLite (WAL, kysely + better-sqlite3):
 * every port of `@mm-gateway/ports` and the domain's store ports — the event store with snapshots and
 * inline read-model projections, the unit of work, the read side's queries, the webhook inbox, leases,
 * parked statuses, API keys, channel credentials — plus the projection runner and rebuild.
 */
export { type CheckpointMode } from "./checkpointer.js"
export { configure, type Database, DEFAULT_BUSY_TIMEOUT_MS, type Durability, gated, immediate, retryBusy } from "./connection.js"
export { layerDatabase, openDatabase, SqliteDatabase, type SqliteOptions } from "./database.js"
export { layerEventStore, layerEventStoreFor, makeEventStore } from "./event-store.js"
export { type InboxOptions, inboxPathFor, layerInbox, makeInbox, openInbox, type SqliteInbox } from "./inbox.js"
export { layerSqliteStore, type SqliteStore, type SqliteStoreOptions } from "./store.js"
export { layer } from "./layers.js"
export { layerUnitOfWork, makeUnitOfWork } from "./unit-of-work.js"
export { layerLease, makeLease } from "./lease.js"
export { layerAdminStore, makeApiKeyStore, makeCredentialStore, makeStoreHealth } from "./admin-store.js"
export { appliedMigrations, inboxMigrations, mainMigrations, migrate, READ_MODEL_TABLES } from "./migrations.js"
export { decodeRow, getCheckpoint, type Projection } from "./projection.js"
export * from "./projections/index.js"
export { campaignStats, layerReadModels, makeReadModels, ReadModels, type ReadPorts } from "./read-models.js"
export { layerStatusMatching, makeStatusMatching } from "./status-matching.js"
export { layerParkedStatuses, makeParkedStatuses, type ParkedStatusRecord, ParkedStatuses } from "./parked-statuses.js"
export { catchUp, type CatchUpResult, DEFAULT_BATCH_SIZE, INLINE_GAP_LIMIT, projectInline, rebuild } from "./runner.js"
export { databaseFileFrom, rebuildDatabase } from "./cli/rebuild-command.js"
