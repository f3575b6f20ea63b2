import { assert, describe, it } from "@effect/vitest"
import pg from "pg"
import { afterEach } from "vitest"
import { openPool } from "../src/database.js"
import { appliedMigrations, migrate, migrations } from "../src/migrations.js"
import { createDatabase, serverUrl, type TestDatabase } from "../testing/index.js"

const all = Object.keys(migrations).sort()

const opened: Array<{ readonly database: TestDatabase; readonly pools: ReadonlyArray<pg.Pool> }> = []
afterEach(async () => {
  for (const { database, pools } of opened.splice(0)) {
    await Promise.all(pools.map((pool) => pool.end()))
    await database.drop()
  }
})

/** A fresh database and `count` pools on it: sessions of their own, as other processes have. */
const fresh = async (count = 1): Promise<ReadonlyArray<pg.Pool>> => {
  const database = await createDatabase(serverUrl())
  const pools = Array.from({ length: count }, () => openPool({ url: database.url, poolSize: 2 }))
  opened.push({ database, pools })
  return pools
}

describe("migrations", () => {
  it("bring an empty database to the latest version, in order, and a second run finds nothing to do", async () => {
    const [pool] = await fresh()
    assert.deepStrictEqual(await appliedMigrations(pool!), [])
    assert.deepStrictEqual(await migrate(pool!), all)
    assert.deepStrictEqual(await appliedMigrations(pool!), all)
    assert.deepStrictEqual(await migrate(pool!), [])
    const tables = await pool!.query<{ table_name: string }>(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_name NOT LIKE 'kysely_%' ORDER BY table_name"
    )
    assert.deepStrictEqual(tables.rows.map((r) => r.table_name), [
      "api_keys",
      "business_managers",
      "channel_credentials",
      "channels",
      "click_attributions",
      "clicks",
      "dispatch_starts",
      "events",
      "forward_deliveries",
      "inbox",
      "leases",
      "messages",
      "parked_statuses",
      "partner_settings",
      "projection_checkpoints",
      "snapshots",
      "templates",
      "wabas",
      "webhook_endpoints",
      "workers"
    ])
  })

  it("bring a database from an earlier version to the latest", async () => {
    const [pool] = await fresh()
    assert.deepStrictEqual(await migrate(pool!, "0001_event_log"), ["0001_event_log"])
    assert.deepStrictEqual(await migrate(pool!), all.slice(1))
    assert.deepStrictEqual(await appliedMigrations(pool!), all)
  })

  it("run once when several processes start together: one applies them all, the others wait and find nothing left", async () => {
    const pools = await fresh(6)
    const results = await Promise.all(pools.map((pool) => migrate(pool)))
    assert.deepStrictEqual(results.map((applied) => applied.length).sort(), [0, 0, 0, 0, 0, all.length])
    assert.deepStrictEqual(results.find((applied) => applied.length > 0), all)
    const rows = await pools[0]!.query<{ name: string; n: string }>("SELECT name, count(*) AS n FROM kysely_migration GROUP BY name ORDER BY name")
    assert.deepStrictEqual(rows.rows.map((r) => [r.name, Number(r.n)]), all.map((name) => [name, 1]))
  })

  it("give the events table a global position that rises with every insert and one row per (stream, version)", async () => {
    const [pool] = await fresh()
    await migrate(pool!)
    const insert = (stream: string, version: number) =>
      pool!.query<{ global_position: string }>(
        "INSERT INTO events (stream_id, version, type, schema_version, data, recorded_at) VALUES ($1, $2, 'T', 1, '{}', 0) RETURNING global_position",
        [stream, version]
      )
    const first = Number((await insert("A-1", 1)).rows[0]!.global_position)
    const second = Number((await insert("B-1", 1)).rows[0]!.global_position)
    assert.isTrue(second > first)
    const clash = await insert("A-1", 1).then(() => null, (error: { code?: string }) => error.code)
    assert.strictEqual(clash, "23505")
  })
})
