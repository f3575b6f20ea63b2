// @ts-check
// B4's reference: the least a rebuild must do — read every event of the log in order, in the same
// batches, and write one row per event, one transaction per batch. No decoding, no domain logic.
import Database from "better-sqlite3"

const file = process.argv[2]
if (file === undefined) process.exit(2)
const db = new Database(file)
db.pragma("journal_mode = WAL")
db.pragma("synchronous = NORMAL")
db.exec("DROP TABLE IF EXISTS reference_copy")
db.exec("CREATE TABLE reference_copy (position INTEGER PRIMARY KEY, stream_id TEXT NOT NULL, type TEXT NOT NULL, data TEXT NOT NULL)")
const read = db.prepare("SELECT * FROM events WHERE global_position > ? ORDER BY global_position LIMIT ?")
const write = db.prepare("INSERT INTO reference_copy (position, stream_id, type, data) VALUES (?, ?, ?, ?)")
const batch = db.transaction((/** @type {Array<any>} */ rows) => {
  for (const r of rows) write.run(r.global_position, r.stream_id, r.type, r.data)
})
const started = performance.now()
let position = 0
let applied = 0
for (;;) {
  const rows = read.all(position, 2000)
  if (rows.length === 0) break
  batch(rows)
  applied += rows.length
  position = /** @type {any} */ (rows[rows.length - 1]).global_position
}
const ms = performance.now() - started
db.close()
console.log(JSON.stringify({ applied, ms, maxRssMiB: process.resourceUsage().maxRSS / 1024 }))
