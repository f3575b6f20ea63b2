/**
 * vitest's global setup: one PostgreSQL server for the whole test run of a package, started before its
 * first test file and stopped after its last. Every test file asks it for databases of its own
 * (`freshDatabase`, `migratedDatabase`, `createDatabase`), so files running at once in several workers
 * never share data. It also migrates one database once, which `migratedDatabase` copies.
 *
 * In a package's `vitest.config.ts`: `test: { globalSetup: ["@mm-gateway/postgres-projection/testing/global-setup"] }`.
 */
import type { TestProject } from "vitest/node"
import type {} from "./vitest.js"
import { createMigratedTemplate } from "./databases.js"
import { startPostgresServer } from "./server.js"

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const server = await startPostgresServer()
  try {
    project.provide("mmgwPostgresServerUrl", server.url)
    project.provide("mmgwPostgresTemplate", await createMigratedTemplate(server.url))
  } catch (error) {
    await server.stop()
    throw error
  }
  return () => server.stop()
}
