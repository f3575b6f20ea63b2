import { assert, describe, it } from "@effect/vitest"
import { EventStore } from "@mm-gateway/domain"
import { Effect } from "effect"
import * as esbuild from "esbuild"
import { spawn } from "node:child_process"
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
import { ReadModels } from "../src/read-models.js"
import { rebuild } from "../src/runner.js"
import { dispatchSucceeded, dumpReadModels, registerBm, registerChannel, registerWaba, requestMessage, run, startDispatch } from "./support.js"
import {
  COMMANDS_PER_ROUND,
  ownMessage,
  renameTo,
  SHARED_BUSINESS_MANAGERS,
  SHARED_MESSAGES,
  sharedClick,
  sharedObservation,
  sharedWamid,
  type WriterReport
} from "./two-process-script.js"

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

interface Writer {
  /** Resolves once the child has opened (and migrated) the database and waits for the go signal. */
  readonly ready: Promise<void>
  readonly go: () => void
  readonly done: Promise<WriterReport>
}

const startWriter = (script: string, dbPath: string, writer: string, rounds: number): Writer => {
  const child = spawn(process.execPath, [script, dbPath, writer, String(rounds)], { stdio: ["pipe", "pipe", "pipe"] })
  let out = ""
  let err = ""
  let signalReady: () => void = () => {}
  const done = new Promise<WriterReport>((resolve, reject) => {
    child.on("error", reject)
    child.on("close", (code) => {
      const lines = out.trim().split("\n")
      if (code === 0 && err === "" && lines[0] === "ready" && lines.length === 2) resolve(JSON.parse(lines[1]!) as WriterReport)
      else reject(new Error(`writer ${writer} exited with ${code}; stdout: ${out}; stderr: ${err}`))
    })
  })
  const ready = new Promise<void>((resolve, reject) => {
    signalReady = resolve
    done.then(() => reject(new Error(`writer ${writer} finished without waiting for the go signal`)), reject)
  })
  child.stdout.on("data", (d: Buffer) => {
    out += d.toString()
    if (out.startsWith("ready\n")) signalReady()
  })
  child.stderr.on("data", (d: Buffer) => (err += d.toString()))
  return { ready, go: () => child.stdin.end("go\n"), done }
}

/** Writer switches along the log, over the events whose writer is known (own messages, renames). */
const writerSwitches = (events: ReadonlyArray<EventStore.StoredEvent>): number => {
  const writers: Array<string> = []
  for (const e of events) {
    const mark = e.event._tag === "BusinessManagerRenamed" ? e.event.name ?? "" : e.streamId.replace(/^Message-/, "")
    const writer = /^w(\d)-/.exec(mark)?.[1]
    if (writer !== undefined) writers.push(writer)
  }
  return writers.filter((w, i) => i > 0 && w !== writers[i - 1]).length
}

const ROUNDS = 120

describe("two OS processes on one database file", () => {
  it.live(
    "api-like and worker-like children write through the real event store at once: no error, conflicts retried, nothing lost or doubled, read models = rebuild",
    () =>
      Effect.gen(function*() {
        const dbPath = path.join(dir, "shared.sqlite")
        const script = yield* Effect.promise(bundleWriter)
        const store = yield* EventStore.EventStore
        const read = yield* ReadModels
        const { db, projections } = yield* SqliteDatabase

        // The streams both children write to exist before they start.
        for (
          const c of [
            ...SHARED_BUSINESS_MANAGERS.map((bm) => registerBm(bm, 1, "initial")),
            registerWaba(10, 1, 2),
            registerChannel(100, 10, 3),
            ...SHARED_MESSAGES.flatMap((id) => [
              requestMessage(id, { at: 4, campaign: "shared" }),
              startDispatch(id, 1, 5),
              dispatchSucceeded(id, 1, sharedWamid(id), 6)
            ])
          ]
        ) assert.isTrue((yield* run(c))._tag === "Right")
        const setup = headPosition(db)

        // Start barrier: both children have opened the file before either writes.
        const writers = ["1", "2"].map((w) => startWriter(script, dbPath, w, ROUNDS))
        yield* Effect.promise(() => Promise.all(writers.map((w) => w.ready)))
        for (const w of writers) w.go()
        const reports = yield* Effect.promise(() => Promise.all(writers.map((w) => w.done)))

        // No error escaped either child (a busy database would have been a defect and a non-zero exit).
        assert.deepStrictEqual(reports.map((r) => [r.writer, r.commands, r.rejected]), [
          ["1", ROUNDS * COMMANDS_PER_ROUND, []],
          ["2", ROUNDS * COMMANDS_PER_ROUND, []]
        ])
        const all = yield* store.readAll(0, 1_000_000)
        // They really ran at the same time: their appends interleave in the log, and they raced on shared streams.
        const switches = writerSwitches(all)
        assert.isAbove(switches, 1, "the two writers' events do not interleave: they ran one after the other")
        assert.isAbove(reports[0]!.conflicts + reports[1]!.conflicts, 0, "no version conflict: the shared streams were never contended")

        // Dense positions and per-stream versions; every event exactly once.
        const perWriter = 5 + 1 // own message (requested, routed, started, succeeded, sent) + one rename per round
        const total = setup + 2 * ROUNDS * perWriter + ROUNDS + ROUNDS // + one shared observation and one click per round
        assert.strictEqual(all.length, total)
        assert.deepStrictEqual(all.map((e) => e.globalPosition), Array.from({ length: total }, (_, i) => i + 1))
        const streams = new Map<string, Array<EventStore.StoredEvent>>()
        for (const e of all) streams.set(e.streamId, [...(streams.get(e.streamId) ?? []), e])
        for (const [, events] of streams) assert.deepStrictEqual(events.map((e) => e.version), events.map((_, i) => i + 1))

        for (const w of ["1", "2"]) {
          for (let i = 0; i < ROUNDS; i++) {
            assert.deepStrictEqual(streams.get(`Message-${ownMessage(w, i)}`)?.map((e) => e.event._tag), [
              "MessageRequested",
              "MessageRouted",
              "DispatchStarted",
              "DispatchSucceeded",
              "StatusObserved"
            ])
          }
        }
        const renames = all.flatMap((e) => e.event._tag === "BusinessManagerRenamed" ? [e.event.name] : [])
        assert.deepStrictEqual(
          [...renames].sort(),
          ["1", "2"].flatMap((w) => Array.from({ length: ROUNDS }, (_, i) => renameTo(w, i))).sort()
        )
        // The webhook both handled is recorded once: the loser of the race decided again and found nothing to do.
        for (const id of SHARED_MESSAGES) {
          const observed = streams.get(`Message-${id}`)!.flatMap((e) =>
            e.event._tag === "StatusObserved" ? [`${e.event.observation.status}@${e.event.observation.timestamp}`] : []
          )
          const expected = Array.from({ length: ROUNDS }, (_, i) => sharedObservation(i))
            .filter((o) => o.message === id)
            .map((o) => `${o.status}@${o.timestamp}`)
          assert.deepStrictEqual([...observed].sort(), [...expected].sort())
        }
        for (let i = 0; i < ROUNDS; i++) {
          const clicks = all.filter((e) => e.event._tag === "UserActionRecorded" && e.event.clickId === sharedClick(i))
          assert.strictEqual(clicks.length, 1)
        }

        // Both children projected inline: the parent catches nothing up, the read models are at the head already...
        for (const p of projections) assert.strictEqual(getCheckpoint(db, p.name), total, p.name)
        const stats = yield* read.campaignStats("c1")
        assert.deepStrictEqual([stats.funnel.accepted, stats.funnel.submitted, stats.funnel.sent], [ROUNDS, ROUNDS, ROUNDS])
        for (const bm of SHARED_BUSINESS_MANAGERS) {
          const last = streams.get(`BusinessManager-${bm}`)!.at(-1)!.event
          assert.strictEqual(last._tag, "BusinessManagerRenamed")
          assert.strictEqual((yield* read.businessManager(String(bm), 0))?.name, (last as { name: string }).name)
        }
        assert.strictEqual((yield* read.clicks("100", { limit: 1000 })).items.length, ROUNDS)
        // ...and they equal a rebuild from the log.
        const live = dumpReadModels(db)
        rebuild(db, projections)
        assert.deepStrictEqual(dumpReadModels(db), live)
      }).pipe(Effect.provide(layer({ path: path.join(dir, "shared.sqlite") }))),
    120_000
  )
})
