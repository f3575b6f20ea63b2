/**
 * The child's side of the two-process test every store runs (sqlite-projection's and
 * postgres-projection's `two-processes.test.ts`): two OS processes write through the api's and the
 * worker's write path — the store's layer under the domain's `handleCommand` — at the same time, on one
 * database. Here: the rounds each writer runs and the child's program. Imports nothing of vitest or
 * fast-check, so a child bundles it (`@mm-gateway/ports/testing/model/writer`); the test's side is
 * `two-writers.ts`.
 */
import { EventStore } from "@mm-gateway/domain"
import { Effect, Either, type Layer } from "effect"
import * as readline from "node:readline"
import { MessageQueries } from "../../src/queries.js"
import {
  type AnyCommand,
  dispatchSucceeded,
  observe,
  registerBm,
  registerChannel,
  registerWaba,
  requestMessage,
  run,
  startDispatch,
  userAction
} from "./commands.js"

export interface WriterReport {
  readonly writer: string
  readonly commands: number
  /** Appends refused with a version conflict (each one decided again by `handleCommand`). */
  readonly conflicts: number
  /** Commands the domain refused: none are expected. */
  readonly rejected: ReadonlyArray<string>
  /** Own messages the writer's query ports did not show as sent right after it recorded the status: none are expected. */
  readonly unread: ReadonlyArray<string>
}

/** Streams both writers share; the parent registers them (`SETUP`) before the children start. */
export const SHARED_BUSINESS_MANAGERS = [1, 2, 3] as const
export const SHARED_MESSAGES = ["shared-0", "shared-1", "shared-2", "shared-3"] as const
export const sharedWamid = (id: string) => `wamid.${id}`

/** What the parent records before the writers start: the streams both of them write to. */
export const SETUP: ReadonlyArray<AnyCommand> = [
  ...SHARED_BUSINESS_MANAGERS.map((bm) => registerBm(bm, 1, "initial")),
  registerWaba(10, 1, 2),
  registerChannel(100, 10, 3),
  ...SHARED_MESSAGES.flatMap((id) => [
    requestMessage(id, { at: 4, campaign: "shared" }),
    startDispatch(id, 1, 5),
    dispatchSucceeded(id, 1, sharedWamid(id), 6)
  ])
]

/** The status both writers observe for a shared message in round `i`: equal in both, so only one may be stored. */
export const sharedObservation = (i: number) => ({
  message: SHARED_MESSAGES[i % SHARED_MESSAGES.length]!,
  status: (["sent", "delivered", "read"] as const)[Math.floor(i / SHARED_MESSAGES.length) % 3]!,
  timestamp: 1_000_000 + i
})

export const ownMessage = (writer: string, i: number) => `w${writer}-${i}`
export const renameTo = (writer: string, i: number) => `w${writer}-${i}`
export const sharedClick = (i: number) => `k${i}`

export const COMMANDS_PER_ROUND = 7

/** One round: an api-like request, the worker-like dispatch and status, and three commands on shared streams. */
export const round = (writer: string, i: number): ReadonlyArray<AnyCommand> => {
  const id = ownMessage(writer, i)
  const at = 10_000 + i
  const shared = sharedObservation(i)
  return [
    requestMessage(id, { at, campaign: `c${writer}` }),
    startDispatch(id, 1, at + 1),
    dispatchSucceeded(id, 1, `wamid.${id}`, at + 2),
    observe(id, `wamid.${id}`, "sent", at + 3, "marketing_lite"),
    // Always an event (the name is new), on one of three streams both writers rename.
    registerBm(SHARED_BUSINESS_MANAGERS[i % SHARED_BUSINESS_MANAGERS.length]!, at, renameTo(writer, i)),
    // The same webhook handled by both writers: exactly one of them may record it.
    observe(shared.message, sharedWamid(shared.message), shared.status, shared.timestamp, "marketing_lite"),
    // The same click from both: one stream, one event.
    userAction(100, sharedClick(i), 20_000 + i)
  ]
}

/** Resolves once `go` arrives on stdin, so that both children start writing together. */
const goSignal = () =>
  new Promise<void>((resolve, reject) => {
    const lines = readline.createInterface({ input: process.stdin })
    let started = false
    lines.on("line", (line) => {
      if (line.trim() !== "go") return
      started = true
      lines.close()
      resolve()
    })
    lines.on("close", () => started || reject(new Error("stdin closed before the go signal")))
  })

/**
 * A child's whole program, on the store `store` builds: prints `ready` once the store is open (and
 * migrated), waits for `go` on stdin, runs its rounds — after each, asking its own query ports for the
 * message it just followed to `sent` (read your writes) — and prints its report as one JSON line.
 */
export const runWriter = async (
  store: Layer.Layer<EventStore.EventStore | MessageQueries>,
  writer: string,
  rounds: number
): Promise<void> => {
  const program = Effect.gen(function*() {
    const messages = yield* MessageQueries
    const real = yield* EventStore.EventStore
    let conflicts = 0
    // The store's event store, only watched: the test wants to know the command handler met conflicts and retried them.
    const counted = EventStore.EventStore.of({
      ...real,
      append: (streamId, expected, events, snapshot) =>
        real.append(streamId, expected, events, snapshot).pipe(Effect.tapError(() => Effect.sync(() => void conflicts++)))
    })
    process.stdout.write("ready\n")
    yield* Effect.promise(goSignal)
    const rejected: Array<string> = []
    const unread: Array<string> = []
    let commands = 0
    for (let i = 0; i < rounds; i++) {
      for (const c of round(writer, i)) {
        const outcome = yield* Effect.provideService(run(c), EventStore.EventStore, counted)
        commands++
        if (Either.isLeft(outcome)) rejected.push(`${c.command._tag} in round ${i}: ${String(outcome.left)}`)
      }
      const id = ownMessage(writer, i)
      const own = yield* messages.message(id)
      if (own?.status !== "sent" || own.wamid !== `wamid.${id}`) unread.push(`${id}: ${JSON.stringify(own?.status ?? null)}`)
    }
    const report: WriterReport = { writer, commands, conflicts, rejected, unread }
    process.stdout.write(`${JSON.stringify(report)}\n`)
  })
  await Effect.runPromise(Effect.provide(program, store))
}
