import { DEVELOPMENT_SECRETS, runProcess } from "@mm-gateway/http-adapter"
import { Effect, Layer } from "effect"
import { workerConfig } from "./config.js"
import { workerLayer } from "./worker.js"

/**
 * The worker process: configuration from the `MMGW_*` variables, the worker layer, nothing else.
 * SIGINT / SIGTERM interrupt it: no new work, requests in flight get the shutdown grace, the lease is
 * released, the databases close, and the process exits 0.
 */
const program = Effect.gen(function*() {
  const config = yield* workerConfig
  if (config.defaultsUsed.length > 0) {
    yield* Effect.logWarning(
      `development mode: not set, using the public development defaults (never in production): ${
        config.defaultsUsed.map((name) => `${name}=${DEVELOPMENT_SECRETS[name as keyof typeof DEVELOPMENT_SECRETS]}`).join(" ")
      }`
    )
  }
  return yield* Layer.launch(workerLayer(config))
})

runProcess("worker", program)
