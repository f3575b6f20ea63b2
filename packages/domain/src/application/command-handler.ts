import { Effect } from "effect"
import type { DomainEvent } from "../events.js"
import { fold } from "../shared/decider.js"
import type { StreamKind } from "../streams.js"
import { EventStore } from "./event-store.js"

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
 * fresh state (the decision may well be "nothing to do" now). An append fails with nothing but
 * `VersionConflict`.
 *
 * `from`: the stream's state and version as the caller already holds them (the dispatcher's, from the
 * start it recorded): decided on without a read. Only an append counts from it; should the stream have
 * moved on (a conflict), or the decision on it be a refusal or nothing to do, the command is decided
 * again on a fresh read, so the outcome is the same as if the stream had been read here.
 */
export const handleCommand = <Command, Event extends DomainEvent, State, Error>(
  kind: StreamKind<Command, Event, State, Error>,
  streamId: string,
  command: Command,
  from?: { readonly state: State; readonly version: number }
): Effect.Effect<Handled<Event, State>, Error, EventStore> =>
  // Plain `flatMap`s over synchronous steps rather than generators, and a loop of its own rather than
  // `Effect.retry` (no schedule to build): this runs once per status webhook item.
  Effect.flatMap(EventStore, (store) => {
    const decideOn = (state: State, version: number, fresh: boolean, retries: number): Effect.Effect<Handled<Event, State>, Error> => {
      const decided = kind.decider.decide(command, state)
      if (!fresh && (decided._tag === "Left" || decided.right.length === 0)) return attempt(retries)
      if (decided._tag === "Left") return Effect.fail(decided.left)
      const events = decided.right
      if (events.length === 0) return Effect.succeed({ events, state, version })
      return Effect.matchEffect(store.append(streamId, version, events), {
        onFailure: (conflict) => (retries > 0 ? attempt(retries - 1) : Effect.die(conflict)),
        onSuccess: (appended) => {
          let next = state
          for (const e of events) next = kind.decider.evolve(next, e)
          return Effect.succeed({ events, state: next, version: appended.nextVersion })
        }
      })
    }
    const attempt = (retries: number): Effect.Effect<Handled<Event, State>, Error> =>
      Effect.flatMap(store.readStream(streamId), (read) =>
        // Every event of a stream belongs to its kind's decider: the stream id says which.
        decideOn(fold(kind.decider, read.events.map((s) => s.event as Event)), read.version, true, retries))
    return from === undefined ? attempt(MAX_CONFLICT_RETRIES) : decideOn(from.state, from.version, false, MAX_CONFLICT_RETRIES)
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
