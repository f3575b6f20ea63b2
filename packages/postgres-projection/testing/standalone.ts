/**
 * @mm-gateway/postgres-projection/testing/standalone — a real PostgreSQL server and databases on it,
 * outside vitest (benchmarks, scripts, a test's child processes): nothing here imports vitest.
 */
export { createDatabase, createMigratedTemplate, type TestDatabase } from "./databases.js"
export { type PostgresServer, startPostgresServer, type StartOptions } from "./server.js"
