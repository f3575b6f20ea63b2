/**
 * @mm-gateway/sqlite-projection — persistence for mm-gateway on SQLite (WAL, kysely + better-sqlite3):
 * the event store with inline read-model projections, the projection runner and rebuild, the webhook
 * inbox, and the worker lease.
 */
export { configure, type Database, DEFAULT_BUSY_TIMEOUT_MS, type Durability, immediate, retryBusy } from "./connection.js"
export { layerDatabase, openDatabase, SqliteDatabase, type SqliteOptions } from "./database.js"
export { layerEventStore, layerEventStoreFor, makeEventStore } from "./event-store.js"
export { appliedMigrations, inboxMigrations, mainMigrations, migrate, READ_MODEL_TABLES } from "./migrations.js"
export { decodeRow, getCheckpoint, type Projection } from "./projection.js"
export * from "./projections/index.js"
export { catchUp, type CatchUpResult, DEFAULT_BATCH_SIZE, INLINE_GAP_LIMIT, projectInline, rebuild } from "./runner.js"
