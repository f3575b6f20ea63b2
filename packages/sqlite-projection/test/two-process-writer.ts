/**
 * One child process of `two-processes.test.ts`: the write path of the api and the worker — this
 * package's `layer` (migrations, event store, inline projections) under the domain's `handleCommand` —
 * on a database file another process writes at the same time (`runWriter` of
 * `@mm-gateway/ports/testing/model`). argv = [dbPath, writer, rounds].
 *
 * Node 20 cannot import TypeScript, so the test bundles this file with esbuild before spawning it.
 */
import { runWriter } from "@mm-gateway/ports/testing/model/writer"
import { layer } from "../src/layers.js"

const [dbPath, writer, rounds] = process.argv.slice(2)

if (dbPath === undefined || writer === undefined || rounds === undefined) throw new Error("usage: dbPath writer rounds")
runWriter(layer({ path: dbPath }), writer, Number(rounds)).catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack ?? error.message : String(error)}\n`)
  process.exit(1)
})
