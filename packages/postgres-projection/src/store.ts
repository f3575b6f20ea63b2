import type { EventStore, StatusReports, UnitOfWork } from "@mm-gateway/domain"
import {
  type ApiKeyStore,
  ClickQueries,
  ConfigurationQueries,
  type CredentialStore,
  DispatchQueue,
  type ForwardingOutbox,
  type Leases,
  MessageQueries,
  OnboardingQueries,
  ProjectionRunner,
  type StoreHealth,
  type WebhookEndpoints,
  type WebhookInbox
} from "@mm-gateway/ports"
import { Context, Effect, Layer } from "effect"
import { layerAdminStore } from "./admin-store.js"
import { PostgresDatabase } from "./connection.js"
import { layerDatabase, type PostgresOptions } from "./database.js"
import { layerEventStore } from "./event-store.js"
import { layerForwarding } from "./forwarding.js"
import { layerInbox } from "./inbox.js"
import { layerLeases } from "./leases.js"
import {
  allProjections,
  makeClickQueries,
  makeConfigurationQueries,
  makeDispatchQueue,
  makeMessageQueries,
  makeOnboardingQueries
} from "./read-models/index.js"
import { catchUp } from "./runner.js"
import { layerStatusMatching } from "./status-matching.js"
import { layerUnitOfWork } from "./unit-of-work.js"

/** The query ports, each answered from the read models. */
export type ReadPorts = OnboardingQueries | ConfigurationQueries | MessageQueries | ClickQueries | DispatchQueue

export const layerReadModels: Layer.Layer<ReadPorts, never, PostgresDatabase> = Layer.effectContext(
  Effect.map(PostgresDatabase, (db) =>
    Context.make(OnboardingQueries, makeOnboardingQueries(db)).pipe(
      Context.add(ConfigurationQueries, makeConfigurationQueries(db)),
      Context.add(MessageQueries, makeMessageQueries(db)),
      Context.add(ClickQueries, makeClickQueries(db)),
      Context.add(DispatchQueue, makeDispatchQueue(db))
    ))
)

/** The runner over the read models: caught up once when the layer is built, and on every `catchUp()`. */
export const layerProjectionRunner: Layer.Layer<ProjectionRunner, never, PostgresDatabase> = Layer.effect(
  ProjectionRunner,
  Effect.gen(function*() {
    const db = yield* PostgresDatabase
    yield* catchUp(db, allProjections)
    return ProjectionRunner.of({ catchUp: () => catchUp(db, allProjections) })
  })
)

export type PostgresStore =
  | PostgresDatabase
  | EventStore.EventStore
  | UnitOfWork.UnitOfWork
  | StatusReports.StatusMatching
  | ReadPorts
  | WebhookInbox
  | Leases
  | ApiKeyStore
  | CredentialStore
  | WebhookEndpoints
  | ForwardingOutbox
  | StoreHealth
  | ProjectionRunner

/**
 * The whole store of one process on PostgreSQL: every port, on one pool of `options.poolSize`
 * connections to a database migrated when the layer is built (docs/persistence.md#postgresql). Closing
 * the scope closes the pool.
 */
export const layerPostgresStore = (options: PostgresOptions): Layer.Layer<PostgresStore> =>
  Layer.provideMerge(
    Layer.mergeAll(
      layerEventStore,
      layerUnitOfWork,
      layerReadModels,
      layerStatusMatching,
      layerInbox,
      layerLeases,
      layerAdminStore,
      layerForwarding,
      layerProjectionRunner
    ),
    layerDatabase(options)
  )
