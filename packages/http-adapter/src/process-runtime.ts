import { NodeRuntime } from "@effect/platform-node"
import { Cause, Effect, HashMap, Inspectable, List, Logger } from "effect"
import { format } from "node:util"

/**
 * How the api and worker processes log: one record per line —
 * `2026-11-29T22:35:57.190Z INFO  lease acquired by host#42-ab12cd process=worker` — with a cause, when
 * there is one, on the lines after it, indented. One line per record is what `pnpm start` interleaves
 * from three processes and what log collectors split on; Effect's pretty logger spreads a record over
 * several lines (its annotations each on their own).
 */
export const lineLogger = Logger.make<unknown, void>(({ annotations, cause, date, logLevel, message, spans }) => {
  const parts = (Array.isArray(message) ? message : [message]).map((m) => (typeof m === "string" ? m : formatValue(m)))
  let line = `${date.toISOString()} ${logLevel.label.padEnd(5)} ${parts.join(" ")}`
  const now = date.getTime()
  for (const span of List.toArray(spans)) line += ` ${span.label}=${now - span.startTime}ms`
  for (const [key, value] of HashMap.toEntries(annotations)) line += ` ${key}=${formatValue(value)}`
  if (!Cause.isEmpty(cause)) {
    line += `\n${Cause.pretty(cause, { renderErrorCause: true }).split("\n").map((l) => `    ${l}`).join("\n")}`
  }
  process.stdout.write(`${line}\n`)
})

const formatValue = (value: unknown): string =>
  typeof value === "string" ? (/\s/.test(value) ? JSON.stringify(value) : value) : format("%o", Inspectable.toJSON(value))

/**
 * Runs a process's main program with `lineLogger`: SIGINT / SIGTERM interrupt it (exit 0), a failure
 * is logged on its way out (exit 1) — a configuration error names the variable.
 *
 * A second SIGINT / SIGTERM during the stop is ignored. The runtime listens for the first one only, so
 * the second would kill the process with its default action, and a stop often brings two: Ctrl-C
 * reaches every process in the terminal's group while `pnpm start` (or a process manager stopping a
 * whole group) sends its own SIGTERM. Killed there, the worker would leave its requests in flight as
 * unknown outcomes and its lease taken. The stop is bounded (`MMGW_WORKER_SHUTDOWN_GRACE`); SIGKILL
 * still ends it at once.
 */
export const runProcess = <E, A>(program: Effect.Effect<A, E>): void => {
  let signals = 0
  const again = (signal: NodeJS.Signals) => {
    signals += 1
    if (signals > 1) process.stderr.write(`${new Date().toISOString()} WARN  ${signal} again: already stopping (SIGKILL ends it at once)\n`)
  }
  process.on("SIGINT", again)
  process.on("SIGTERM", again)
  NodeRuntime.runMain(
    program.pipe(
      Effect.tapErrorCause((cause) => (Cause.isInterruptedOnly(cause) ? Effect.void : Effect.logError("stopped by a failure", cause))),
      Effect.provide(Logger.replace(Logger.defaultLogger, lineLogger))
    ),
    // The pretty logger would replace the default one before ours does, and report errors a second time.
    { disablePrettyLogger: true, disableErrorReporting: true }
  )
}
