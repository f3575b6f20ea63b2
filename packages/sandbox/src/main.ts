import { Either } from "effect"
import { parseSandboxEnv } from "./config.js"
import { startSandbox } from "./server.js"

const parsed = parseSandboxEnv(process.env)
if (Either.isLeft(parsed)) {
  for (const problem of parsed.left) console.error(`sandbox: ${problem}`)
  process.exit(1)
}
for (const note of parsed.right.notes) console.log(`sandbox: ${note}`)

const sandbox = await startSandbox(parsed.right.config).catch((error: unknown) => {
  console.error(`sandbox: cannot listen on ${parsed.right.config.host}:${parsed.right.config.port}: ${String(error)}`)
  process.exit(1)
})
const { config } = sandbox
console.log(
  [
    `sandbox: listening on ${sandbox.url} (seed ${sandbox.seed}; repeat this run with MMGW_SANDBOX_SEED=${sandbox.seed})`,
    `sandbox: webhooks to ${config.webhookUrl}, ${config.webhookBatchSize} per POST every ${config.webhookBatchIntervalMs} ms`,
    `sandbox: rate limit ${config.rateLimitPerSecond === 0 ? "off" : `${config.rateLimitPerSecond} msg/s per number`}, ` +
      `not onboarded: ${config.notOnboarded.length === 0 ? "none" : config.notOnboarded.join(", ")}`
  ].join("\n")
)

const stop = () => {
  void sandbox.close().then(() => process.exit(0))
}
process.once("SIGINT", stop)
process.once("SIGTERM", stop)
