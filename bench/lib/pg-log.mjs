// @ts-check
// An event log made on SQLite (make-log.mjs) brought into a PostgreSQL database, for the benchmarks on
// PostgreSQL: with `--move`, as a deployment moves (`moveFromSqlite`: the log copied, the read models and
// snapshots rebuilt — B2's setup); without, the events alone into a migrated database, for B4 to rebuild.
//
//   node bench/lib/pg-log.mjs <sqlite file> <database URL> [--move]
import { migrate, moveFromSqlite, openPool } from "@mm-gateway/postgres-projection"
import { inboxMigrations, inboxPathFor, migrate as migrateSqlite, openDatabase } from "@mm-gateway/sqlite-projection"
import { Effect } from "effect"

const [file, url, mode] = process.argv.slice(2)
if (file === undefined || url === undefined) {
  console.error("usage: pg-log.mjs <sqlite file> <database URL> [--move]")
  process.exit(2)
}
const started = performance.now()
if (mode === "--move") {
  // make-log writes the main database only; a deployment has its (here empty) inbox beside it.
  const inbox = openDatabase(inboxPathFor(file))
  await migrateSqlite(inbox, inboxMigrations)
  inbox.close()
  const moved = await Effect.runPromise(moveFromSqlite(file, { url }))
  console.log(JSON.stringify({ events: moved.events, ms: performance.now() - started }))
} else {
  const source = openDatabase(file)
  const pool = openPool({ url, poolSize: 1 })
  await migrate(pool)
  const read = source.prepare("SELECT * FROM events WHERE global_position > ? ORDER BY global_position LIMIT 5000")
  let after = 0
  let events = 0
  for (;;) {
    const rows = /** @type {Array<any>} */ (read.all(after))
    if (rows.length === 0) break
    await pool.query(
      `INSERT INTO events (global_position, stream_id, version, type, schema_version, data, recorded_at) OVERRIDING SYSTEM VALUE
       SELECT p, s, v, t, sv, d::json, r FROM unnest($1::bigint[], $2::text[], $3::int[], $4::text[], $5::int[], $6::text[], $7::bigint[]) AS u(p, s, v, t, sv, d, r)`,
      [rows.map((r) => r.global_position), rows.map((r) => r.stream_id), rows.map((r) => r.version), rows.map((r) => r.type),
        rows.map((r) => r.schema_version), rows.map((r) => r.data), rows.map((r) => r.recorded_at)]
    )
    events += rows.length
    after = rows[rows.length - 1].global_position
  }
  await pool.query("SELECT setval(pg_get_serial_sequence('events', 'global_position'), $1)", [after])
  await pool.end()
  source.close()
  console.log(JSON.stringify({ events, ms: performance.now() - started }))
}
