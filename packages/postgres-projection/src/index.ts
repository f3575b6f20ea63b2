/**
 * @mm-gateway/postgres-projection — persistence for mm-gateway on PostgreSQL (pg, kysely for the
 * migrations): so far the event store with snapshots behind the domain's `EventStore`, its
 * `UnitOfWork`, the webhook inbox, the leases, the migrations and the connection settings. See the
 * README for what comes next.
 */
export {
  DEFAULT_POOL_SIZE,
  DEFAULT_PORT,
  type DatabaseUrl,
  describeDatabaseUrl,
  InvalidDatabaseUrl,
  parseDatabaseUrl,
  postgresConfig
} from "./config.js"
export { APPEND_LOCK_KEY, type Database, PostgresDatabase } from "./connection.js"
export { layerDatabase, openPool, type PostgresOptions } from "./database.js"
export { decodeRow, layerEventStore, layerEventStoreFor, makeEventStore } from "./event-store.js"
export { layerInbox, makeInbox } from "./inbox.js"
export { layerLeases, makeLeases } from "./leases.js"
export { appliedMigrations, migrate, MIGRATION_LOCK_KEY, migrations } from "./migrations.js"
export { layerUnitOfWork, makeUnitOfWork } from "./unit-of-work.js"
