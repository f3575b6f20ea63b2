/**
 * Invariant 5 (docs/invariants.md#invariant-5) on PostgreSQL, model-based: the property of
 * `@mm-gateway/ports/testing/model` (random command sequences across every stream, the log and every
 * query-port answer compared with the model after each command) against the real server, each run on a
 * database of its own. At the end of each run the live read models and snapshots must equal a rebuild
 * from the log in small batches, a second rebuild, and every event applied once more.
 */
import { assert, describe, it } from "@effect/vitest"
import { EventStore } from "@mm-gateway/domain"
import { propertySettings } from "@mm-gateway/domain/testing"
import { rebuildEqualsLive, storeUnderTest } from "@mm-gateway/ports/testing/model"
import { Effect } from "effect"
import { inTransaction, holdAppendLock, PostgresDatabase } from "../src/connection.js"
import { allProjections } from "../src/read-models/index.js"
import { rebuild } from "../src/runner.js"
import { snapshotsProjection } from "../src/snapshots.js"
import { dumpReadModels, freshStore } from "./support.js"

// Modest by default so `pnpm test` stays quick; FC_NUM_RUNS raises it, FC_SEED replays a printed seed.
const SETTINGS = propertySettings(10)

const everything = [...allProjections, snapshotsProjection]

/** At the end: live rows = rebuilt from the log = rebuilt again; applying every event once more changes nothing. */
const liveEqualsRebuild = Effect.gen(function*() {
  const db = yield* PostgresDatabase
  const events = yield* (yield* EventStore.EventStore).readAll(0, 1_000_000)
  const live = yield* dumpReadModels(db)
  yield* rebuild(db, everything, 7)
  assert.deepStrictEqual(yield* dumpReadModels(db), live)
  yield* rebuild(db, everything)
  assert.deepStrictEqual(yield* dumpReadModels(db), live)
  yield* inTransaction(db, async (session) => {
    await holdAppendLock(session)
    for (const p of everything) for (const e of events) await p.apply(session, [e])
  }, { appendLock: true })
  assert.deepStrictEqual(yield* dumpReadModels(db), live)
  return Object.values(live).reduce((n, rows) => n + rows.length, 0)
})

describe("invariant 5 on PostgreSQL: rebuilding the read models from the log equals live projection", () => {
  it.effect("model-based: after every command the inline read models equal the model; at the end live = rebuild = rebuild again, snapshots included", () =>
    Effect.promise(() => rebuildEqualsLive([storeUnderTest("postgres", freshStore, liveEqualsRebuild)], SETTINGS)), Math.max(120_000, SETTINGS.numRuns * 10_000))
})
