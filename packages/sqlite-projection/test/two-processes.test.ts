import { assert, describe, it } from "@effect/vitest"
import { EventStore } from "@mm-gateway/domain"
import {
  assertTwoWritersLog,
  assertTwoWritersReadModels,
  expectedEvents,
  run,
  runTwoWriters,
  SETUP,
  startWriter
} from "@mm-gateway/ports/testing/model"
import { Effect } from "effect"
import * as esbuild from "esbuild"
import * as fs from "node:fs"
import { createRequire } from "node:module"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { afterAll } from "vitest"
import { SqliteDatabase } from "../src/database.js"
import { headPosition } from "../src/event-log.js"
import { layer } from "../src/layers.js"
import { getCheckpoint } from "../src/projection.js"
import { rebuild } from "../src/runner.js"
import { dumpReadModels } from "./support.js"

const here = path.dirname(fileURLToPath(import.meta.url))
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mmgw-two-processes-"))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

/**
 * Node 20 cannot import TypeScript: the child is bundled from `two-process-writer.ts` with this
 * package's sources and the domain's (the `source` condition, as vitest resolves them). Only the native
 * better-sqlite3 addon stays outside, loaded from where this package resolves it.
 */
const bundleWriter = async (): Promise<string> => {
  const outfile = path.join(dir, "two-process-writer.mjs")
  const betterSqlite3 = pathToFileURL(createRequire(import.meta.url).resolve("better-sqlite3")).href
  await esbuild.build({
    entryPoints: [path.join(here, "two-process-writer.ts")],
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    conditions: ["source"],
    logLevel: "silent",
    plugins: [{
      name: "native-addon-outside",
      setup: (build) => build.onResolve({ filter: /^better-sqlite3$/ }, () => ({ path: betterSqlite3, external: true }))
    }]
  })
  return outfile
}

const ROUNDS = 120

describe("two OS processes on one database file", () => {
  it.live(
    "api-like and worker-like children write through the real event store at once: no error, conflicts retried, nothing lost or doubled, each reads its own writes, read models = rebuild",
    () =>
      Effect.gen(function*() {
        const dbPath = path.join(dir, "shared.sqlite")
        const script = yield* Effect.promise(bundleWriter)
        const store = yield* EventStore.EventStore
        const { db, projections } = yield* SqliteDatabase

        // The streams both children write to exist before they start.
        for (const c of SETUP) assert.isTrue((yield* run(c))._tag === "Right")
        const setup = headPosition(db)

        // Start barrier: both children have opened the file before either writes.
        const reports = yield* Effect.promise(() => runTwoWriters((w) => startWriter(script, [dbPath, w, String(ROUNDS)], w)))
        const all = yield* store.readAll(0, 1_000_000)
        assertTwoWritersLog(all, reports, setup, ROUNDS)
        // On SQLite a position is never skipped: they are dense.
        const total = expectedEvents(setup, ROUNDS)
        assert.deepStrictEqual(all.map((e) => e.globalPosition), Array.from({ length: total }, (_, i) => i + 1))

        // Both children projected inline: the parent catches nothing up, the read models are at the head already...
        for (const p of projections) assert.strictEqual(getCheckpoint(db, p.name), total, p.name)
        yield* assertTwoWritersReadModels(all, ROUNDS)
        // ...and they equal a rebuild from the log.
        const live = dumpReadModels(db)
        rebuild(db, projections)
        assert.deepStrictEqual(dumpReadModels(db), live)
      }).pipe(Effect.provide(layer({ path: path.join(dir, "shared.sqlite") }))),
    120_000
  )
})
