import { assert, describe, it } from "@effect/vitest"
import { BusinessManager, EventStore, Events, type Ids } from "@mm-gateway/domain"
import { OnboardingQueries, ProjectionRunner } from "@mm-gateway/ports"
import { dispatchSucceeded, observe, registerBm, registerWaba, requestMessage, run, startDispatch } from "@mm-gateway/ports/testing/model"
import { Effect, Either, Layer } from "effect"
import { rebuildDatabase } from "../src/cli/rebuild-command.js"
import { PostgresDatabase, statements } from "../src/connection.js"
import { INLINE_GAP_LIMIT } from "../src/runner.js"
import { layerPostgresStore } from "../src/store.js"
import { migratedDatabase } from "../testing/index.js"
import { dumpReadModels } from "./support.js"

/** SQL on the store's own pool, for what a test does behind the store's back. */
const sql = (text: string, values: ReadonlyArray<unknown> = []) =>
  Effect.flatMap(PostgresDatabase, (db) => statements(db, (session) => session.query<Record<string, unknown>>({ text, values })))

const checkpoint = Effect.map(sql("SELECT position FROM projection_checkpoints WHERE name = 'read_models'"), (rows) => Number(rows[0]?.position ?? 0))

describe("the rebuild and the runner on PostgreSQL", () => {
  it.effect("the rebuild command rebuilds tampered read models and dropped snapshots into what live processes wrote; a command then starts from a rebuilt snapshot", () =>
    Effect.scoped(Effect.gen(function*() {
      const url = yield* migratedDatabase
      const store = Layer.fresh(layerPostgresStore({ url }))
      const commands = [registerBm(1, 1), registerWaba(10, 1, 2), requestMessage("m2", { at: 3 }), startDispatch("m2", 1, 4), dispatchSucceeded("m2", 1, "w.m2", 5)]
      const live = yield* Effect.provide(
        Effect.gen(function*() {
          for (const c of commands) assert.isTrue(Either.isRight(yield* run(c)))
          const db = yield* PostgresDatabase
          const dump = yield* dumpReadModels(db)
          yield* sql("DELETE FROM wabas; UPDATE business_managers SET name = 'tampered'; DELETE FROM snapshots")
          return dump
        }),
        store
      )
      assert.isAbove(live["snapshots"]!.length, 2)
      assert.strictEqual(yield* rebuildDatabase({ url }), 6)
      yield* Effect.provide(
        Effect.gen(function*() {
          assert.deepStrictEqual(yield* dumpReadModels(yield* PostgresDatabase), live)
          // The next command folds only what follows the rebuilt snapshot, and stores the next one.
          const before = (yield* sql("SELECT version FROM snapshots WHERE stream_id = 'Message-m2'"))[0]?.version
          assert.isTrue(Either.isRight(yield* run(observe("m2", "w.m2", "delivered", 6, "marketing_lite"))))
          assert.strictEqual((yield* sql("SELECT version FROM snapshots WHERE stream_id = 'Message-m2'"))[0]?.version, Number(before) + 1)
        }),
        store
      )
    })))

  it.effect("an append applies a small backlog other writers left before its own events; a larger one than INLINE_GAP_LIMIT it leaves to the runner", () =>
    Effect.scoped(Effect.gen(function*() {
      const url = yield* migratedDatabase
      yield* Effect.gen(function*() {
        const onboarding = yield* OnboardingQueries
        const runner = yield* ProjectionRunner
        const events = yield* EventStore.EventStore
        assert.isTrue(Either.isRight(yield* run(registerBm(1, 1, "first"))))
        // Events another writer stored without projecting them: a rename of BM 1, behind the checkpoint.
        const renamed = Events.encodeEvent(BusinessManager.BusinessManagerRenamed.make({ businessManagerId: "1" as Ids.BusinessManagerId, name: "behind", at: 2 }))
        yield* sql(`INSERT INTO events (stream_id, version, type, schema_version, data, recorded_at) VALUES ('BusinessManager-1', 2, $1, $2, $3::json, 0)`, [
          renamed.type,
          renamed.schemaVersion,
          JSON.stringify(renamed.data)
        ])
        assert.isTrue(Either.isRight(yield* run(registerBm(2, 3, "second"))))
        assert.deepStrictEqual([(yield* onboarding.businessManager("1", 10))?.name, (yield* onboarding.businessManager("2", 10))?.name], ["behind", "second"])
        const head = (yield* events.readAll(0, 10)).at(-1)!.globalPosition
        assert.strictEqual(yield* checkpoint, head)

        // A backlog larger than the limit: renames of BM 2, versions 2 …, none projected.
        const backlog = INLINE_GAP_LIMIT + 1
        const many = Events.encodeEvent(BusinessManager.BusinessManagerRenamed.make({ businessManagerId: "2" as Ids.BusinessManagerId, name: "late", at: 4 }))
        yield* sql(
          `INSERT INTO events (stream_id, version, type, schema_version, data, recorded_at)
           SELECT 'BusinessManager-2', v, $1, $2, $3::json, 0 FROM generate_series(2, $4::int + 1) AS v`,
          [many.type, many.schemaVersion, JSON.stringify(many.data), backlog]
        )
        assert.isTrue(Either.isRight(yield* run(registerBm(3, 5, "third"))))
        // The append committed, but neither it nor the backlog is in the read models yet.
        assert.deepStrictEqual([(yield* onboarding.businessManager("2", 10))?.name, yield* onboarding.businessManager("3", 10)], ["second", null])
        assert.strictEqual(yield* checkpoint, head)
        assert.strictEqual(yield* runner.catchUp(), backlog + 1)
        assert.deepStrictEqual([(yield* onboarding.businessManager("2", 10))?.name, (yield* onboarding.businessManager("3", 10))?.name], ["late", "third"])
        assert.strictEqual(yield* runner.catchUp(), 0)
      }).pipe(Effect.provide(Layer.fresh(layerPostgresStore({ url }))))
    })))
})
