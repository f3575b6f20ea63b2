/**
 * Invariant 5 (docs/invariants.md#invariant-5) on SQLite, model-based: the property of
 * `@mm-gateway/ports/testing/model` (random command sequences across every stream, the log and every
 * query-port answer compared with the model after each command) against the real SQLite store with its
 * inline projections and against the memory store (`@mm-gateway/memory-store`, the other store that
 * answers the same ports). At the end of each run SQLite's live tables must equal a rebuild from the
 * log, a second rebuild, and every event applied once more.
 */
import { describe, it } from "@effect/vitest"
import { propertySettings } from "@mm-gateway/domain/testing"
import { EventStore } from "@mm-gateway/domain"
import { layerMemoryStore } from "@mm-gateway/memory-store"
import { rebuildEqualsLive, storeUnderTest } from "@mm-gateway/ports/testing/model"
import { assert } from "@effect/vitest"
import { Effect } from "effect"
import { SqliteDatabase } from "../src/database.js"
import { layer } from "../src/layers.js"
import { allProjections } from "../src/projections/index.js"
import { rebuild } from "../src/runner.js"
import { dumpReadModels } from "./support.js"

// Modest by default so `pnpm test` stays quick; FC_NUM_RUNS raises it (e.g. 500 for a deep run),
// FC_SEED replays a printed seed (propertySettings reads both strictly).
const SETTINGS = propertySettings(20)

/** At the end: live tables = rebuilt from the log = rebuilt again; applying every event once more changes nothing. */
const liveEqualsRebuild = Effect.gen(function*() {
  const { db } = yield* SqliteDatabase
  const events = yield* (yield* EventStore.EventStore).readAll(0, 1_000_000)
  const live = dumpReadModels(db)
  rebuild(db, allProjections, 7)
  assert.deepStrictEqual(dumpReadModels(db), live)
  rebuild(db, allProjections)
  assert.deepStrictEqual(dumpReadModels(db), live)
  db.transaction(() => {
    for (const p of allProjections) for (const e of events) p.apply(db, [e])
  })()
  assert.deepStrictEqual(dumpReadModels(db), live)
  return Object.values(live).reduce((n, rows) => n + rows.length, 0)
})

describe("invariant 5: rebuilding the read models from the log equals live projection", () => {
  it.effect("model-based: after every command the inline read models of SQLite and of the memory store equal the model; at the end live = rebuild = rebuild again", () =>
    Effect.promise(() =>
      rebuildEqualsLive([
        storeUnderTest("sqlite", () => layer({ path: ":memory:" }), liveEqualsRebuild),
        storeUnderTest("memory store", () => layerMemoryStore)
      ], SETTINGS)
    ), Math.max(120_000, SETTINGS.numRuns * 2_000))
})
