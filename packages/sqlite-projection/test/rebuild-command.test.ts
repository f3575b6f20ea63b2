import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll } from "vitest"
import { databaseFileFrom, DEFAULT_DATABASE, rebuildDatabase } from "../src/cli/rebuild-command.js"
import { openDatabase } from "../src/database.js"
import { layer } from "../src/layers.js"
import { dumpReadModels, registerBm, registerWaba, requestMessage, run } from "./support.js"

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

  it.effect("takes the file from its argument, then MMGW_DATABASE, then the default", () =>
    Effect.sync(() => {
      assert.strictEqual(databaseFileFrom(["/x.sqlite"], { MMGW_DATABASE: "/y.sqlite" }), "/x.sqlite")
      assert.strictEqual(databaseFileFrom([], { MMGW_DATABASE: "/y.sqlite" }), "/y.sqlite")
      assert.strictEqual(databaseFileFrom([], {}), DEFAULT_DATABASE)
    }))
})
