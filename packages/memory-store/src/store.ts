import { EventStore, InMemoryEventStore, StatusReports, UnitOfWork } from "@mm-gateway/domain"
import {
  ApiKeyStore,
  ClickQueries,
  ConfigurationQueries,
  CredentialStore,
  DispatchQueue,
  ForwardingOutbox,
  Leases,
  MessageQueries,
  OnboardingQueries,
  ProjectionRunner,
  StoreHealth,
  WebhookEndpoints,
  WebhookInbox
} from "@mm-gateway/ports"
import { Context, Effect, Layer } from "effect"
import { makeApiKeyStore, makeCredentialStore, makeLeases, storeHealth } from "./admin.js"
import { makeForwarding } from "./forwarding.js"
import { makeInbox } from "./inbox.js"
import { Journal } from "./journal.js"
import { makeReadSide } from "./read-side.js"

/** Every port a process asks of its store, in memory. */
export type MemoryStore =
  | EventStore.EventStore
  | UnitOfWork.UnitOfWork
  | StatusReports.StatusMatching
  | OnboardingQueries
  | ConfigurationQueries
  | MessageQueries
  | ClickQueries
  | DispatchQueue
  | WebhookInbox
  | WebhookEndpoints
  | ForwardingOutbox
  | Leases
  | ApiKeyStore
  | CredentialStore
  | StoreHealth
  | ProjectionRunner

/** How many events the read side takes from the log at a time. */
const BATCH = 1_000

/** Every method of `service` as one operation under the gate, so none reads or writes into another fiber's open unit of work. */
const gated = <S extends object>(gate: UnitOfWork.TransactionGate, service: S): S => {
  const wrapped: Record<string, unknown> = {}
  for (const [name, method] of Object.entries(service)) {
    wrapped[name] = typeof method === "function"
      ? (...args: ReadonlyArray<unknown>) => gate.operation((method as (...a: ReadonlyArray<unknown>) => Effect.Effect<unknown>)(...args))
      : method
  }
  return wrapped as S
}

/**
 * The whole store in memory. The log is the domain's `InMemoryEventStore.make`; every append projects
 * the events it stored into the read side in the same unit of work (read your writes, docs/api.md), so
 * a unit of work that fails takes back its appends, its projections and everything else it changed
 * (parked statuses, leases, keys, credentials) together. The inbox stands apart, as SQLite keeps it in
 * a file of its own. Not durable: everything is gone with the layer.
 */
export const makeMemoryStore = Effect.gen(function*() {
  const log = yield* InMemoryEventStore.make
  const journal = new Journal()
  const readSide = makeReadSide(journal)
  const gate = UnitOfWork.makeTransactionGate()
  const forwarding = makeForwarding(journal)

  const transact = <A, E, R>(work: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    gate.transact({ begin: () => journal.begin(), commit: () => journal.commit(), rollback: () => journal.rollback() })(
      log.unitOfWork.transact(work)
    )

  /** Applies whatever the log holds past the read side's checkpoint; how many events. */
  const catchUp: Effect.Effect<number> = Effect.suspend(() =>
    Effect.flatMap(log.eventStore.readAll(readSide.checkpoint(), BATCH), (events: ReadonlyArray<EventStore.StoredEvent>) => {
      const applied = readSide.project(events)
      return events.length < BATCH ? Effect.succeed(applied) : Effect.map(catchUp, (more) => applied + more)
    }))

  const eventStore = EventStore.EventStore.of({
    readStream: (streamId) => gate.operation(log.eventStore.readStream(streamId)),
    readSnapshot: (streamId, schema) => gate.operation(log.eventStore.readSnapshot(streamId, schema)),
    readSnapshots: (streamIds, schema) => gate.operation(log.eventStore.readSnapshots(streamIds, schema)),
    readAll: (position, limit) => gate.operation(log.eventStore.readAll(position, limit)),
    append: (streamId, expected, events, snapshot) =>
      transact(Effect.tap(log.eventStore.append(streamId, expected, events, snapshot), () => catchUp)),
    appendMany: (appends) => transact(Effect.tap(log.eventStore.appendMany(appends), () => catchUp))
  })

  return Context.make(EventStore.EventStore, eventStore).pipe(
    Context.add(UnitOfWork.UnitOfWork, UnitOfWork.UnitOfWork.of({ transact })),
    Context.add(ProjectionRunner, ProjectionRunner.of({ catchUp: () => gate.operation(catchUp) })),
    Context.add(StatusReports.StatusMatching, gated(gate, readSide.statusMatching)),
    Context.add(OnboardingQueries, gated(gate, readSide.onboarding)),
    Context.add(ConfigurationQueries, gated(gate, readSide.configuration)),
    Context.add(MessageQueries, gated(gate, readSide.messageQueries)),
    Context.add(ClickQueries, gated(gate, readSide.clickQueries)),
    Context.add(DispatchQueue, gated(gate, readSide.dispatchQueue)),
    Context.add(Leases, gated(gate, makeLeases(journal))),
    Context.add(ApiKeyStore, gated(gate, makeApiKeyStore(journal))),
    Context.add(CredentialStore, gated(gate, makeCredentialStore(journal))),
    Context.add(WebhookEndpoints, gated(gate, forwarding.endpoints)),
    Context.add(ForwardingOutbox, gated(gate, forwarding.outbox)),
    Context.add(StoreHealth, storeHealth),
    Context.add(WebhookInbox, makeInbox())
  )
})

/** A fresh, empty store in memory each time the layer is built. */
export const layerMemoryStore: Layer.Layer<MemoryStore> = Layer.effectContext(makeMemoryStore)
