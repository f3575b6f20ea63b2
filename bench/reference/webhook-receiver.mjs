// @ts-check
// B1's reference: the least a webhook receiver can do and still be correct — a bare node:http server
// that reads the body, checks X-Hub-Signature-256 (HMAC-SHA256, constant-time compare), parses the
// JSON and inserts one row into SQLite (WAL, synchronous=NORMAL, like the gateway's default) before
// answering 200. No framework, no dedupe, no headers kept.
//
//   node bench/reference/webhook-receiver.mjs <port> <database file> <app secret>
import Database from "better-sqlite3"
import { createHmac, timingSafeEqual } from "node:crypto"
import { createServer } from "node:http"

const [port, file, secret] = process.argv.slice(2)
if (port === undefined || file === undefined || secret === undefined) {
  console.error("usage: webhook-receiver.mjs <port> <database> <app secret>")
  process.exit(2)
}
const db = new Database(file)
db.pragma("journal_mode = WAL")
db.pragma("synchronous = NORMAL")
db.exec("CREATE TABLE IF NOT EXISTS inbox (id INTEGER PRIMARY KEY, received_at INTEGER NOT NULL, body BLOB NOT NULL)")
const insert = db.prepare("INSERT INTO inbox (received_at, body) VALUES (?, ?)")

const server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
  if (req.method === "GET") {
    res.writeHead(200).end("ok")
    return
  }
  const chunks = /** @type {Array<Buffer>} */ ([])
  req.on("data", (c) => chunks.push(c))
  req.on("end", () => {
    const body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)
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
    insert.run(Date.now(), body)
    res.writeHead(200, { "content-type": "application/json" }).end("{\"status\":\"accepted\"}")
  })
})
server.listen(Number(port), "127.0.0.1", () => console.log(`reference webhook receiver on 127.0.0.1:${port}`))
const stop = () => server.close(() => {
  db.close()
  process.exit(0)
})
process.on("SIGTERM", stop)
process.on("SIGINT", stop)
