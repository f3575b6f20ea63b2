/**
 * vitest's global setup: one PostgreSQL server for the whole test run of a package, started before its
 * first test file and stopped after its last. Every test file asks it for databases of its own
 * (`freshDatabase`, `createDatabase`), so files running at once in several workers never share data.
 *
 * In a package's `vitest.config.ts`: `test: { globalSetup: ["@mm-gateway/postgres-projection/testing/global-setup"] }`.
 */
import type { TestProject } from "vitest/node"
import type {} from "./vitest.js"
import { startPostgresServer } from "./server.js"

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const server = await startPostgresServer()
  project.provide("mmgwPostgresServerUrl", server.url)
  return () => server.stop()
}
