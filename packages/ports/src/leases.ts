import { Context, type Effect } from "effect"

/** A lease held at some moment: by whom, since when (its holder's first acquisition), until when. */
export interface LeaseRecord {
  readonly name: string
  readonly holder: string
  readonly acquiredAt: number
  readonly expiresAt: number
}

/** A worker instance's heartbeat record: alive until `expiresAt` unless it beats again. */
export interface WorkerRecord {
  readonly instance: string
  /** Its first heartbeat. */
  readonly startedAt: number
  readonly heartbeatAt: number
  readonly expiresAt: number
}

/**
 * Named leases and the workers' heartbeats (docs/worker.md#many-workers): a channel is dispatched by
 * the worker holding its lease, the timers by the holder of theirs, and the live workers share the
 * channels out by their heartbeats. Each operation is atomic across processes; times come from the
 * caller so tests need no clock.
 * `holder` must name one process, not a name several may be configured with: the lease counts any
 * holder equal to its own as itself.
 */
export class Leases extends Context.Tag("@mm-gateway/ports/Leases")<Leases, {
  /** Takes the lease when it is free, expired, or already ours (which renews it). */
  readonly acquire: (name: string, holder: string, ttlMs: number, now: number) => Effect.Effect<boolean>
  /** Extends a lease we still hold; false when it expired and someone else may have it. */
  readonly renew: (name: string, holder: string, ttlMs: number, now: number) => Effect.Effect<boolean>
  readonly release: (name: string, holder: string) => Effect.Effect<void>
  readonly holderOf: (name: string, now: number) => Effect.Effect<string | null>
  /** Every lease held at `now`, by name. */
  readonly held: (now: number) => Effect.Effect<ReadonlyArray<LeaseRecord>>
  /** Extends, as `renew` does, every lease `holder` still holds at `now`; the names of those it extended, in order. */
  readonly renewAll: (holder: string, ttlMs: number, now: number) => Effect.Effect<ReadonlyArray<string>>
  /** Frees every lease `holder` holds. */
  readonly releaseAll: (holder: string) => Effect.Effect<void>
  /**
   * The worker instance is alive until `now + ttlMs`; its first heartbeat records when it started. A
   * store may forget records that lapsed an hour or more ago.
   */
  readonly heartbeat: (instance: string, ttlMs: number, now: number) => Effect.Effect<void>
  /** The workers whose heartbeat has not lapsed at `now`, by instance. */
  readonly liveWorkers: (now: number) => Effect.Effect<ReadonlyArray<WorkerRecord>>
  /** The worker instance stops: it is no longer live. */
  readonly retire: (instance: string) => Effect.Effect<void>
}>() {}

/** The lease of a channel's dispatch: its holder alone sends the channel's messages. */
export const channelLease = (phoneNumberId: string): string => `channel:${phoneNumberId}`

/** The channel a lease is for, or `null` when it is not a channel's. */
export const channelOfLease = (name: string): string | null => (name.startsWith("channel:") ? name.slice("channel:".length) : null)

/** The lease of the timers (dispatch-unknown window, expiry, stale attempts, parked statuses, projections): one worker runs them at a time. */
export const TIMERS_LEASE = "timers"
