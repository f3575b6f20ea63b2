import { assert, describe, it } from "@effect/vitest"
import { Events, EventStore } from "@mm-gateway/domain"
import { Effect } from "effect"
import { SqliteDatabase } from "../src/database.js"
import { appendEncoded } from "../src/event-log.js"
import { layer } from "../src/layers.js"
import { getCheckpoint, type Projection } from "../src/projection.js"
import { allProjections } from "../src/projections/index.js"
import { catchUp, INLINE_GAP_LIMIT, rebuild } from "../src/runner.js"
import { type AnyCommand, attributeClick, businessTermsSigned, changeRouting, dispatchSucceeded, observe, recordTemplate, registerBm, registerChannel, registerWaba, requestMessage, run, startDispatch, suspend, userAction, wabaTermsSigned } from "@mm-gateway/ports/testing/model"
import { countRows, dumpReadModels } from "./support.js"

const scenario: ReadonlyArray<AnyCommand> = [
  registerBm(1, 1, "Acme"),
  registerWaba(10, 1, 2),
  registerWaba(11, 1, 3),
  wabaTermsSigned(10, 4),
  suspend(11, 5, 50),
  businessTermsSigned(1, 6),
  registerChannel(100, 10, 7),
  registerChannel(100, 10, 8, "marketing_messages"),
  changeRouting(false, "reject", 9),
  recordTemplate(10, "spring_sale", "MARKETING", 86_400, 10),
  recordTemplate(10, "spring_sale", "UTILITY", null, 11),
  requestMessage("m1", { at: 12 }),
  startDispatch("m1", 1, 13),
  dispatchSucceeded("m1", 1, "wamid.1", 14),
  observe("m1", "wamid.1", "delivered", 15, "marketing_lite"),
  userAction(100, "k1", 16),
  attributeClick("m1", "k1", 17)
]

const tablesOf = (db: SqliteDatabase["Type"]["db"], p: Projection) =>
  Object.fromEntries(p.tables.map((t) => [t, dumpReadModels(db)[t]]))

const withStore = <A, E>(effect: Effect.Effect<A, E, EventStore.EventStore | SqliteDatabase>) =>
  Effect.provide(effect, layer({ path: ":memory:" }))

describe("projections against real SQLite", () => {
  for (const projection of allProjections) {
    it.effect(`${projection.name}: applying the log twice equals applying it once, and fills its tables`, () =>
      withStore(Effect.gen(function*() {
        yield* Effect.forEach(scenario, run, { discard: true })
        const { db } = yield* SqliteDatabase
        const events = yield* (yield* EventStore.EventStore).readAll(0, 10_000)
        const live = tablesOf(db, projection)
        assert.isTrue(projection.tables.some((t) => countRows(db, t) > 0), `${projection.name} wrote nothing`)
        for (const t of projection.tables) db.exec(`DELETE FROM "${t}"`)
        // One event at a time, and the whole log as one batch: the same rows either way, and again nothing new.
        const oneByOne = (list: ReadonlyArray<EventStore.StoredEvent>) => db.transaction(() => list.forEach((e) => projection.apply(db, [e])))()
        const asOneBatch = (list: ReadonlyArray<EventStore.StoredEvent>) => db.transaction(() => projection.apply(db, list))()
        oneByOne(events)
        const once = tablesOf(db, projection)
        oneByOne(events)
        assert.deepStrictEqual(tablesOf(db, projection), once)
        assert.deepStrictEqual(once, live)
        asOneBatch(events)
        assert.deepStrictEqual(tablesOf(db, projection), once)
        for (const t of projection.tables) db.exec(`DELETE FROM "${t}"`)
        asOneBatch(events)
        assert.deepStrictEqual(tablesOf(db, projection), once)
      })))
  }

  it.effect("checkpoints move with every append, in the same transaction as the rows", () =>
    withStore(Effect.gen(function*() {
      const { db } = yield* SqliteDatabase
      const result = yield* Effect.either(run(registerBm(1, 1)))
      assert.isTrue(result._tag === "Right")
      for (const p of allProjections) assert.strictEqual(getCheckpoint(db, p.name), 1)
      yield* run(requestMessage("m1", { at: 2 }))
      for (const p of allProjections) assert.strictEqual(getCheckpoint(db, p.name), 3)
    })))

  it.effect("events another writer left unprojected are projected before the next append's own", () =>
    withStore(Effect.gen(function*() {
      const { db } = yield* SqliteDatabase
      const raw = Events.encodeEvent({ _tag: "BusinessManagerRegistered", businessManagerId: "5" as never, name: "raw", via: "operator", at: 1 })
      appendEncoded(db, "BusinessManager-5", "no_stream", [raw], 1)
      assert.strictEqual(countRows(db, "business_managers"), 0)
      yield* run(registerBm(6, 2))
      assert.strictEqual(countRows(db, "business_managers"), 2)
      assert.strictEqual(getCheckpoint(db, "onboarding"), 2)
    })))

  it.effect("a backlog larger than the inline limit is left to the runner, which catches up in batches", () =>
    withStore(Effect.gen(function*() {
      const { db, projections } = yield* SqliteDatabase
      const n = INLINE_GAP_LIMIT + 10
      db.transaction(() => {
        for (let i = 0; i < n; i++) {
          const e = Events.encodeEvent({ _tag: "BusinessManagerRegistered", businessManagerId: String(1000 + i) as never, name: null, via: "webhook", at: i })
          appendEncoded(db, `BusinessManager-${1000 + i}`, "no_stream", [e], i)
        }
      })()
      yield* run(registerBm(1, 1))
      assert.strictEqual(countRows(db, "business_managers"), 0)
      assert.strictEqual(getCheckpoint(db, "onboarding"), 0)
      const result = catchUp(db, projections, 1000)
      assert.strictEqual(result.applied, n + 1)
      assert.strictEqual(countRows(db, "business_managers"), n + 1)
      for (const p of projections) assert.strictEqual(getCheckpoint(db, p.name), n + 1)
      assert.strictEqual(catchUp(db, projections).applied, 0)
    })))

  it.effect("rebuild clears every read model and checkpoint, then gives the same tables", () =>
    withStore(Effect.gen(function*() {
      yield* Effect.forEach(scenario, run, { discard: true })
      const { db, projections } = yield* SqliteDatabase
      const live = dumpReadModels(db)
      db.exec("UPDATE messages SET status = 'tampered'")
      const result = rebuild(db, projections, 3)
      assert.strictEqual(result.applied, (yield* (yield* EventStore.EventStore).readAll(0, 10_000)).length)
      assert.deepStrictEqual(dumpReadModels(db), live)
    })))
})
