import type { EventStore, ProviderGateway, StatusReports, UnitOfWork } from "@mm-gateway/domain"
import { type DispatchQueue, Leases, type MessageQueries, type ProjectionRunner, type WebhookInbox } from "@mm-gateway/ports"
import { Cause, Effect, Exit, Layer } from "effect"
import { makeDispatcher } from "./dispatcher.js"
import { makeInboxProcessor } from "./inbox-processor.js"
import { keepLease, LEASE_NAME, newInstanceId, waitForLease } from "./lease.js"
import { makeStats, reportSince, type WorkerStats } from "./stats.js"
import { makeTimers } from "./timers.js"

/** The ports the worker runs on; the app's composition root provides them (the store, the provider clients). */
export type WorkerRequirements =
  | EventStore.EventStore
  | DispatchQueue
  | MessageQueries
  | ProjectionRunner
  | StatusReports.StatusMatching
  | UnitOfWork.UnitOfWork
  | Leases
  | WebhookInbox
  | ProviderGateway.ProviderGateway

/** How the worker runs; the app reads them from its configuration (apps/worker/README.md#configuration). */
export interface WorkerSettings {
  /**
   * A readable name for this worker in logs and lease records. The lease itself is held under an
   * instance identity made from it at each start (`newInstanceId`), so two processes never share it.
   */
  readonly workerId: string
  /** Provider requests in flight at once, across all channels. */
  readonly concurrency: number
  /** The longest a provider request may take: an attempt in flight 10 s past it was cut off (a crash). */
  readonly requestTimeoutMs: number
  /** How long an attempt with an unknown outcome waits for a webhook naming it before it becomes `dispatch_unknown`. */
  readonly dispatchUnknownAfterMs: number
  /** The lease lapses this long after its last renewal (renewed every third of it). */
  readonly leaseTtlMs: number
  /** How long a stop waits for requests in flight before it leaves them to the next start. */
  readonly shutdownGraceMs: number
  /** Idle pause of the dispatcher's and the inbox's polling loops. */
  readonly pollIntervalMs: number
  /** How often the timers run (dispatch-unknown window, TTL expiry, stale attempts, parked statuses, projections). */
  readonly timerIntervalMs: number
  /** Inbox rows applied per transaction. */
  readonly inboxBatchSize: number
  /**
   * Added to the 1 s window of the per-channel rate limit, so that network jitter between us and the
   * provider cannot squeeze one more request into any second the provider counts.
   */
  readonly rateWindowMarginMs: number
  /** How often the worker logs what it did. */
  readonly reportIntervalMs: number
}

/**
 * The settings' defaults: the app's configuration falls back on them where a variable is not set
 * (apps/worker/README.md#configuration); the rest are programmatic only.
 */
export const WORKER_DEFAULTS = {
  dispatchUnknownAfterMs: 10 * 60_000,
  leaseTtlMs: 15_000,
  shutdownGraceMs: 5_000,
  pollIntervalMs: 50,
  timerIntervalMs: 1_000,
  inboxBatchSize: 50,
  rateWindowMarginMs: 30,
  reportIntervalMs: 10_000
} as const satisfies Partial<WorkerSettings>

/** What a stop does with requests still in flight: wait this long for their answers (changeable until the stop). */
export interface ShutdownControl {
  graceMs: number
}

/**
 * One lease session, under this process's `instance` identity (`newInstanceId`): take the lease,
 * record attempts an earlier holder left in flight as unknown, then run the dispatcher, the inbox
 * processor and the timers until the lease is lost or the worker stops. Closing the session drains the dispatcher (no new starts; requests in flight get up to the
 * grace period), then stops the loops, then releases the lease.
 */
const session = (settings: WorkerSettings, instance: string, stats: WorkerStats, control: ShutdownControl) =>
  Effect.scoped(
    Effect.gen(function*() {
      const lease = yield* Leases
      const acquiredAt = yield* waitForLease(instance, settings.leaseTtlMs)
      yield* Effect.addFinalizer(() => Effect.zipRight(lease.release(LEASE_NAME, instance), Effect.logInfo(`lease released by ${instance}`)))
      yield* Effect.logInfo(`lease acquired by ${instance}`)
      let validUntil = acquiredAt + settings.leaseTtlMs
      // Stop starting requests a little before the lease could lapse, should renewals fall behind.
      const margin = Math.floor(settings.leaseTtlMs / 6)
      const leaseValid = (now: number) => now < validUntil - margin

      const dispatcher = yield* makeDispatcher(
        { concurrency: settings.concurrency, pollIntervalMs: settings.pollIntervalMs, rateWindowMarginMs: settings.rateWindowMarginMs },
        stats,
        leaseValid
      )
      const timers = makeTimers(
        {
          dispatchUnknownAfterMs: settings.dispatchUnknownAfterMs,
          staleInFlightAfterMs: settings.requestTimeoutMs + 10_000
        },
        stats,
        dispatcher.holds
      )
      const inbox = yield* makeInboxProcessor({ batchSize: settings.inboxBatchSize, pollIntervalMs: settings.pollIntervalMs }, stats)
      // Nothing else can be sending now: whatever is still in flight was cut off under the previous holder.
      yield* timers.recordInterruptedAttempts(true)
      yield* Effect.addFinalizer(() => dispatcher.drain(control.graceMs))

      const every = (ms: number, effect: Effect.Effect<void, never, WorkerRequirements>) =>
        Effect.forever(Effect.zipRight(effect, Effect.sleep(ms)))
      yield* Effect.all(
        [
          dispatcher.run,
          inbox.loop,
          every(settings.timerIntervalMs, timers.tick),
          keepLease(instance, settings.leaseTtlMs, (until) => {
            validUntil = until
          })
        ],
        { concurrency: "unbounded", discard: true }
      )
    })
  )

/** The worker: lease sessions one after another under `instance`, until interrupted. */
const workerProgram = (settings: WorkerSettings, instance: string, control: ShutdownControl) =>
  Effect.gen(function*() {
    const stats = makeStats()
    let last = makeStats()
    const report = Effect.forever(
      Effect.zipRight(
        Effect.sleep(settings.reportIntervalMs),
        Effect.suspend(() => {
          const { line, next } = reportSince(stats, last)
          last = next
          return line === null ? Effect.void : Effect.logInfo(line)
        })
      )
    )
    yield* Effect.forkScoped(report)
    for (;;) {
      const exit = yield* Effect.exit(session(settings, instance, stats, control))
      if (Exit.isSuccess(exit)) continue
      if (Cause.isInterruptedOnly(exit.cause)) return yield* Effect.interrupt
      const lost = Cause.failureOption(exit.cause)
      if (lost._tag === "Some") {
        yield* Effect.logWarning(`lease lost by ${instance}; waiting to take it again`)
      } else {
        yield* Effect.logError("worker session failed; starting a new one", exit.cause)
        yield* Effect.sleep(1_000)
      }
    }
  }).pipe(Effect.annotateLogs("instance", instance))

/**
 * The worker as a layer (`Layer.launch` it, with its ports provided): it runs while the layer is in
 * use and stops with it. It holds the lease under `instance` (default: a new `newInstanceId`), and a
 * stop gives requests in flight `control.graceMs` (default: `shutdownGraceMs`).
 */
export const layerWorker = (
  settings: WorkerSettings,
  options: { readonly instance?: string; readonly control?: ShutdownControl } = {}
): Layer.Layer<never, never, WorkerRequirements> =>
  Layer.scopedDiscard(
    Effect.suspend(() =>
      Effect.forkScoped(
        workerProgram(settings, options.instance ?? newInstanceId(settings.workerId), options.control ?? { graceMs: settings.shutdownGraceMs })
      )
    )
  )
