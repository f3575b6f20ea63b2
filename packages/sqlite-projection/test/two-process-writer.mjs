// A child process for two-processes.test.ts: appends to a shared database file with the adapter's
// own connection settings and append code (transpiled from src/ by the test), then reports on stdout.
import { createRequire } from "node:module"
import { pathToFileURL } from "node:url"

const [dbPath, coreDir, betterSqlite3, writer, countArg] = process.argv.slice(2)
const count = Number(countArg)
const Database = createRequire(import.meta.url)(betterSqlite3)
const { configure } = await import(pathToFileURL(`${coreDir}/connection.js`).href)
const { appendEncoded, streamVersion } = await import(pathToFileURL(`${coreDir}/event-log.js`).href)

const db = new Database(dbPath)
configure(db, "normal")

const renamed = (bm, name, at) => ({
  type: "BusinessManagerRenamed",
  schemaVersion: 1,
  data: { _tag: "BusinessManagerRenamed", businessManagerId: bm, name, at }
})

let conflicts = 0
let appended = 0
for (let i = 0; i < count; i++) {
  // Half the appends go to streams both writers share (optimistic concurrency is exercised), half to the writer's own.
  const bm = i % 2 === 0 ? String(1 + (i % 3)) : `9${writer}`
  const stream = `BusinessManager-${bm}`
  for (;;) {
    const expected = streamVersion(db, stream)
    const outcome = appendEncoded(db, stream, expected, [renamed(bm, `w${writer}-${i}`, i)], Date.now())
    if (outcome._tag === "Appended") {
      appended++
      break
    }
    conflicts++
  }
}
db.close()
process.stdout.write(JSON.stringify({ writer, appended, conflicts }))
