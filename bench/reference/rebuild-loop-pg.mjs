// @ts-check
// B4's reference on PostgreSQL: the least a rebuild must do, through plain `pg` — read every event of
// the log in order, in the same batches of 2000, and write one row per event, one transaction and one
// multi-row INSERT per batch. No decoding, no domain logic.
//
//   node bench/reference/rebuild-loop-pg.mjs <database URL>
import pg from "pg"

const url = process.argv[2]
if (url === undefined) process.exit(2)
const client = new pg.Client({ connectionString: url })
await client.connect()
await client.query("DROP TABLE IF EXISTS reference_copy")
await client.query("CREATE TABLE reference_copy (position bigint PRIMARY KEY, stream_id text NOT NULL, type text NOT NULL, data json NOT NULL)")
const started = performance.now()
let position = 0
let applied = 0
for (;;) {
  await client.query("BEGIN")
  const { rows } = await client.query({
    name: "read",
    text: "SELECT global_position, stream_id, type, data::text AS data FROM events WHERE global_position > $1 ORDER BY global_position LIMIT 2000",
    values: [position]
  })
  if (rows.length === 0) {
    await client.query("COMMIT")
    break
  }
  await client.query({
    name: "write",
    text: "INSERT INTO reference_copy (position, stream_id, type, data) SELECT p, s, t, d::json FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[]) AS u(p, s, t, d)",
    values: [rows.map((r) => r.global_position), rows.map((r) => r.stream_id), rows.map((r) => r.type), rows.map((r) => r.data)]
  })
  await client.query("COMMIT")
  applied += rows.length
  position = Number(rows[rows.length - 1].global_position)
}
const ms = performance.now() - started
await client.end()
console.log(JSON.stringify({ applied, ms, maxRssMiB: process.resourceUsage().maxRSS / 1024 }))
