import { NodeRuntime } from "@effect/platform-node"
import { lineLogger } from "@mm-gateway/log-line"
import { Cause, Effect, Logger } from "effect"

/**
 * Runs a process's main program with `lineLogger` (@mm-gateway/log-line: one line per record, a cause
 * included), each record annotated `process=<name>`: SIGINT / SIGTERM interrupt it (exit 0), a failure
 * is logged on its way out (exit 1) — a configuration error names the variable.
 *
 * A second SIGINT / SIGTERM during the stop is ignored. The runtime listens for the first one only, so
 * the second would kill the process with its default action, and a stop often brings two: Ctrl-C
 * reaches every process in the terminal's group while `pnpm start` (or a process manager stopping a
 * whole group) sends its own SIGTERM. Killed there, the worker would leave its requests in flight as
 * unknown outcomes and its lease taken. The stop is bounded (`MMGW_WORKER_SHUTDOWN_GRACE`); SIGKILL
 * still ends it at once.
 */
export const runProcess = <E, A>(name: string, program: Effect.Effect<A, E>): void => {
  // Every record of the process, the last one about a failure included, says which process wrote it.
  const logged = <X, Y>(effect: Effect.Effect<X, Y>) =>
    effect.pipe(Effect.annotateLogs("process", name), Effect.provide(Logger.replace(Logger.defaultLogger, lineLogger)))
  let signals = 0
  const again = (signal: NodeJS.Signals) => {
    signals += 1
    if (signals > 1) Effect.runSync(logged(Effect.logWarning(`${signal} again: already stopping (SIGKILL ends it at once)`)))
  }
  process.on("SIGINT", again)
  process.on("SIGTERM", again)
  NodeRuntime.runMain(
    logged(program.pipe(
      Effect.tapErrorCause((cause) => (Cause.isInterruptedOnly(cause) ? Effect.void : Effect.logError("stopped by a failure", cause)))
    )),
    // The pretty logger would replace the default one before ours does, and report errors a second time.
    { disablePrettyLogger: true, disableErrorReporting: true }
  )
}
