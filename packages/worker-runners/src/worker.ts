import type { EventStore, ProviderGateway, StatusReports, UnitOfWork } from "@mm-gateway/domain"
import {
  type DispatchQueue,
  FORWARD_RETRY_FOR_DEFAULT_MS,
  type Leases,
  type MessageQueries,
  type OnboardingQueries,
  type ProjectionRunner,
  type WebhookDeliverer,
  type WebhookInbox
} from "@mm-gateway/ports"
import { Cause, Clock, Effect, Exit, Layer } from "effect"
import { makeDispatcher } from "./dispatcher.js"
import { type ForwardingRequirements, makeForwarder } from "./forwarder.js"
import { makeInboxProcessor } from "./inbox-processor.js"
import { makeMetaStatusSync } from "./meta-status-sync.js"
import { newInstanceId } from "./lease.js"
import { makeShare } from "./share.js"
import { makeStats, reportSince, type WorkerStats } from "./stats.js"
import { makeTimers } from "./timers.js"

/** The ports the worker runs on; the app's composition root provides them (the store, the provider clients). */
export type WorkerRequirements =
  | EventStore.EventStore
  | DispatchQueue
  | MessageQueries
  | OnboardingQueries
  | ProjectionRunner
  | StatusReports.StatusMatching
  | UnitOfWork.UnitOfWork
  | Leases
  | WebhookInbox
  | ForwardingRequirements
  | WebhookDeliverer
  | ProviderGateway.ProviderGateway

/** How the worker runs; the app reads them from its configuration (apps/worker/README.md#configuration). */
export interface WorkerSettings {
  /**
   * A readable name for this worker in logs and lease records. Leases and the heartbeat are held
   * under an instance identity made from it at each start (`newInstanceId`), so two processes never
   * share one.
   */
  readonly workerId: string
  /** Provider requests in flight at once, across all channels. */
  readonly concurrency: number
  /** The longest a provider request may take: an attempt in flight 10 s past it was cut off (a crash). */
  readonly requestTimeoutMs: number
  /** How long an attempt with an unknown outcome waits for a webhook naming it before it becomes `dispatch_unknown`. */
  readonly dispatchUnknownAfterMs: number
  /**
   * Leases, inbox claims and the heartbeat lapse this long after their last renewal (renewed every
   * third of it): a dead worker's channels pass to the others within it.
   */
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
  /** How often a WABA on a Meta channel has its MM API onboarding status read from Meta again. */
  readonly metaStatusSyncIntervalMs: number
  /** Forwarding to the tenants' endpoints (docs/forwarding.md#delivery): attempted this long after the webhook's 200. */
  readonly forwardRetryForMs: number
  /** An endpoint whose every delivery failed for this long is paused. */
  readonly forwardPauseAfterMs: number
  /** Deliveries in flight at once. */
  readonly forwardConcurrency: number
  /** Processed webhook bodies are kept this long after they were applied, then forgotten (`MMGW_INBOX_KEEP`). */
  readonly inboxKeepMs: number
  /** Delivered and given-up deliveries are kept in the log this long after they were created (`MMGW_FORWARD_LOG_KEEP`). */
  readonly forwardLogKeepMs: number
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
  reportIntervalMs: 10_000,
  metaStatusSyncIntervalMs: 60 * 60_000,
  forwardRetryForMs: FORWARD_RETRY_FOR_DEFAULT_MS,
  forwardPauseAfterMs: 60 * 60_000,
  forwardConcurrency: 16,
  // Meta retries a webhook for up to 7 days: a body kept longer is still recognised as a duplicate.
  inboxKeepMs: 14 * 24 * 60 * 60_000,
  forwardLogKeepMs: 14 * 24 * 60 * 60_000
} as const satisfies Partial<WorkerSettings>

/**
 * How often the share's round runs: every second, so that a channel registered or let go finds a
 * worker soon, or every third of the lease time when that is shorter, so that a lease is renewed
 * twice before it could lapse.
 */
export const roundIntervalMs = (leaseTtlMs: number): number => Math.max(10, Math.min(1_000, Math.floor(leaseTtlMs / 3)))

/** What a stop does with requests still in flight: wait this long for their answers (changeable until the stop). */
export interface ShutdownControl {
  graceMs: number
}

/**
 * One session, under this process's `instance` identity (`newInstanceId`): the heartbeat and the
 * share's rounds (`roundIntervalMs`: the channels and the timers taken, kept and given up among the
 * live workers, docs/worker.md#many-workers), and beside them the dispatcher (on the
 * channels held), the inbox processor (claiming bodies with the others), the forwarder (claiming
 * deliveries with the others) and the timers (while their
 * lease is held), until the worker stops or something fails. Closing the session drains the
 * dispatcher (no new starts; requests in flight get up to the grace period), then stops the loops,
 * then releases every lease and retires the heartbeat.
 */
const session = (settings: WorkerSettings, instance: string, stats: WorkerStats, control: ShutdownControl) =>
  Effect.scoped(
    Effect.gen(function*() {
      const dispatcher = yield* makeDispatcher(
        {
          concurrency: settings.concurrency,
          pollIntervalMs: settings.pollIntervalMs,
          rateWindowMarginMs: settings.rateWindowMarginMs,
          forwardRetryForMs: settings.forwardRetryForMs
        },
        stats
      )
      const timers = makeTimers(
        {
          dispatchUnknownAfterMs: settings.dispatchUnknownAfterMs,
          inboxKeepMs: settings.inboxKeepMs,
          forwardLogKeepMs: settings.forwardLogKeepMs,
          staleInFlightAfterMs: settings.requestTimeoutMs + 10_000
        },
        stats,
        dispatcher.holds
      )
      const inbox = yield* makeInboxProcessor(
        {
          batchSize: settings.inboxBatchSize,
          pollIntervalMs: settings.pollIntervalMs,
          claimant: instance,
          claimTtlMs: settings.leaseTtlMs,
          forwardRetryForMs: settings.forwardRetryForMs
        },
        stats
      )
      const forwarder = yield* makeForwarder(
        {
          retryForMs: settings.forwardRetryForMs,
          pauseAfterMs: settings.forwardPauseAfterMs,
          concurrency: settings.forwardConcurrency,
          batchSize: settings.forwardConcurrency * 4,
          pollIntervalMs: settings.pollIntervalMs,
          claimant: instance,
          claimTtlMs: settings.leaseTtlMs
        },
        stats
      )
      const metaStatus = makeMetaStatusSync({ intervalMs: settings.metaStatusSyncIntervalMs }, stats)
      const share = yield* makeShare({ instance, leaseTtlMs: settings.leaseTtlMs, pollIntervalMs: settings.pollIntervalMs }, dispatcher, timers)
      yield* Effect.addFinalizer(() => Effect.zipRight(share.leave, Effect.logInfo(`leases released by ${instance}`)))
      yield* Effect.addFinalizer(() => dispatcher.drain(control.graceMs))
      yield* share.round
      yield* Effect.logInfo(`${instance} at work: holds ${share.summary(yield* Clock.currentTimeMillis)}`)

      const every = <R>(ms: number, effect: Effect.Effect<void, never, R>) => Effect.forever(Effect.zipRight(effect, Effect.sleep(ms)))
      yield* Effect.all(
        [
          dispatcher.run,
          inbox.loop,
          forwarder.loop,
          every(
            settings.timerIntervalMs,
            Effect.flatMap(Clock.currentTimeMillis, (now) => (share.timersHeld(now) ? timers.tick : Effect.void))
          ),
          // Beside the timers, not in their tick: a read waits on Meta, the timers must not.
          every(
            settings.timerIntervalMs,
            Effect.flatMap(Clock.currentTimeMillis, (now) => (share.timersHeld(now) ? metaStatus.pass : Effect.void))
          ),
          Effect.forever(Effect.zipRight(Effect.sleep(roundIntervalMs(settings.leaseTtlMs)), share.round))
        ],
        { concurrency: "unbounded", discard: true }
      )
    })
  )

/** The worker: sessions one after another under `instance`, until interrupted. */
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
      yield* Effect.logError("worker session failed; starting a new one", exit.cause)
      yield* Effect.sleep(1_000)
    }
  }).pipe(Effect.annotateLogs("instance", instance))

/**
 * The worker as a layer (`Layer.launch` it, with its ports provided): it runs while the layer is in
 * use and stops with it. It holds its leases under `instance` (default: a new `newInstanceId`), and a
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
