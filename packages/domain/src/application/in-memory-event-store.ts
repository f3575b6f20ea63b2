import { Clock, Context, Effect, Layer } from "effect"
import type { DomainEvent } from "../events.js"
import { type AppendResult, conflictAmong, EventStore, type StoredEvent, type StreamAppend } from "./event-store.js"
import { makeTransactionGate, UnitOfWork } from "./unit-of-work.js"

/**
 * An event store in memory, with its unit of work: for tests, for trying the domain out, and as the
 * reference the contract suites were written against. Not durable. A unit of work that fails takes its
 * appends back.
 */
export const make = Effect.sync(() => {
  const log: Array<StoredEvent> = []
  const streams = new Map<string, Array<StoredEvent>>()
  // Kept as JSON text, as a database keeps them: a state that does not survive the round trip fails here too.
  const snapshots = new Map<string, { readonly version: number; readonly schema: number; readonly json: string }>()
  const gate = makeTransactionGate()
  let mark: { readonly log: number; readonly snapshots: Map<string, { readonly version: number; readonly schema: number; readonly json: string }> } | null = null
  const unitOfWork = UnitOfWork.of({
    transact: gate.transact({
      begin: () => {
        mark = { log: log.length, snapshots: new Map(snapshots) }
      },
      commit: () => {
        mark = null
      },
      rollback: () => {
        if (mark === null) return
        for (const undone of log.splice(mark.log)) streams.get(undone.streamId)?.pop()
        for (const [id, events] of streams) if (events.length === 0) streams.delete(id)
        snapshots.clear()
        for (const [id, snapshot] of mark.snapshots) snapshots.set(id, snapshot)
        mark = null
      }
    })
  })
  const snapshotRead = (streamId: string, schema: number) => {
    const events = streams.get(streamId) ?? []
    const stored = snapshots.get(streamId)
    const snapshot = stored !== undefined && stored.schema === schema ? { state: JSON.parse(stored.json) as unknown, version: stored.version } : null
    return { snapshot, events: events.slice(snapshot?.version ?? 0), version: events.length }
  }
  /** Every stream checked first, then every one written: all or nothing. */
  const appendMany = (appends: ReadonlyArray<StreamAppend>) =>
    Effect.flatMap(Clock.currentTimeMillis, (recordedAt) => {
      const conflict = conflictAmong(appends, appends.map((a) => streams.get(a.streamId)?.length ?? 0))
      if (conflict !== null) return Effect.fail(conflict)
      return Effect.succeed(appends.map(({ streamId, events, snapshot }): AppendResult => {
        const stream = streams.get(streamId) ?? []
        for (const event of events) {
          const stored: StoredEvent = { streamId, version: stream.length + 1, globalPosition: log.length + 1, event, recordedAt }
          stream.push(stored)
          log.push(stored)
        }
        streams.set(streamId, stream)
        if (snapshot !== undefined && events.length > 0) {
          snapshots.set(streamId, { version: stream.length, schema: snapshot.schema, json: JSON.stringify(snapshot.state) })
        }
        return { nextVersion: stream.length, lastGlobalPosition: events.length === 0 ? null : log.length }
      }))
    })
  const eventStore = EventStore.of({
    readStream: (streamId) =>
      gate.operation(Effect.sync(() => {
        const events = streams.get(streamId) ?? []
        return { version: events.length, events: [...events] }
      })),
    readSnapshot: (streamId, schema) => gate.operation(Effect.sync(() => snapshotRead(streamId, schema))),
    readSnapshots: (streamIds, schema) => gate.operation(Effect.sync(() => streamIds.map((id) => snapshotRead(id, schema)))),
    append: (streamId, expected, events: ReadonlyArray<DomainEvent>, snapshot) =>
      gate.operation(Effect.map(appendMany([{ streamId, expected, events, ...(snapshot === undefined ? {} : { snapshot }) }]), (results) => results[0]!)),
    appendMany: (appends) => gate.operation(appendMany(appends)),
    readAll: (after, limit) =>
      gate.operation(Effect.sync(() => {
        // Positions are 1-based and dense here, so the slice starts at `after`.
        const start = Math.max(0, after)
        return log.slice(start, start + Math.max(0, limit))
      }))
  })
  return { eventStore, unitOfWork }
})

/** The in-memory store as a layer: a fresh, empty store each time it is built. */
export const layer: Layer.Layer<EventStore | UnitOfWork> = Layer.effectContext(
  Effect.map(make, ({ eventStore, unitOfWork }) =>
    Context.add(Context.make(EventStore, eventStore), UnitOfWork, unitOfWork))
)
