// @ts-check
// B1's reference on PostgreSQL (`pnpm bench --store postgres`): the same bare node:http receiver as
// webhook-receiver.mjs — read the body, check X-Hub-Signature-256 in constant time, parse the JSON —
// with one INSERT through a plain `pg` pool of the gateway's default size (10) before answering 200.
//
//   node bench/reference/webhook-receiver-pg.mjs <port> <database URL> <app secret>
import { createHmac, timingSafeEqual } from "node:crypto"
import { createServer } from "node:http"
import pg from "pg"

const [port, url, secret] = process.argv.slice(2)
if (port === undefined || url === undefined || secret === undefined) {
  console.error("usage: webhook-receiver-pg.mjs <port> <database URL> <app secret>")
  process.exit(2)
}
const pool = new pg.Pool({ connectionString: url, max: 10 })
await pool.query("CREATE TABLE IF NOT EXISTS reference_inbox (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, received_at bigint NOT NULL, body bytea NOT NULL)")
const INSERT = { name: "reference_insert", text: "INSERT INTO reference_inbox (received_at, body) VALUES ($1, $2)" }

const server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
  if (req.method === "GET") {
    res.writeHead(200).end("ok")
    return
  }
  const chunks = /** @type {Array<Buffer>} */ ([])
  req.on("data", (c) => chunks.push(c))
  req.on("end", () => {
    const body = chunks.length === 1 ? /** @type {Buffer} */ (chunks[0]) : Buffer.concat(chunks)
    const header = req.headers["x-hub-signature-256"]
    const expected = createHmac("sha256", secret).update(body).digest()
    const given = typeof header === "string" && header.startsWith("sha256=") ? Buffer.from(header.slice(7), "hex") : Buffer.alloc(0)
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      res.writeHead(401).end()
      return
    }
    try {
      JSON.parse(body.toString("utf8"))
    } catch {
      res.writeHead(400).end()
      return
    }
    pool.query({ ...INSERT, values: [Date.now(), body] }).then(
      () => res.writeHead(200, { "content-type": "application/json" }).end("{\"status\":\"accepted\"}"),
      () => res.writeHead(503).end()
    )
  })
})
server.listen(Number(port), "127.0.0.1", () => console.log(`reference webhook receiver (PostgreSQL) on 127.0.0.1:${port}`))
const stop = () => server.close(() => {
  pool.end().then(() => process.exit(0))
})
process.on("SIGTERM", stop)
process.on("SIGINT", stop)
