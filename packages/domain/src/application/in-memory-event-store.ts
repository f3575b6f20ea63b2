import { Clock, Context, Effect, Layer } from "effect"
import type { DomainEvent } from "../events.js"
import { EventStore, satisfies, type StoredEvent, VersionConflict } from "./event-store.js"
import { makeTransactionGate, UnitOfWork } from "./unit-of-work.js"

/**
 * An event store in memory, with its unit of work: for tests, for trying the domain out, and as the
 * reference the contract suites were written against. Not durable. A unit of work that fails takes its
 * appends back.
 */
export const makeInMemoryEventStore = Effect.sync(() => {
  const log: Array<StoredEvent> = []
  const streams = new Map<string, Array<StoredEvent>>()
  const gate = makeTransactionGate()
  let mark: number | null = null
  const unitOfWork = UnitOfWork.of({
    transact: gate.transact({
      begin: () => {
        mark = log.length
      },
      commit: () => {
        mark = null
      },
      rollback: () => {
        const from = mark ?? log.length
        for (const undone of log.splice(from)) streams.get(undone.streamId)?.pop()
        for (const [id, events] of streams) if (events.length === 0) streams.delete(id)
        mark = null
      }
    })
  })
  const eventStore = EventStore.of({
    readStream: (streamId) =>
      gate.operation(Effect.sync(() => {
        const events = streams.get(streamId) ?? []
        return { version: events.length, events: [...events] }
      })),
    append: (streamId, expected, events: ReadonlyArray<DomainEvent>) =>
      gate.operation(Effect.gen(function*() {
        const recordedAt = yield* Clock.currentTimeMillis
        const stream = streams.get(streamId) ?? []
        if (!satisfies(expected, stream.length)) {
          return yield* Effect.fail(new VersionConflict({ streamId, expected, actual: stream.length }))
        }
        for (const event of events) {
          const stored: StoredEvent = {
            streamId,
            version: stream.length + 1,
            globalPosition: log.length + 1,
            event,
            recordedAt
          }
          stream.push(stored)
          log.push(stored)
        }
        streams.set(streamId, stream)
        return { nextVersion: stream.length, lastGlobalPosition: events.length === 0 ? null : log.length }
      })),
    readAll: (after, limit) =>
      gate.operation(Effect.sync(() => {
        // Positions are 1-based and dense here, so the slice starts at `after`.
        const start = Math.max(0, after)
        return log.slice(start, start + Math.max(0, limit))
      }))
  })
  return { eventStore, unitOfWork }
})

export const InMemoryEventStore: Layer.Layer<EventStore | UnitOfWork> = Layer.effectContext(
  Effect.map(makeInMemoryEventStore, ({ eventStore, unitOfWork }) =>
    Context.add(Context.make(EventStore, eventStore), UnitOfWork, unitOfWork))
)
