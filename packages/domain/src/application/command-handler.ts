import { Effect } from "effect"
import type { DomainEvent } from "../events.js"
import { fold } from "../shared/decider.js"
import type { StreamKind } from "../streams.js"
import { EventStore, VersionConflict } from "./event-store.js"

export interface Handled<Event, State> {
  /** The events this command appended (empty when it had nothing to do). */
  readonly events: ReadonlyArray<Event>
  /** The stream's state after the command. */
  readonly state: State
  readonly version: number
}

/** How many times a command is decided again after losing an optimistic-concurrency race. */
export const MAX_CONFLICT_RETRIES = 20

/**
 * The command handler: read the stream → fold → decide → nothing to append? stop → append with the
 * version that was read. A version conflict means another writer got there first: decide again on the
 * fresh state (the decision may well be "nothing to do" now).
 */
export const handleCommand = <Command, Event extends DomainEvent, State, Error>(
  kind: StreamKind<Command, Event, State, Error>,
  streamId: string,
  command: Command
): Effect.Effect<Handled<Event, State>, Error, EventStore> =>
  Effect.gen(function*() {
    const store = yield* EventStore
    const attempt = Effect.gen(function*() {
      const read = yield* store.readStream(streamId)
      // Every event of a stream belongs to its kind's decider: the stream id says which.
      const state = fold(kind.decider, read.events.map((s) => s.event as Event))
      const decided = kind.decider.decide(command, state)
      if (decided._tag === "Left") return yield* Effect.fail(decided.left)
      const events = decided.right
      if (events.length === 0) return { events, state, version: read.version }
      const appended = yield* store.append(streamId, read.version, events)
      let next = state
      for (const e of events) next = kind.decider.evolve(next, e)
      return { events, state: next, version: appended.nextVersion }
    })
    // A plain loop rather than `Effect.retry`: no schedule to build on a path taken once per status.
    const attemptUpTo = (retries: number): Effect.Effect<Handled<Event, State>, Error> =>
      Effect.catchIf(
        attempt,
        (e): e is Error & VersionConflict => e instanceof VersionConflict,
        (e) => (retries > 0 ? attemptUpTo(retries - 1) : Effect.die(e))
      ) as Effect.Effect<Handled<Event, State>, Error>
    return yield* attemptUpTo(MAX_CONFLICT_RETRIES)
  })

/** Read a stream and fold it, without deciding anything. */
export const loadState = <Command, Event extends DomainEvent, State, Error>(
  kind: StreamKind<Command, Event, State, Error>,
  streamId: string
): Effect.Effect<{ readonly state: State; readonly version: number }, never, EventStore> =>
  Effect.gen(function*() {
    const store = yield* EventStore
    const read = yield* store.readStream(streamId)
    return { state: fold(kind.decider, read.events.map((s) => s.event as Event)), version: read.version }
  })
