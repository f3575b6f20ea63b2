import { Effect, Either } from "effect"
import type { DomainEvent } from "../events.js"
import type { DomainError } from "../shared/errors.js"
import { type StreamCommand, type StreamKind, streamKinds } from "../streams.js"
import { EventStore, type SnapshotRead } from "./event-store.js"

export interface Handled<Event, State> {
  /** The events this command appended (empty when it had nothing to do). */
  readonly events: ReadonlyArray<Event>
  /** The stream's state after the command. */
  readonly state: State
  readonly version: number
}

/** How many times a command is decided again after losing an optimistic-concurrency race. */
const MAX_CONFLICT_RETRIES = 20

/** The stream's state: its snapshot (or the initial state) with the events after it folded in. */
const stateOf = <Command, Event, State, Error>(kind: StreamKind<Command, Event, State, Error>, read: SnapshotRead): State => {
  let state = read.snapshot === null ? kind.decider.initialState() : (read.snapshot.state as State)
  // Every event of a stream belongs to its kind's decider: the stream id says which.
  for (const stored of read.events) state = kind.decider.evolve(state, stored.event as Event)
  return state
}

/** Steps 2–4 on one read: the state, the decision, and the state after the new events (none: nothing to do). */
const decideOn = <Command, Event, State, Error>(
  kind: StreamKind<Command, Event, State, Error>,
  state: State,
  command: Command
): Either.Either<{ readonly events: ReadonlyArray<Event>; readonly next: State }, Error> =>
  Either.map(kind.decider.decide(command, state), (events) => {
    let next = state
    for (const e of events) next = kind.decider.evolve(next, e)
    return { events, next }
  })

/**
 * The command handler, in five steps: (1) read the stream's snapshot and the events after it, (2) fold
 * them into the state, (3) decide, (4) nothing to append? stop, (5) append with the version that was
 * read, storing the state after the new events as the next snapshot. A version conflict means another
 * writer got there first: the command is decided again on a fresh read (where it may well have nothing
 * left to do). An append fails with nothing but `VersionConflict`.
 */
export const handleCommand = <Command, Event extends DomainEvent, State, Error>(
  kind: StreamKind<Command, Event, State, Error>,
  streamId: string,
  command: Command
): Effect.Effect<Handled<Event, State>, Error, EventStore> =>
  // Plain `flatMap`s over synchronous steps rather than generators, and a loop of its own rather than
  // `Effect.retry` (no schedule to build): this runs once per dispatch step.
  Effect.flatMap(EventStore, (store) => {
    const attempt = (retries: number): Effect.Effect<Handled<Event, State>, Error> =>
      Effect.flatMap(store.readSnapshot(streamId, kind.snapshotSchema), (read) => {
        const state = stateOf(kind, read)
        const decided = decideOn(kind, state, command)
        if (decided._tag === "Left") return Effect.fail(decided.left)
        const { events, next } = decided.right
        if (events.length === 0) return Effect.succeed({ events, state, version: read.version })
        return Effect.matchEffect(store.append(streamId, read.version, events, { state: next, schema: kind.snapshotSchema }), {
          onFailure: (conflict) => (retries > 0 ? attempt(retries - 1) : Effect.die(conflict)),
          onSuccess: (appended) => Effect.succeed({ events, state: next, version: appended.nextVersion })
        })
      })
    return attempt(MAX_CONFLICT_RETRIES)
  })

/** A command addressed to one stream of a kind, for `handleCommands`. */
export interface Addressed<Command> {
  readonly streamId: string
  readonly command: Command
}

/**
 * `handleCommand` for many commands of one stream kind at once (a webhook's statuses): the same five
 * steps, with one snapshot read for all their streams and one append of all their events
 * (`readSnapshots`, `appendMany`). Commands are decided in their order, each from the state the ones
 * before it left (several may address one stream); a command its stream refuses is that command's
 * `Left` and leaves the state as it was, the others go on. A version conflict on any stream decides
 * them all again on a fresh read. Each command's `Handled` is what it appended and the state after it.
 */
export const handleCommands = <Command, Event extends DomainEvent, State, Error>(
  kind: StreamKind<Command, Event, State, Error>,
  commands: ReadonlyArray<Addressed<Command>>
): Effect.Effect<ReadonlyArray<Either.Either<Handled<Event, State>, Error>>, never, EventStore> =>
  Effect.flatMap(EventStore, (store) => {
    const streamIds = [...new Set(commands.map((c) => c.streamId))]
    const attempt = (retries: number): Effect.Effect<ReadonlyArray<Either.Either<Handled<Event, State>, Error>>> =>
      Effect.flatMap(store.readSnapshots(streamIds, kind.snapshotSchema), (reads) => {
        const streams = new Map<string, { readonly read: SnapshotRead; state: State; readonly events: Array<Event> }>()
        streamIds.forEach((id, i) => streams.set(id, { read: reads[i]!, state: stateOf(kind, reads[i]!), events: [] }))
        const outcomes = commands.map((c): Either.Either<{ events: ReadonlyArray<Event>; state: State; stream: string; index: number }, Error> => {
          const stream = streams.get(c.streamId)!
          const decided = decideOn(kind, stream.state, c.command)
          if (decided._tag === "Left") return Either.left(decided.left)
          const { events, next } = decided.right
          stream.state = next
          stream.events.push(...events)
          return Either.right({ events, state: next, stream: c.streamId, index: stream.events.length })
        })
        const appends = [...streams].filter(([, s]) => s.events.length > 0).map(([streamId, s]) => ({
          streamId,
          expected: s.read.version,
          events: s.events,
          snapshot: { state: s.state, schema: kind.snapshotSchema }
        }))
        const handled = () =>
          outcomes.map((o) =>
            Either.map(o, ({ events, index, state, stream }) => ({ events, state, version: streams.get(stream)!.read.version + index }))
          )
        if (appends.length === 0) return Effect.succeed(handled())
        return Effect.matchEffect(store.appendMany(appends), {
          onFailure: (conflict) => (retries > 0 ? attempt(retries - 1) : Effect.die(conflict)),
          onSuccess: () => Effect.succeed(handled())
        })
      })
    return commands.length === 0 ? Effect.succeed([]) : attempt(MAX_CONFLICT_RETRIES)
  })

/** A stream's state and version (from its snapshot and the events after it), without deciding anything. */
export const loadState = <Command, Event extends DomainEvent, State, Error>(
  kind: StreamKind<Command, Event, State, Error>,
  streamId: string
): Effect.Effect<{ readonly state: State; readonly version: number }, never, EventStore> =>
  Effect.flatMap(EventStore, (store) =>
    Effect.map(store.readSnapshot(streamId, kind.snapshotSchema), (read) => ({ state: stateOf(kind, read), version: read.version })))

/** `loadState` of several streams of a kind at once (distinct ids; one snapshot read), in their order. */
export const loadStates = <Command, Event extends DomainEvent, State, Error>(
  kind: StreamKind<Command, Event, State, Error>,
  streamIds: ReadonlyArray<string>
): Effect.Effect<ReadonlyArray<{ readonly state: State; readonly version: number }>, never, EventStore> =>
  streamIds.length === 0 ? Effect.succeed([]) : Effect.flatMap(EventStore, (store) =>
    Effect.map(store.readSnapshots(streamIds, kind.snapshotSchema), (reads) => reads.map((read) => ({ state: stateOf(kind, read), version: read.version }))))

/** `handleCommand` for a command addressed by its stream kind's name. */
export const handleStreamCommand = (c: StreamCommand): Effect.Effect<Handled<DomainEvent, unknown>, DomainError, EventStore> =>
  handleCommand(
    streamKinds[c.stream] as unknown as StreamKind<StreamCommand["command"], DomainEvent, unknown, DomainError>,
    c.streamId,
    c.command
  )
