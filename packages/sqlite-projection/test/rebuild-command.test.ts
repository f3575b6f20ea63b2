import { assert, describe, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll } from "vitest"
import { databaseFileFrom, DEFAULT_DATABASE, rebuildDatabase } from "../src/cli/rebuild-command.js"
import { openDatabase } from "../src/database.js"
import { layer } from "../src/layers.js"
import { dispatchSucceeded, observe, registerBm, registerWaba, requestMessage, run, startDispatch } from "@mm-gateway/ports/testing/model"
import { dumpReadModels } from "./support.js"

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mmgw-rebuild-cli-"))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

describe("the rebuild command", () => {
  it.effect("rebuilds a file written by live processes into the same tables", () =>
    Effect.gen(function*() {
      const file = path.join(dir, "live.sqlite")
      yield* Effect.provide(
        Effect.forEach([registerBm(1, 1), registerWaba(10, 1, 2), requestMessage("m1", { at: 3 })], run, { discard: true }),
        layer({ path: file })
      )
      const snapshot = () => {
        const db = openDatabase(file)
        try {
          return dumpReadModels(db)
        } finally {
          db.close()
        }
      }
      const live = snapshot()
      const db = openDatabase(file)
      db.exec("DELETE FROM wabas; UPDATE business_managers SET name = 'tampered'")
      db.close()
      const result = yield* Effect.promise(() => rebuildDatabase(file))
      assert.strictEqual(result.applied, 4)
      assert.deepStrictEqual(snapshot(), live)
    }))

  it.effect("drops the snapshots and rebuilds them as the commands stored them; a command starts from a rebuilt one", () =>
    Effect.gen(function*() {
      const file = path.join(dir, "snapshots.sqlite")
      const commands = [registerBm(2, 1), registerWaba(20, 2, 2), requestMessage("m2", { at: 3 }), startDispatch("m2", 1, 4), dispatchSucceeded("m2", 1, "w.m2", 5)]
      yield* Effect.provide(Effect.forEach(commands, run, { discard: true }), layer({ path: file }))
      const snapshots = () => {
        const db = openDatabase(file)
        try {
          return db.prepare("SELECT stream_id, version, schema, state FROM snapshots ORDER BY stream_id").all()
        } finally {
          db.close()
        }
      }
      const live = snapshots()
      assert.isAbove(live.length, 2)
      const db = openDatabase(file)
      db.exec("DELETE FROM snapshots")
      db.close()
      yield* Effect.promise(() => rebuildDatabase(file))
      assert.deepStrictEqual(snapshots(), live)
      // Appends keep snapshots current: the rebuild leaves no checkpoint for them to go stale.
      const checked = openDatabase(file)
      assert.isUndefined(checked.prepare("SELECT 1 FROM projection_checkpoints WHERE name = 'snapshots'").get())
      checked.close()
      // The next command folds only what follows the rebuilt snapshot, and stores the next one.
      const observed = yield* Effect.provide(run(observe("m2", "w.m2", "delivered", 6, "marketing_lite")), layer({ path: file }))
      assert.isTrue(Either.isRight(observed))
      const message = (snapshots() as Array<{ stream_id: string; version: number }>).find((r) => r.stream_id === "Message-m2")
      const before = (live as Array<{ stream_id: string; version: number }>).find((r) => r.stream_id === "Message-m2")
      assert.strictEqual(message?.version, before!.version + 1)
    }))

  it.effect("takes the file from its argument, then MMGW_DATABASE, then the default", () =>
    Effect.sync(() => {
      assert.strictEqual(databaseFileFrom(["/x.sqlite"], { MMGW_DATABASE: "/y.sqlite" }), "/x.sqlite")
      assert.strictEqual(databaseFileFrom([], { MMGW_DATABASE: "/y.sqlite" }), "/y.sqlite")
      assert.strictEqual(databaseFileFrom([], {}), DEFAULT_DATABASE)
    }))
})
