import { Clock, Effect, Layer } from "effect"
import type { DomainEvent } from "../events.js"
import { EventStore, satisfies, type StoredEvent, VersionConflict } from "./event-store.js"

/**
 * An event store in memory: for tests, for trying the domain out, and as the reference the
 * event-store contract suite was written against. Not durable.
 */
export const makeInMemoryEventStore = Effect.sync(() => {
  const log: Array<StoredEvent> = []
  const streams = new Map<string, Array<StoredEvent>>()
  return EventStore.of({
    readStream: (streamId) =>
      Effect.sync(() => {
        const events = streams.get(streamId) ?? []
        return { version: events.length, events: [...events] }
      }),
    append: (streamId, expected, events: ReadonlyArray<DomainEvent>) =>
      Effect.gen(function*() {
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
      }),
    readAll: (after, limit) =>
      Effect.sync(() => {
        // Positions are 1-based and dense here, so the slice starts at `after`.
        const start = Math.max(0, after)
        return log.slice(start, start + Math.max(0, limit))
      })
  })
})

export const InMemoryEventStore = Layer.effect(EventStore, makeInMemoryEventStore)
