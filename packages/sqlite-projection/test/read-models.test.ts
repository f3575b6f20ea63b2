import { assert, describe, it } from "@effect/vitest"
import { EventStore } from "@mm-gateway/domain"
import { Effect } from "effect"
import { SqliteDatabase } from "../src/database.js"
import { layer } from "../src/layers.js"
import { ReadModels } from "../src/read-models.js"
import { registerBm, registerWaba, requestMessage, run, startDispatch, suspend, wabaTermsSigned } from "@mm-gateway/ports/testing/model"

const withStore = <A, E>(effect: Effect.Effect<A, E, ReadModels | EventStore.EventStore | SqliteDatabase>) =>
  Effect.provide(effect, layer({ path: ":memory:" }))

const all = (commands: ReadonlyArray<Parameters<typeof run>[0]>) =>
  Effect.forEach(commands, (c) => run(c), { discard: true })

// What every query port answers is the contract suites' (test/port-contracts.test.ts); here, how SQLite keeps it.
describe("read models on SQLite", () => {
  it.effect("a WABA's stored status columns are as of its last fact; readers recompute them with their own now", () =>
    withStore(Effect.gen(function*() {
      const read = yield* ReadModels
      const { db } = yield* SqliteDatabase
      yield* all([registerBm(1, 1), registerWaba(10, 1, 2), wabaTermsSigned(10, 3), suspend(10, 100, 500)])
      const row = db.prepare("SELECT mm_status, suspended_until, as_of FROM wabas WHERE id = '10'").get()
      assert.deepStrictEqual(row, { mm_status: "suspended", suspended_until: 500, as_of: 100 })
      assert.strictEqual((yield* read.waba("10", 600))?.mmApi.status, "onboarded")
      assert.deepStrictEqual((yield* read.wabas({ status: "onboarded", now: 600 })).items.map((w) => w.id), ["10"])
    })))

  it.effect("the event store is what the API reads for a message's audit trail", () =>
    withStore(Effect.gen(function*() {
      const store = yield* EventStore.EventStore
      yield* all([requestMessage("m1", { at: 1 }), startDispatch("m1", 1, 2)])
      const read = yield* store.readStream("Message-m1")
      assert.deepStrictEqual(read.events.map((e) => e.event._tag), ["MessageRequested", "MessageRouted", "DispatchStarted"])
    })))
})
