import { Context, Data, type Effect } from "effect"
import type { DomainEvent } from "../events.js"

/**
 * What an append expects of the stream: an exact version (the number of events already in it),
 * `"no_stream"` (empty), `"stream_exists"` (at least one event), or `"any"` (no concurrency check).
 */
export type ExpectedVersion = number | "no_stream" | "stream_exists" | "any"

export interface StoredEvent {
  readonly streamId: string
  /** 1-based position of the event within its stream. */
  readonly version: number
  /** Position in the whole log; strictly increasing in append order. */
  readonly globalPosition: number
  readonly event: DomainEvent
  readonly recordedAt: number
}

export interface StreamRead {
  /** The stream's version: the number of events in it (0 for a stream that does not exist). */
  readonly version: number
  readonly events: ReadonlyArray<StoredEvent>
}

/**
 * A stream as a command starts from it: the newest stored snapshot of the asked shape, if there is
 * one, and the events after it (all the stream's events when there is none).
 */
export interface SnapshotRead {
  readonly snapshot: { readonly state: unknown; readonly version: number } | null
  readonly events: ReadonlyArray<StoredEvent>
  /** The stream's version: the number of events in it. */
  readonly version: number
}

/**
 * The stream's state after an append, stored with it. `state` must survive `JSON.stringify` and
 * `JSON.parse` unchanged; `schema` names its shape, so a snapshot written before the shape changed is
 * not read back as the new one.
 */
export interface Snapshot {
  readonly state: unknown
  readonly schema: number
}

export interface AppendResult {
  readonly nextVersion: number
  /** Global position of the last appended event (`null` when nothing was appended). */
  readonly lastGlobalPosition: number | null
}

/** One stream's part of `appendMany`: what `append` takes. */
export interface StreamAppend {
  readonly streamId: string
  readonly expected: ExpectedVersion
  readonly events: ReadonlyArray<DomainEvent>
  readonly snapshot?: Snapshot
}

/** The stream is not at the version the append expected: someone else appended first. */
export class VersionConflict extends Data.TaggedError("VersionConflict")<{
  readonly streamId: string
  readonly expected: ExpectedVersion
  readonly actual: number
}> {}

/**
 * The event log. Infrastructure failures are defects; the only expected failure is a version
 * conflict, which the command handler retries.
 */
export class EventStore extends Context.Tag("@mm-gateway/domain/EventStore")<EventStore, {
  readonly readStream: (streamId: string) => Effect.Effect<StreamRead>
  /** The snapshot of shape `schema` with the events after it: what a command folds to start from. */
  readonly readSnapshot: (streamId: string, schema: number) => Effect.Effect<SnapshotRead>
  /** `readSnapshot` of several streams at once (distinct ids), in their order. */
  readonly readSnapshots: (streamIds: ReadonlyArray<string>, schema: number) => Effect.Effect<ReadonlyArray<SnapshotRead>>
  /** Appends `events` if the stream satisfies `expected`, and stores `snapshot` (the state after them) with them. */
  readonly append: (
    streamId: string,
    expected: ExpectedVersion,
    events: ReadonlyArray<DomainEvent>,
    snapshot?: Snapshot
  ) => Effect.Effect<AppendResult, VersionConflict>
  /**
   * `append` to several streams (each at most once) together: all of them or none. The events take
   * their global positions in the order of `appends`. When one stream does not satisfy its expected
   * version nothing is appended, and the failure is that stream's conflict.
   */
  readonly appendMany: (appends: ReadonlyArray<StreamAppend>) => Effect.Effect<ReadonlyArray<AppendResult>, VersionConflict>
  /** Events with `globalPosition > after`, in order, at most `limit` of them. */
  readonly readAll: (after: number, limit: number) => Effect.Effect<ReadonlyArray<StoredEvent>>
}>() {}

/**
 * The conflict of the first of `appends` whose stream, at `actuals[i]`, does not satisfy its expected
 * version, or `null` when all do: `appendMany`'s check, shared by every adapter so they agree.
 */
export const conflictAmong = (appends: ReadonlyArray<Pick<StreamAppend, "streamId" | "expected">>, actuals: ReadonlyArray<number>): VersionConflict | null => {
  for (let i = 0; i < appends.length; i++) {
    const { expected, streamId } = appends[i]!
    if (!satisfies(expected, actuals[i]!)) return new VersionConflict({ streamId, expected, actual: actuals[i]! })
  }
  return null
}

/** Whether a stream at `actual` satisfies `expected`. Shared by every adapter so they agree. */
export const satisfies = (expected: ExpectedVersion, actual: number): boolean => {
  switch (expected) {
    case "any":
      return true
    case "no_stream":
      return actual === 0
    case "stream_exists":
      return actual > 0
    default:
      return actual === expected
  }
}
