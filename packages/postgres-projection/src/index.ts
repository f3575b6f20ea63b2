/**
 * @mm-gateway/postgres-projection — persistence for mm-gateway on PostgreSQL (pg, kysely for the
 * migrations): every port of `@mm-gateway/ports` and the domain's store ports — the event store with
 * snapshots and inline read-model projections, the unit of work, the read side's queries, the webhook
 * inbox, leases, parked statuses behind `StatusMatching`, API keys, channel credentials, the store's
 * health — plus the projection runner and the rebuild. `layerPostgresStore` is all of them.
 */
export {
  DEFAULT_POOL_SIZE,
  DEFAULT_PORT,
  type DatabaseUrl,
  describeDatabaseUrl,
  InvalidDatabaseUrl,
  parseDatabaseUrl,
  postgresConfig,
  postgresConfigWhenSet,
  type PostgresSettings
} from "./config.js"
export { layerAdminStore, makeApiKeyStore, makeCredentialStore, makeStoreHealth } from "./admin-store.js"
export { APPEND_LOCK_KEY, type Database, PostgresDatabase } from "./connection.js"
export { layerDatabase, openPool, type PostgresOptions } from "./database.js"
export { decodeRow } from "./event-log.js"
export { layerEventStore, layerEventStoreFor, makeEventStore } from "./event-store.js"
export { layerInbox, makeInbox } from "./inbox.js"
export { layerLeases, makeLeases } from "./leases.js"
export { appliedMigrations, migrate, MIGRATION_LOCK_KEY, migrations } from "./migrations.js"
export { type Projection, type StatesAfter } from "./projection.js"
export * from "./read-models/index.js"
export { rebuildDatabase } from "./cli/rebuild-command.js"
export { moveFromSqlite, MoveRefused, type MoveSummary } from "./cli/from-sqlite-command.js"
export { catchUp, DEFAULT_BATCH_SIZE, INLINE_GAP_LIMIT, projectInline, rebuild } from "./runner.js"
export { snapshotsProjection } from "./snapshots.js"
export { layerStatusMatching, makeStatusMatching } from "./status-matching.js"
export { layerPostgresStore, layerProjectionRunner, layerReadModels, type PostgresStore, type ReadPorts } from "./store.js"
export { layerUnitOfWork, makeUnitOfWork } from "./unit-of-work.js"
