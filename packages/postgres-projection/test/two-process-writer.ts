/**
 * One child process of `two-processes.test.ts`: the write path of the api and the worker — this
 * package's `layerPostgresStore` (event store, inline projections, query ports) under the domain's
 * `handleCommand` — on a database another process writes at the same time (`runWriter` of
 * `@mm-gateway/ports/testing/model/writer`). argv = [databaseUrl, writer, rounds].
 *
 * Node 20 cannot import TypeScript, so the test bundles this file with esbuild before spawning it.
 */
import { runWriter } from "@mm-gateway/ports/testing/model/writer"
import { layerPostgresStore } from "../src/store.js"

const [url, writer, rounds] = process.argv.slice(2)

if (url === undefined || writer === undefined || rounds === undefined) throw new Error("usage: databaseUrl writer rounds")
runWriter(layerPostgresStore({ url, poolSize: 4 }), writer, Number(rounds)).catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack ?? error.message : String(error)}\n`)
  process.exit(1)
})
