import { assetsDirectory } from "@mm-gateway/console"
import { apiConfig, ApiServer, type ApiStore, DEVELOPMENT_SECRETS, layerApiServer, runProcess } from "@mm-gateway/http-adapter"
import { describeDatabaseUrl, layerPostgresStore, postgresConfigWhenSet } from "@mm-gateway/postgres-projection"
import { layerSqliteStore } from "@mm-gateway/sqlite-projection"
import { Effect, Layer, Option } from "effect"

/**
 * The api process, its composition root: configuration from the `MMGW_*` variables, the store —
 * PostgreSQL when `MMGW_DATABASE_URL` is set (docs/persistence.md#postgresql), else SQLite (the main
 * database and the inbox beside it, checkpointed in the background so a webhook's commit never waits
 * for one) — and the server over it, with the operator console's built pages at `/console`. SIGINT /
 * SIGTERM interrupt the program: the listener stops taking connections, in-flight requests finish, the
 * store closes, and the process exits 0.
 */
const program = Effect.gen(function*() {
  const config = yield* apiConfig
  const postgres = yield* postgresConfigWhenSet
  if (config.defaultsUsed.length > 0) {
    yield* Effect.logWarning(
      `development mode: not set, using the public development defaults (never in production): ${
        config.defaultsUsed.map((name) => `${name}=${DEVELOPMENT_SECRETS[name as keyof typeof DEVELOPMENT_SECRETS]}`).join(" ")
      }`
    )
  }
  const store: Layer.Layer<ApiStore> = Option.match(postgres, {
    onNone: () => layerSqliteStore({ database: config.database, durability: config.durability, checkpoint: "background" }),
    onSome: ({ poolSize, url }) => layerPostgresStore({ url, poolSize })
  })
  const database = Option.match(postgres, {
    onNone: () => `database ${config.database}, durability ${config.durability}`,
    onSome: ({ poolSize, url }) => `database ${describeDatabaseUrl(url)}, pool ${poolSize}`
  })
  return yield* Layer.launch(
    Layer.effectDiscard(Effect.flatMap(ApiServer, (server) => Effect.logInfo(`api listening on ${server.url} (${database}, mode ${config.mode})`)))
      .pipe(Layer.provideMerge(layerApiServer(config, { consoleDirectory: assetsDirectory() })), Layer.provide(store))
  )
})

runProcess("api", program)
