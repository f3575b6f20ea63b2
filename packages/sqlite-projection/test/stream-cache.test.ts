import { assert, describe, it } from "@effect/vitest"
import { type DomainEvent, EventStore, Message, type MessageId } from "@mm-gateway/domain"
import { Effect, Either } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll } from "vitest"
import { immediate } from "../src/connection.js"
import { openDatabase } from "../src/database.js"
import { makeEventStore } from "../src/event-store.js"
import { mainMigrations, migrate } from "../src/migrations.js"
import { getCheckpoint } from "../src/projection.js"
import { allProjections } from "../src/projections/index.js"

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mmgw-stream-cache-"))
let n = 0
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

const MSG = "msg_cache" as MessageId
const started = (attempt: number): DomainEvent => Message.DispatchStarted.make({ messageId: MSG, attempt, route: "cloud_api", at: attempt })

/** Two connections to one file, as the api and the worker have: each with its own store (and cache). */
const twoConnections = Effect.promise(async () => {
  const file = path.join(dir, `db-${n++}.sqlite`)
  const first = openDatabase(file)
  await migrate(first, mainMigrations)
  const second = openDatabase(file)
  return { first, second, a: makeEventStore(first, allProjections, 2), b: makeEventStore(second, allProjections, 2) }
})

const versionsOf = (store: EventStore["Type"], streamId: string) =>
  Effect.map(store.readStream(streamId), (r) => ({ version: r.version, versions: r.events.map((e) => e.version) }))

describe("the SQLite event store's stream cache", () => {
  it.effect("reads what another connection appended since it cached the stream", () =>
    Effect.gen(function*() {
      const { a, b } = yield* twoConnections
      yield* a.append("s-1", "no_stream", [started(1)])
      assert.deepStrictEqual(yield* versionsOf(a, "s-1"), { version: 1, versions: [1] })
      yield* b.append("s-1", 1, [started(2), started(3)])
      assert.deepStrictEqual(yield* versionsOf(a, "s-1"), { version: 3, versions: [1, 2, 3] })
      // And an append on a stale expectation is still refused by the table, not by the cache.
      const stale = yield* Effect.either(b.append("s-1", 1, [started(4)]))
      assert.isTrue(Either.isLeft(stale))
      yield* a.append("s-1", 3, [started(4)])
      assert.deepStrictEqual(yield* versionsOf(b, "s-1"), { version: 4, versions: [1, 2, 3, 4] })
    }))

  it.effect("keeps nothing of a transaction that rolled back", () =>
    Effect.gen(function*() {
      const { first, a } = yield* twoConnections
      yield* a.append("s-2", "no_stream", [started(1)])
      yield* versionsOf(a, "s-2")
      assert.throws(() =>
        immediate(first, () => {
          Effect.runSync(a.append("s-2", 1, [started(2)]))
          // Seen inside the transaction…
          assert.deepStrictEqual(Effect.runSync(versionsOf(a, "s-2")), { version: 2, versions: [1, 2] })
          throw new Error("roll back")
        })
      )
      // …and gone after it.
      assert.deepStrictEqual(yield* versionsOf(a, "s-2"), { version: 1, versions: [1] })
      yield* a.append("s-2", 1, [started(2)])
      assert.deepStrictEqual(yield* versionsOf(a, "s-2"), { version: 2, versions: [1, 2] })
    }))

  it.effect("forgets the least recently used streams beyond its size, and reads them again", () =>
    Effect.gen(function*() {
      const { a } = yield* twoConnections
      for (const s of ["s-3", "s-4", "s-5"]) yield* a.append(s, "no_stream", [started(1)])
      for (const s of ["s-3", "s-4", "s-5", "s-3"]) assert.deepStrictEqual(yield* versionsOf(a, s), { version: 1, versions: [1] })
    }))

  it.effect("checkpoints moved by many appends in one transaction are written once, at its commit", () =>
    Effect.gen(function*() {
      const { first, second, a } = yield* twoConnections
      immediate(first, () => {
        for (let i = 1; i <= 3; i++) Effect.runSync(a.append(`s-${10 + i}`, "no_stream", [started(1)]))
        assert.strictEqual(getCheckpoint(first, "messages"), 3)
        // Another connection sees the old checkpoint until the commit (WAL readers see the last commit).
        assert.strictEqual(getCheckpoint(second, "messages"), 0)
      })
      assert.strictEqual(getCheckpoint(second, "messages"), 3)
    }))

  it.effect("inside transactions, reads what another connection appended between them", () =>
    Effect.gen(function*() {
      const { first, a, b } = yield* twoConnections
      const inTx = (f: () => unknown) => immediate(first, f)
      yield* a.append("s-20", "no_stream", [started(1)])
      inTx(() => assert.deepStrictEqual(Effect.runSync(versionsOf(a, "s-20")), { version: 1, versions: [1] }))
      inTx(() => assert.deepStrictEqual(Effect.runSync(versionsOf(a, "s-20")), { version: 1, versions: [1] }))
      yield* b.append("s-20", 1, [started(2)])
      inTx(() => {
        assert.deepStrictEqual(Effect.runSync(versionsOf(a, "s-20")), { version: 2, versions: [1, 2] })
        Effect.runSync(a.append("s-20", 2, [started(3)]))
        assert.deepStrictEqual(Effect.runSync(versionsOf(a, "s-20")), { version: 3, versions: [1, 2, 3] })
      })
      inTx(() => assert.deepStrictEqual(Effect.runSync(versionsOf(a, "s-20")), { version: 3, versions: [1, 2, 3] }))
      yield* b.append("s-20", 3, [started(4)])
      inTx(() => assert.deepStrictEqual(Effect.runSync(versionsOf(a, "s-20")), { version: 4, versions: [1, 2, 3, 4] }))
    }))

  it.effect("inside a transaction, reads what another store on the same connection appended in it, then and later", () =>
    Effect.gen(function*() {
      const { first, a } = yield* twoConnections
      const other = makeEventStore(first, allProjections, 2)
      yield* a.append("s-21", "no_stream", [started(1)])
      immediate(first, () => {
        assert.deepStrictEqual(Effect.runSync(versionsOf(a, "s-21")), { version: 1, versions: [1] })
        Effect.runSync(other.append("s-21", 1, [started(2)]))
        assert.deepStrictEqual(Effect.runSync(versionsOf(a, "s-21")), { version: 2, versions: [1, 2] })
        Effect.runSync(other.append("s-21", 2, [started(3)]))
      })
      immediate(first, () => assert.deepStrictEqual(Effect.runSync(versionsOf(a, "s-21")), { version: 3, versions: [1, 2, 3] }))
    }))
})
