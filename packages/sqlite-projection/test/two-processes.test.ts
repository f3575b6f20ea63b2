import { assert, describe, it } from "@effect/vitest"
import { BusinessManager, type BusinessManagerId, EventStore } from "@mm-gateway/domain"
import { Effect } from "effect"
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import { createRequire } from "node:module"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import ts from "typescript"
import { afterAll } from "vitest"
import { SqliteDatabase } from "../src/database.js"
import { layer } from "../src/layers.js"
import { catchUp, rebuild } from "../src/runner.js"
import { dumpReadModels } from "./support.js"

const here = path.dirname(fileURLToPath(import.meta.url))
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mmgw-two-processes-"))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

/** The children run the adapter's own connection and append code: transpiled from src/, not a copy of it. */
const transpileCore = (): string => {
  const out = path.join(dir, "core")
  fs.mkdirSync(out, { recursive: true })
  fs.writeFileSync(path.join(out, "package.json"), JSON.stringify({ type: "module" }))
  for (const name of ["connection", "event-log"]) {
    const source = fs.readFileSync(path.join(here, "..", "src", `${name}.ts`), "utf8")
    const js = ts.transpileModule(source, {
      compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true }
    }).outputText
    fs.writeFileSync(path.join(out, `${name}.js`), js)
  }
  return out
}

const runWriter = (dbPath: string, core: string, writer: number, count: number) =>
  new Promise<{ writer: string; appended: number; conflicts: number }>((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [path.join(here, "two-process-writer.mjs"), dbPath, core, createRequire(import.meta.url).resolve("better-sqlite3"), String(writer), String(count)],
      { stdio: ["ignore", "pipe", "pipe"] }
    )
    let out = ""
    let err = ""
    child.stdout.on("data", (d: Buffer) => (out += d.toString()))
    child.stderr.on("data", (d: Buffer) => (err += d.toString()))
    child.on("error", reject)
    child.on("close", (code) => {
      if (code === 0 && err === "") resolve(JSON.parse(out))
      else reject(new Error(`writer ${writer} exited with ${code}: ${err}`))
    })
  })

const PER_WRITER = 400
const BY_PARENT = 100

describe("two OS processes on one database file", () => {
  it.live(
    "concurrent appends from two child processes and the parent: no error, no lost or duplicated event, dense positions and versions",
    () =>
      Effect.gen(function*() {
        const dbPath = path.join(dir, "shared.sqlite")
        const core = transpileCore()
        const store = yield* EventStore
        const { db, projections } = yield* SqliteDatabase
        const children = Effect.promise(() => Promise.all([runWriter(dbPath, core, 1, PER_WRITER), runWriter(dbPath, core, 2, PER_WRITER)]))
        // The parent keeps appending through the adapter (with inline projections) while the children run.
        const parent = Effect.forEach(Array.from({ length: BY_PARENT }, (_, i) => i), (i) =>
          Effect.gen(function*() {
            yield* Effect.sleep("1 millis")
            const id = `${1 + (i % 3)}` as BusinessManagerId
            for (;;) {
              const read = yield* store.readStream(`BusinessManager-${id}`)
              const r = yield* Effect.either(
                store.append(`BusinessManager-${id}`, read.version, [BusinessManager.BusinessManagerRenamed.make({ businessManagerId: id, name: `p-${i}`, at: i })])
              )
              if (r._tag === "Right") return
            }
          }), { discard: true })
        const [reports] = yield* Effect.all([children, parent], { concurrency: "unbounded" })
        assert.deepStrictEqual(reports.map((r) => r.appended), [PER_WRITER, PER_WRITER])

        const all = yield* store.readAll(0, 1_000_000)
        const total = 2 * PER_WRITER + BY_PARENT
        assert.strictEqual(all.length, total)
        assert.deepStrictEqual(all.map((e) => e.globalPosition), Array.from({ length: total }, (_, i) => i + 1))
        const versions = new Map<string, Array<number>>()
        for (const e of all) versions.set(e.streamId, [...(versions.get(e.streamId) ?? []), e.version])
        for (const [, vs] of versions) assert.deepStrictEqual(vs, Array.from({ length: vs.length }, (_, i) => i + 1))
        const names = all.map((e) => (e.event as { name: string }).name)
        assert.strictEqual(new Set(names).size, total)
        for (const w of [1, 2]) for (let i = 0; i < PER_WRITER; i++) assert.include(names, `w${w}-${i}`)

        // The children did not project; the runner catches up and the result equals a rebuild.
        catchUp(db, projections)
        const caughtUp = dumpReadModels(db)
        const lastName = (bm: string) => [...all].reverse().find((e) => e.streamId === `BusinessManager-${bm}`)
        const row = db.prepare("SELECT name, version FROM business_managers WHERE id = '1'").get() as { name: string; version: number }
        assert.strictEqual(row.name, (lastName("1")!.event as { name: string }).name)
        assert.strictEqual(row.version, lastName("1")!.version)
        rebuild(db, projections)
        assert.deepStrictEqual(dumpReadModels(db), caughtUp)
      }).pipe(Effect.provide(layer({ path: path.join(dir, "shared.sqlite") }))),
    60_000
  )
})
