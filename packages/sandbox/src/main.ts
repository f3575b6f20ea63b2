import { lineLogger } from "@mm-gateway/log-line"
import { Effect, Either, Logger } from "effect"
import { parseSandboxEnv } from "./config.js"
import { startSandbox } from "./server.js"

/** A record in the api's and the worker's format, so that `pnpm start` shows three logs of one kind. */
const log = (record: Effect.Effect<void>): void =>
  Effect.runSync(record.pipe(Effect.annotateLogs("process", "sandbox"), Effect.provide(Logger.replace(Logger.defaultLogger, lineLogger))))

const parsed = parseSandboxEnv(process.env)
if (Either.isLeft(parsed)) {
  for (const problem of parsed.left) log(Effect.logError(problem))
  process.exit(1)
}
for (const note of parsed.right.notes) log(Effect.logInfo(note))

const sandbox = await startSandbox(parsed.right.config).catch((error: unknown) => {
  log(Effect.logError(`cannot listen on ${parsed.right.config.host}:${parsed.right.config.port}: ${String(error)}`))
  process.exit(1)
})
const { config } = sandbox
log(Effect.logInfo(`listening on ${sandbox.url} (seed ${sandbox.seed}; repeat this run with MMGW_SANDBOX_SEED=${sandbox.seed})`))
log(Effect.logInfo(`webhooks to ${config.webhookUrl}, ${config.webhookBatchSize} per POST every ${config.webhookBatchIntervalMs} ms`))
log(Effect.logInfo(
  `rate limit ${config.rateLimitPerSecond === 0 ? "off" : `${config.rateLimitPerSecond} msg/s per number`}, ` +
    `not onboarded: ${config.notOnboarded.length === 0 ? "none" : config.notOnboarded.join(", ")}`
))

const stop = () => {
  void sandbox.close().then(() => process.exit(0))
}
process.once("SIGINT", stop)
process.once("SIGTERM", stop)
