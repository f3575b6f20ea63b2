import type { EventStore, StatusReports, UnitOfWork } from "@mm-gateway/domain"
import { type ApiKeyStore, type CredentialStore, type ForwardingOutbox, type Leases, ProjectionRunner, type StoreHealth, type WebhookEndpoints } from "@mm-gateway/ports"
import { Effect, Layer } from "effect"
import { gateOf } from "./connection.js"
import { layerDatabase, SqliteDatabase, type SqliteOptions } from "./database.js"
import { layerEventStore } from "./event-store.js"
import { layerForwarding } from "./forwarding.js"
import { layerAdminStore } from "./admin-store.js"
import { layerLease } from "./lease.js"
import { layerReadModels, type ReadModels, type ReadPorts } from "./read-models.js"
import { catchUp } from "./runner.js"
import { layerStatusMatching } from "./status-matching.js"
import { layerUnitOfWork } from "./unit-of-work.js"
import { layerParkedStatuses, type ParkedStatuses } from "./parked-statuses.js"

/**
 * Everything on the main database file: the event store (with inline projections) and its unit of
 * work, the read models under every query port, the leases, parked statuses and the domain's
 * `StatusMatching` port over them, API keys, channel credentials, webhook endpoints with their
 * forwarding outbox, and the store's health.
 */
export const layer = (
  options: SqliteOptions
): Layer.Layer<
  | SqliteDatabase
  | EventStore.EventStore
  | UnitOfWork.UnitOfWork
  | ReadModels
  | ReadPorts
  | Leases
  | ParkedStatuses
  | StatusReports.StatusMatching
  | ApiKeyStore
  | CredentialStore
  | WebhookEndpoints
  | ForwardingOutbox
  | StoreHealth
  | ProjectionRunner
> =>
  Layer.provideMerge(
    Layer.mergeAll(
      layerEventStore,
      layerUnitOfWork,
      layerReadModels,
      layerLease,
      layerParkedStatuses,
      layerStatusMatching,
      layerAdminStore,
      layerForwarding,
      layerProjectionRunner
    ),
    layerDatabase(options)
  )

const layerProjectionRunner: Layer.Layer<ProjectionRunner, never, SqliteDatabase> = Layer.effect(
  ProjectionRunner,
  Effect.map(SqliteDatabase, ({ db, projections }) =>
    ProjectionRunner.of({ catchUp: () => gateOf(db).operation(Effect.sync(() => catchUp(db, projections).applied)) }))
)
