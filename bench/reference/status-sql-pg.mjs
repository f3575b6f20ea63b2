// @ts-check
// B2's reference on PostgreSQL: status-sql.mjs's statements through plain `pg` on a copy of the same
// database — read the pending webhook bodies from the inbox, parse them, and per status look the
// message up by wamid, append an event and update the message row (its stored state written back as
// it is); one transaction per body, in which the body is marked processed. Named prepared statements
// (as the store keeps them), no decoding beyond JSON.parse, no domain logic, no ordering rules.
//
//   node bench/reference/status-sql-pg.mjs <database URL>
import pg from "pg"

const url = process.argv[2]
if (url === undefined) {
  console.error("usage: status-sql-pg.mjs <database URL>")
  process.exit(2)
}
const client = new pg.Client({ connectionString: url })
await client.connect()
// The state as stored (json text), never parsed.
const LOOK_UP = { name: "look_up", text: "SELECT id, version, state::text AS state FROM messages WHERE wamid = $1" }
const APPEND = { name: "append", text: "INSERT INTO events (stream_id, version, type, schema_version, data, recorded_at) VALUES ($1, $2, $3, $4, $5::json, $6)" }
const UPDATE = { name: "update", text: "UPDATE messages SET version = $1, status = $2, updated_at = $3, state = $4::json WHERE id = $5" }
const PENDING = { name: "pending", text: "SELECT id, body FROM inbox WHERE state = 'pending' ORDER BY id LIMIT 50" }
const PROCESSED = { name: "processed", text: "UPDATE inbox SET state = 'processed', processed_at = $1 WHERE id = $2" }

let applied = 0
let missing = 0
const apply = async (/** @type {any} */ webhook) => {
  const now = Date.now()
  for (const entry of webhook.entry) {
    for (const change of entry.changes) {
      for (const s of change.value.statuses ?? []) {
        const { rows } = await client.query({ ...LOOK_UP, values: [s.id] })
        const row = rows[0]
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
        await client.query({ ...APPEND, values: [`Message-${row.id}`, row.version + 1, "StatusObserved", 2, data, now] })
        await client.query({ ...UPDATE, values: [row.version + 1, s.status, now, row.state, row.id] })
        applied++
      }
    }
  }
}

const started = performance.now()
const cpuBefore = process.cpuUsage()
for (;;) {
  const { rows } = await client.query(PENDING)
  if (rows.length === 0) break
  for (const r of rows) {
    await client.query("BEGIN")
    await apply(JSON.parse(r.body.toString("utf8")))
    await client.query({ ...PROCESSED, values: [Date.now(), r.id] })
    await client.query("COMMIT")
  }
}
const ms = performance.now() - started
const cpu = process.cpuUsage(cpuBefore)
await client.end()
console.log(JSON.stringify({ applied, missing, ms, cpuMicrosPerStatus: (cpu.user + cpu.system) / Math.max(1, applied) }))
