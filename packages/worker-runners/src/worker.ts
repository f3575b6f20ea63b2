import { type EventStore, ProviderGateway, type StatusMatching, type UnitOfWork } from "@mm-gateway/domain"
import { ChannelCredentials, deriveCredentialsKey, layerCredentials, providerGatewayLayer } from "@mm-gateway/http-adapter"
import { type DispatchQueue, Leases, type MessageQueries, type ProjectionRunner, type WebhookInbox } from "@mm-gateway/ports"
import { layerSqliteStore } from "@mm-gateway/sqlite-projection"
import { Cause, type Context, Effect, Exit, Fiber, Layer, Logger, LogLevel } from "effect"
import type { WorkerConfig } from "./config.js"
import { makeDispatcher } from "./dispatcher.js"
import { makeInboxProcessor } from "./inbox-processor.js"
import { keepLease, LEASE_NAME, newInstanceId, waitForLease } from "./lease.js"
import { makeStats, reportSince, type WorkerStats } from "./stats.js"
import { makeTimers } from "./timers.js"

export type WorkerRequirements =
  | EventStore
  | DispatchQueue
  | MessageQueries
  | ProjectionRunner
  | StatusMatching
  | UnitOfWork
  | Leases
  | WebhookInbox
  | ProviderGateway

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
const session = (config: WorkerConfig, instance: string, stats: WorkerStats, control: ShutdownControl) =>
  Effect.scoped(
    Effect.gen(function*() {
      const lease = yield* Leases
      const acquiredAt = yield* waitForLease(instance, config.leaseTtlMs)
      yield* Effect.addFinalizer(() => Effect.zipRight(lease.release(LEASE_NAME, instance), Effect.logInfo(`lease released by ${instance}`)))
      yield* Effect.logInfo(`lease acquired by ${instance}`)
      let validUntil = acquiredAt + config.leaseTtlMs
      // Stop starting requests a little before the lease could lapse, should renewals fall behind.
      const margin = Math.floor(config.leaseTtlMs / 6)
      const leaseValid = (now: number) => now < validUntil - margin

      const dispatcher = yield* makeDispatcher(
        { concurrency: config.concurrency, pollIntervalMs: config.pollIntervalMs, rateWindowMarginMs: config.rateWindowMarginMs },
        stats,
        leaseValid
      )
      const timers = makeTimers(
        {
          dispatchUnknownAfterMs: config.dispatchUnknownAfterMs,
          staleInFlightAfterMs: config.provider.requestTimeoutMs + 10_000
        },
        stats,
        dispatcher.holds
      )
      const inbox = yield* makeInboxProcessor({ batchSize: config.inboxBatchSize, pollIntervalMs: config.pollIntervalMs }, stats)
      // Nothing else can be sending now: whatever is still in flight was cut off under the previous holder.
      yield* timers.recordInterruptedAttempts(true)
      yield* Effect.addFinalizer(() => dispatcher.drain(control.graceMs))

      const every = (ms: number, effect: Effect.Effect<void, never, WorkerRequirements>) =>
        Effect.forever(Effect.zipRight(effect, Effect.sleep(ms)))
      yield* Effect.all(
        [
          dispatcher.run,
          inbox.loop,
          every(config.timerIntervalMs, timers.tick),
          keepLease(instance, config.leaseTtlMs, (until) => {
            validUntil = until
          })
        ],
        { concurrency: "unbounded", discard: true }
      )
    })
  )

/** The worker: lease sessions one after another under `instance`, until interrupted. */
export const workerProgram = (
  config: WorkerConfig,
  instance: string,
  control: ShutdownControl = { graceMs: config.shutdownGraceMs }
) =>
  Effect.gen(function*() {
    const stats = makeStats()
    let last = makeStats()
    const report = Effect.forever(
      Effect.zipRight(
        Effect.sleep(config.reportIntervalMs),
        Effect.suspend(() => {
          const { line, next } = reportSince(stats, last)
          last = next
          return line === null ? Effect.void : Effect.logInfo(line)
        })
      )
    )
    yield* Effect.forkScoped(report)
    yield* Effect.logInfo(
      `worker ${config.workerId} (instance ${instance}): database ${config.database} (durability ${config.durability}), concurrency ${config.concurrency}, dispatch unknown after ${config.dispatchUnknownAfterMs} ms, mode ${config.mode}`
    )
    for (;;) {
      const exit = yield* Effect.exit(session(config, instance, stats, control))
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

export interface WorkerOptions {
  /** Wraps the provider port, e.g. to inject faults in tests. */
  readonly decorateProvider?: (gateway: Context.Tag.Service<ProviderGateway>) => Context.Tag.Service<ProviderGateway>
  /** The least severe log level written (`startWorker` only; the process logs at Info). */
  readonly logLevel?: LogLevel.LogLevel
}

/** Everything the worker runs on: the main database and the inbox file, the credentials, the provider clients. */
export const workerDependencies = (config: WorkerConfig, options: WorkerOptions = {}): Layer.Layer<WorkerRequirements> => {
  const storage = layerSqliteStore({ database: config.database, durability: config.durability, checkpoint: "background" })
  const credentials = Layer.project(
    layerCredentials(deriveCredentialsKey(config.secretKey)),
    ChannelCredentials,
    ChannelCredentials,
    (c) => c
  )
  const base = providerGatewayLayer(config.provider)
  const decorate = options.decorateProvider
  const provider = decorate === undefined
    ? base
    : Layer.effect(ProviderGateway, Effect.map(ProviderGateway, decorate)).pipe(Layer.provide(base))
  return Layer.provideMerge(provider, Layer.provideMerge(credentials, storage))
}

/**
 * The worker as a layer (`Layer.launch` it): it runs while the layer is in use and stops with it. Each
 * build draws a new lease identity (`newInstanceId`) unless the caller brings the one it made.
 */
export const workerLayer = (
  config: WorkerConfig,
  options: WorkerOptions = {},
  control?: ShutdownControl,
  instance?: string
): Layer.Layer<never> =>
  Layer.scopedDiscard(
    Effect.suspend(() => Effect.forkScoped(workerProgram(config, instance ?? newInstanceId(config.workerId), control)))
  ).pipe(Layer.provide(workerDependencies(config, options)))

export interface WorkerHandle {
  readonly workerId: string
  /** The identity it holds the lease under (what the `leases` row names). */
  readonly instance: string
  /**
   * Stops the worker: no new work, requests in flight get `graceMs` (default: the configured grace) to
   * be answered and recorded, then the lease is released and the databases are closed. `graceMs: 0`
   * cuts requests off as a crash would: their attempts stay in flight for the next start to settle.
   */
  readonly stop: (options?: { readonly graceMs?: number }) => Promise<void>
}

/** Runs the worker in this process (tests, the end-to-end test, benchmarks). */
export const startWorker = (config: WorkerConfig, options: WorkerOptions = {}): WorkerHandle => {
  const control: ShutdownControl = { graceMs: config.shutdownGraceMs }
  const instance = newInstanceId(config.workerId)
  const fiber = Effect.runFork(
    Layer.launch(workerLayer(config, options, control, instance)).pipe(
      Effect.annotateLogs("process", "worker"),
      Logger.withMinimumLogLevel(options.logLevel ?? LogLevel.Info)
    )
  )
  let stopped: Promise<void> | null = null
  return {
    workerId: config.workerId,
    instance,
    stop: (stopOptions = {}) => {
      if (stopped === null) {
        if (stopOptions.graceMs !== undefined) control.graceMs = stopOptions.graceMs
        stopped = Effect.runPromise(Effect.asVoid(Fiber.interrupt(fiber)))
      }
      return stopped
    }
  }
}

