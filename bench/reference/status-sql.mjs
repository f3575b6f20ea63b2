// @ts-check
// B2's reference: the least a status processor must do per status, with raw better-sqlite3 on a copy
// of the same databases — read the pending webhook bodies from the inbox, parse them, and for each
// status look up the message by wamid, append an event, and update the message row (its columns, and
// its stored state written back as it is: a row of the same size); one immediate
// transaction per body, then the body is marked processed. No decoding beyond JSON.parse, no domain
// logic, no ordering rules.
//
//   node bench/reference/status-sql.mjs <main database> <inbox database>
import Database from "better-sqlite3"

const [mainFile, inboxFile] = process.argv.slice(2)
if (mainFile === undefined || inboxFile === undefined) {
  console.error("usage: status-sql.mjs <main database> <inbox database>")
  process.exit(2)
}
const open = (/** @type {string} */ file) => {
  const db = new Database(file)
  db.pragma("journal_mode = WAL")
  db.pragma("synchronous = NORMAL")
  return db
}
const db = open(mainFile)
const inboxDb = open(inboxFile)

const pending = inboxDb.prepare("SELECT id, body FROM inbox WHERE state = 'pending' ORDER BY id LIMIT ?")
const processed = inboxDb.prepare("UPDATE inbox SET state = 'processed', processed_at = ? WHERE id = ?")
const lookUp = db.prepare("SELECT id, version, state FROM messages WHERE wamid = ?")
const append = db.prepare("INSERT INTO events (stream_id, version, type, schema_version, data, recorded_at) VALUES (?, ?, ?, ?, ?, ?)")
const update = db.prepare("UPDATE messages SET version = ?, status = ?, updated_at = ?, state = ? WHERE id = ?")

let applied = 0
let missing = 0
const apply = db.transaction((/** @type {any} */ webhook) => {
  const now = Date.now()
  for (const entry of webhook.entry) {
    for (const change of entry.changes) {
      for (const s of change.value.statuses ?? []) {
        const row = /** @type {{ id: string, version: number, state: string } | undefined} */ (lookUp.get(s.id))
        if (row === undefined) {
          missing++
          continue
        }
        const observation = {
          wamid: s.id,
          status: s.status,
          timestamp: Number(s.timestamp) * 1000,
          recipient: s.recipient_id ?? null,
          pricing: s.pricing === undefined
            ? null
            : { category: s.pricing.category, pricingModel: s.pricing.pricing_model, type: s.pricing.type, billable: s.pricing.billable },
          originType: s.conversation?.origin?.type ?? null,
          errors: []
        }
        const data = JSON.stringify({ _tag: "StatusObserved", messageId: row.id, observation, at: now })
        append.run(`Message-${row.id}`, row.version + 1, "StatusObserved", 2, data, now)
        update.run(row.version + 1, s.status, now, row.state, row.id)
        applied++
      }
    }
  }
})

const started = performance.now()
const cpuBefore = process.cpuUsage()
for (;;) {
  const rows = /** @type {Array<{ id: number, body: Buffer }>} */ (pending.all(50))
  if (rows.length === 0) break
  for (const r of rows) {
    apply.immediate(JSON.parse(r.body.toString("utf8")))
    processed.run(Date.now(), r.id)
  }
}
const ms = performance.now() - started
const cpu = process.cpuUsage(cpuBefore)
db.close()
inboxDb.close()
console.log(JSON.stringify({ applied, missing, ms, cpuMicrosPerStatus: (cpu.user + cpu.system) / Math.max(1, applied) }))
