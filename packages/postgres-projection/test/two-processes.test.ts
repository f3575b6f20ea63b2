import { assert, describe, it } from "@effect/vitest"
import { EventStore } from "@mm-gateway/domain"
import { assertTwoWritersLog, assertTwoWritersReadModels, run, runTwoWriters, SETUP, startWriter } from "@mm-gateway/ports/testing/model"
import { Effect, Layer } from "effect"
import * as esbuild from "esbuild"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll } from "vitest"
import { PostgresDatabase, statements } from "../src/connection.js"
import { allProjections } from "../src/read-models/index.js"
import { rebuild } from "../src/runner.js"
import { layerPostgresStore } from "../src/store.js"
import { migratedDatabase } from "../testing/index.js"
import { dumpReadModels } from "./support.js"

const here = path.dirname(fileURLToPath(import.meta.url))
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mmgw-pg-two-processes-"))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

/**
 * Node 20 cannot import TypeScript: the child is bundled from `two-process-writer.ts` with this
 * package's sources and the domain's (the `source` condition, as vitest resolves them), `pg` included.
 */
const bundleWriter = async (): Promise<string> => {
  const outfile = path.join(dir, "two-process-writer.mjs")
  await esbuild.build({
    entryPoints: [path.join(here, "two-process-writer.ts")],
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    conditions: ["source"],
    logLevel: "silent",
    banner: { js: "import { createRequire as __mmgwCreateRequire } from 'node:module'; const require = __mmgwCreateRequire(import.meta.url);" }
  })
  return outfile
}

const ROUNDS = 120

describe("two OS processes on one PostgreSQL database", () => {
  it.live(
    "api-like and worker-like processes write through the real store at once: no error, conflicts retried, nothing lost or doubled, each reads its own writes, a third sees it all at once, read models = rebuild",
    () =>
      Effect.scoped(Effect.gen(function*() {
        const url = yield* migratedDatabase
        const script = yield* Effect.promise(bundleWriter)
        yield* Effect.gen(function*() {
          const store = yield* EventStore.EventStore
          const db = yield* PostgresDatabase
          // The streams both children write to exist before they start.
          for (const c of SETUP) assert.isTrue((yield* run(c))._tag === "Right")
          const setup = (yield* store.readAll(0, 1_000)).length

          // Start barrier: both children have opened (and migrated) the database before either writes.
          const reports = yield* Effect.promise(() => runTwoWriters((w) => startWriter(script, [url, w, String(ROUNDS)], w)))
          const all = yield* store.readAll(0, 1_000_000)
          assertTwoWritersLog(all, reports, setup, ROUNDS)

          // Both children projected inline: the checkpoint is at the head, and this process, which
          // catches nothing up, reads everything they wrote...
          const [checkpoint] = yield* statements(db, (session) =>
            session.query<{ position: string }>({ text: "SELECT position FROM projection_checkpoints WHERE name = 'read_models'" }))
          assert.strictEqual(Number(checkpoint?.position), all.at(-1)!.globalPosition)
          yield* assertTwoWritersReadModels(all, ROUNDS)
          // ...and the read models equal a rebuild from the log.
          const live = yield* dumpReadModels(db)
          yield* rebuild(db, allProjections)
          assert.deepStrictEqual(yield* dumpReadModels(db), live)
        }).pipe(Effect.provide(Layer.fresh(layerPostgresStore({ url }))))
      })),
    180_000
  )
})
