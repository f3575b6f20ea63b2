/**
 * The test's side of the two-process test every store runs (sqlite-projection's and
 * postgres-projection's `two-processes.test.ts`): starting the two writers (`writer.ts`, bundled into
 * a child each) together, and the checks of the log and the read models once both have finished.
 */
import { assert } from "@effect/vitest"
import type { EventStore } from "@mm-gateway/domain"
import { Effect } from "effect"
import { spawn } from "node:child_process"
import { ClickQueries, MessageQueries, OnboardingQueries } from "../../src/queries.js"
import { COMMANDS_PER_ROUND, ownMessage, renameTo, SHARED_BUSINESS_MANAGERS, SHARED_MESSAGES, sharedClick, sharedObservation, type WriterReport } from "./writer.js"

/** A writer started by the test: `ready` once its store is open, `go` to start it, `done` with its report. */
export interface Writer {
  readonly ready: Promise<void>
  readonly go: () => void
  readonly done: Promise<WriterReport>
}

/**
 * Starts a child (`node script ...args`, a bundle whose entry calls `runWriter`) and follows its
 * protocol: `ready` on stdout, `go` on stdin, one JSON report line, exit 0 with nothing on stderr.
 */
export const startWriter = (script: string, args: ReadonlyArray<string>, writer: string, env: NodeJS.ProcessEnv = process.env): Writer => {
  const child = spawn(process.execPath, [script, ...args], { stdio: ["pipe", "pipe", "pipe"], env })
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

/** Starts both writers, lets them go together once both are ready, and gives their reports. */
export const runTwoWriters = async (start: (writer: string) => Writer): Promise<ReadonlyArray<WriterReport>> => {
  const writers = ["1", "2"].map(start)
  await Promise.all(writers.map((w) => w.ready))
  for (const w of writers) w.go()
  return Promise.all(writers.map((w) => w.done))
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

/** How many events the log holds once both writers have run `rounds` rounds after `SETUP`'s `setup` events. */
export const expectedEvents = (setup: number, rounds: number): number =>
  // Per writer and round: its own message (requested, routed, started, succeeded, sent) and a rename;
  // per round, one shared observation and one click, whichever writer recorded them.
  setup + 2 * rounds * (5 + 1) + rounds + rounds

/**
 * The log after both writers: no error escaped either, they really ran at once (their appends
 * interleave, and they met version conflicts on the shared streams), and nothing was lost or doubled —
 * positions rising, every stream's versions dense, each writer's events all there, a webhook or a click
 * both handled stored once. Store-specific promises (SQLite's dense positions) are checked by the store.
 */
export const assertTwoWritersLog = (all: ReadonlyArray<EventStore.StoredEvent>, reports: ReadonlyArray<WriterReport>, setup: number, rounds: number): void => {
  assert.deepStrictEqual(reports.map((r) => [r.writer, r.commands, r.rejected, r.unread]), [
    ["1", rounds * COMMANDS_PER_ROUND, [], []],
    ["2", rounds * COMMANDS_PER_ROUND, [], []]
  ])
  assert.isAbove(writerSwitches(all), 1, "the two writers' events do not interleave: they ran one after the other")
  assert.isAbove(reports[0]!.conflicts + reports[1]!.conflicts, 0, "no version conflict: the shared streams were never contended")
  assert.strictEqual(all.length, expectedEvents(setup, rounds))
  for (let i = 1; i < all.length; i++) assert.isAbove(all[i]!.globalPosition, all[i - 1]!.globalPosition)
  const streams = new Map<string, Array<EventStore.StoredEvent>>()
  for (const e of all) streams.set(e.streamId, [...(streams.get(e.streamId) ?? []), e])
  for (const [, events] of streams) assert.deepStrictEqual(events.map((e) => e.version), events.map((_, i) => i + 1))
  for (const w of ["1", "2"]) {
    for (let i = 0; i < rounds; i++) {
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
  assert.deepStrictEqual([...renames].sort(), ["1", "2"].flatMap((w) => Array.from({ length: rounds }, (_, i) => renameTo(w, i))).sort())
  // The webhook both handled is recorded once: the loser of the race decided again and found nothing to do.
  for (const id of SHARED_MESSAGES) {
    const observed = streams.get(`Message-${id}`)!.flatMap((e) =>
      e.event._tag === "StatusObserved" ? [`${e.event.observation.status}@${e.event.observation.timestamp}`] : []
    )
    const expected = Array.from({ length: rounds }, (_, i) => sharedObservation(i)).filter((o) => o.message === id).map((o) => `${o.status}@${o.timestamp}`)
    assert.deepStrictEqual([...observed].sort(), [...expected].sort())
  }
  for (let i = 0; i < rounds; i++) {
    assert.strictEqual(all.filter((e) => e.event._tag === "UserActionRecorded" && e.event.clickId === sharedClick(i)).length, 1)
  }
}

/**
 * What a third process reads afterwards, asking nothing to catch up first: both writers projected
 * inline, so their campaigns, the shared Business Managers' last names and every click are there.
 */
export const assertTwoWritersReadModels = (all: ReadonlyArray<EventStore.StoredEvent>, rounds: number) =>
  Effect.gen(function*() {
    const messages = yield* MessageQueries
    const onboarding = yield* OnboardingQueries
    const clicks = yield* ClickQueries
    for (const w of ["1", "2"]) {
      const stats = yield* messages.campaignStats(`c${w}`)
      assert.deepStrictEqual([stats.funnel.accepted, stats.funnel.submitted, stats.funnel.sent], [rounds, rounds, rounds])
    }
    for (const bm of SHARED_BUSINESS_MANAGERS) {
      const last = all.filter((e) => e.streamId === `BusinessManager-${bm}`).at(-1)!.event
      assert.strictEqual(last._tag, "BusinessManagerRenamed")
      assert.strictEqual((yield* onboarding.businessManager(String(bm), 0))?.name, (last as { name: string }).name)
    }
    assert.strictEqual((yield* clicks.clicks("100", { limit: 1000 })).items.length, rounds)
  })
