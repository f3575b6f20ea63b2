import { apiConfig, ApiServer, DEVELOPMENT_SECRETS, layerApiServer, runProcess } from "@mm-gateway/http-adapter"
import { layerSqliteStore } from "@mm-gateway/sqlite-projection"
import { Effect, Layer } from "effect"

/**
 * The api process, its composition root: configuration from the `MMGW_*` variables, the store (SQLite:
 * the main database and the inbox beside it, checkpointed in the background so a webhook's commit never
 * waits for one) and the server over it. SIGINT /
 * SIGTERM interrupt the program: the listener stops taking connections, in-flight requests finish,
 * the databases close, and the process exits 0.
 */
const program = Effect.gen(function*() {
  const config = yield* apiConfig
  if (config.defaultsUsed.length > 0) {
    yield* Effect.logWarning(
      `development mode: not set, using the public development defaults (never in production): ${
        config.defaultsUsed.map((name) => `${name}=${DEVELOPMENT_SECRETS[name as keyof typeof DEVELOPMENT_SECRETS]}`).join(" ")
      }`
    )
  }
  return yield* Layer.launch(
    Layer.effectDiscard(Effect.flatMap(ApiServer, (server) =>
      Effect.logInfo(`api listening on ${server.url} (database ${config.database}, durability ${config.durability}, mode ${config.mode})`)))
      .pipe(
        Layer.provideMerge(layerApiServer(config)),
        Layer.provide(layerSqliteStore({ database: config.database, durability: config.durability, checkpoint: "background" }))
      )
  )
})

runProcess("api", program)
