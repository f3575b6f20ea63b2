import type { ProviderGateway } from "@mm-gateway/domain"
import {
  ChannelCredentials,
  deriveCredentialsKey,
  DEVELOPMENT_SECRETS,
  layerCredentials,
  layerWebhookDeliverer,
  providerGatewayLayer,
  runProcess
} from "@mm-gateway/http-adapter"
import type { CredentialStore, WebhookDeliverer } from "@mm-gateway/ports"
import { describeDatabaseUrl, layerPostgresStore, postgresConfigWhenSet, type PostgresSettings } from "@mm-gateway/postgres-projection"
import { layerSqliteStore } from "@mm-gateway/sqlite-projection"
import { layerWorker, newInstanceId, type WorkerRequirements } from "@mm-gateway/worker-runners"
import { Effect, Layer, Option } from "effect"
import { type WorkerConfig, workerConfig } from "./config.js"

/**
 * The ports the worker runs on: the store — PostgreSQL when `MMGW_DATABASE_URL` is set, else SQLite
 * (the main database and the inbox file) — the channels' credentials, the provider clients and the
 * deliverer that forwards webhooks to the tenants' endpoints.
 */
const workerDependencies = (config: WorkerConfig, postgres: Option.Option<PostgresSettings>): Layer.Layer<WorkerRequirements> => {
  const storage: Layer.Layer<Exclude<WorkerRequirements, ProviderGateway.ProviderGateway | WebhookDeliverer> | CredentialStore> = Option.match(postgres, {
    onNone: () => layerSqliteStore({ database: config.database, durability: config.durability, checkpoint: "background" }),
    onSome: ({ poolSize, url }) => layerPostgresStore({ url, poolSize })
  })
  const key = deriveCredentialsKey(config.secretKey)
  const credentials = Layer.project(
    layerCredentials(key),
    ChannelCredentials,
    ChannelCredentials,
    (c) => c
  )
  const deliverer = layerWebhookDeliverer({ key, allowHosts: config.forward.allowHosts, timeoutMs: config.forward.timeoutMs })
  return Layer.merge(deliverer, Layer.provideMerge(providerGatewayLayer(config.provider), Layer.provideMerge(credentials, storage)))
}

/**
 * The worker process, its composition root: configuration from the `MMGW_*` variables, the store and
 * the provider clients, and the runners over them (`layerWorker`) under a lease identity drawn at
 * this start. SIGINT / SIGTERM interrupt it: no new work, requests in flight get the shutdown grace,
 * the lease is released, the store closes, and the process exits 0.
 */
const program = Effect.gen(function*() {
  const config = yield* workerConfig
  const postgres = yield* postgresConfigWhenSet
  if (config.defaultsUsed.length > 0) {
    yield* Effect.logWarning(
      `development mode: not set, using the public development defaults (never in production): ${
        config.defaultsUsed.map((name) => `${name}=${DEVELOPMENT_SECRETS[name as keyof typeof DEVELOPMENT_SECRETS]}`).join(" ")
      }`
    )
  }
  const instance = newInstanceId(config.workerId)
  yield* Effect.logInfo(
    `worker ${config.workerId} (instance ${instance}): database ${
      Option.match(postgres, {
        onNone: () => `${config.database} (durability ${config.durability})`,
        onSome: ({ poolSize, url }) => `${describeDatabaseUrl(url)} (pool ${poolSize})`
      })
    }, concurrency ${config.concurrency}, dispatch unknown after ${config.dispatchUnknownAfterMs} ms, mode ${config.mode}`
  ).pipe(Effect.annotateLogs("instance", instance))
  return yield* Layer.launch(
    layerWorker({ ...config, requestTimeoutMs: config.provider.requestTimeoutMs }, { instance }).pipe(
      Layer.provide(workerDependencies(config, postgres))
    )
  )
})

runProcess("worker", program)
