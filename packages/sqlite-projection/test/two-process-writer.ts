/**
 * One child process of `two-processes.test.ts`: the write path of the api and the worker — this
 * package's `layer` (migrations, event store, inline projections) under the domain's `handleCommand` —
 * on a database file another process writes at the same time.
 *
 * Node 20 cannot import TypeScript, so the test bundles this file with esbuild before spawning it.
 * Protocol: argv = [dbPath, writer, rounds]. The child opens the database, prints `ready`, waits for
 * `go` on stdin (so both children start writing together), runs its rounds and prints a JSON report.
 */
import { EventStore } from "@mm-gateway/domain"
import { Effect, Either, Layer } from "effect"
import * as readline from "node:readline"
import { layer } from "../src/layers.js"
import { round, type WriterReport } from "./two-process-script.js"
import { run } from "./support.js"

const [dbPath, writer, roundsArg] = process.argv.slice(2)

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

const main = async (): Promise<void> => {
  if (dbPath === undefined || writer === undefined || roundsArg === undefined) throw new Error("usage: dbPath writer rounds")
  const rounds = Number(roundsArg)
  let conflicts = 0
  // The real store, only watched: the test wants to know the command handler met conflicts and retried them.
  const counted = Layer.effect(
    EventStore.EventStore,
    Effect.map(EventStore.EventStore, (store) =>
      EventStore.EventStore.of({
        ...store,
        append: (streamId, expected, events) =>
          store.append(streamId, expected, events).pipe(Effect.tapError(() => Effect.sync(() => void conflicts++)))
      }))
  )
  const program = Effect.gen(function*() {
    process.stdout.write("ready\n")
    yield* Effect.promise(goSignal)
    const rejected: Array<string> = []
    let commands = 0
    for (let i = 0; i < rounds; i++) {
      for (const c of round(writer, i)) {
        const outcome = yield* run(c)
        commands++
        if (Either.isLeft(outcome)) rejected.push(`${c.command._tag} in round ${i}: ${String(outcome.left)}`)
      }
    }
    const report: WriterReport = { writer, commands, conflicts, rejected }
    process.stdout.write(`${JSON.stringify(report)}\n`)
  })
  await Effect.runPromise(Effect.provide(program, Layer.provide(counted, layer({ path: dbPath }))))
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack ?? error.message : String(error)}\n`)
  process.exit(1)
})
