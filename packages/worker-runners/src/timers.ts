import { CommandHandler, type EventStore, type Ids, type Message, StatusReports, Streams, UnitOfWork } from "@mm-gateway/domain"
import { DispatchQueue, ForwardingOutbox, type MessageWork, ProjectionRunner, WebhookInbox } from "@mm-gateway/ports"
import { Clock, Effect } from "effect"
import type { WorkerStats } from "./stats.js"

export type TimerRequirements =
  | DispatchQueue
  | EventStore.EventStore
  | StatusReports.StatusMatching
  | ProjectionRunner
  | UnitOfWork.UnitOfWork
  | WebhookInbox
  | ForwardingOutbox

export interface TimerSettings {
  readonly dispatchUnknownAfterMs: number
  /** An attempt in flight longer than this, and not held by this worker, was cut off (a crash). */
  readonly staleInFlightAfterMs: number
  /** Processed webhook bodies older than this are forgotten. */
  readonly inboxKeepMs: number
  /** Delivered and given-up deliveries created longer ago than this are forgotten. */
  readonly forwardLogKeepMs: number
}

const PAGE = 500

/** Every message in `phase`, page by page. */
const forEachInPhase = (phase: Message.DispatchPhase["_tag"], f: (work: MessageWork) => Effect.Effect<void, never, EventStore.EventStore>) =>
  Effect.gen(function*() {
    const read = yield* DispatchQueue
    let cursor: string | null = null
    do {
      const page: { readonly items: ReadonlyArray<MessageWork>; readonly nextCursor: string | null } = yield* read.inDispatchPhase(phase, { limit: PAGE, cursor })
      for (const work of page.items) yield* f(work)
      cursor = page.nextCursor
    } while (cursor !== null)
  })

/**
 * The worker's timers (docs/worker.md#timers). Each is one pass; the session runs `tick` every
 * `timerIntervalMs` while it holds the timers lease. Times come from the clock here and travel into
 * the domain in the commands.
 */
export const makeTimers = (settings: TimerSettings, stats: WorkerStats, holds: (messageId: string) => boolean) => {
  /**
   * Attempts started and never answered — the request was cut off by a crash or a stop — are recorded
   * as unknown outcomes: the provider may have the message, so it is never sent again blindly. Given
   * channels this worker has just taken, every one of theirs not held by this worker (nothing else can
   * be sending on them now); otherwise, any channel's older than the request timeout allows.
   */
  const recordInterruptedAttempts = (taken: ReadonlySet<string> | "stale") =>
    Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      yield* forEachInPhase("InFlight", (work) => {
        if (holds(work.id)) return Effect.void
        if (taken !== "stale" && !taken.has(work.channel)) return Effect.void
        if (taken === "stale" && (work.phaseSince === null || now - work.phaseSince < settings.staleInFlightAfterMs)) return Effect.void
        return CommandHandler.handleCommand(Streams.MessageStream, Streams.streamId.message(work.id), {
          _tag: "RecordDispatchOutcomeUnknown",
          messageId: work.id as Ids.MessageId,
          attempt: work.attempt,
          reason: "request_interrupted",
          at: now
        }).pipe(
          Effect.tap((h) =>
            h.events.length === 0 ? Effect.void : Effect.zipRight(
              Effect.sync(() => {
                stats.timers.interrupted++
              }),
              Effect.logWarning(`message ${work.id}: attempt ${work.attempt} was cut off in flight; outcome unknown, not resent`)
            )
          ),
          Effect.ignore
        )
      })
    })

  /** Outcome unknown for longer than the window with no webhook naming the message → `dispatch_unknown`. */
  const markDispatchUnknown = Effect.gen(function*() {
    const now = yield* Clock.currentTimeMillis
    yield* forEachInPhase("OutcomeUnknown", (work) => {
      if (work.phaseSince === null || now - work.phaseSince < settings.dispatchUnknownAfterMs) return Effect.void
      return CommandHandler.handleCommand(Streams.MessageStream, Streams.streamId.message(work.id), { _tag: "MarkDispatchUnknown", messageId: work.id as Ids.MessageId, at: now }).pipe(
        Effect.tap((h) =>
          h.events.length === 0 ? Effect.void : Effect.zipRight(
            Effect.sync(() => {
              stats.timers.markedUnknown++
            }),
            Effect.logWarning(`message ${work.id}: no webhook within ${settings.dispatchUnknownAfterMs} ms of an unknown outcome; dispatch_unknown, waiting for an operator`)
          )
        ),
        Effect.ignore
      )
    })
  })

  /** TTL passed on the MM route with no delivery → `expired` (Meta sends no webhook for this). */
  const expireMessages = Effect.gen(function*() {
    const read = yield* DispatchQueue
    const now = yield* Clock.currentTimeMillis
    for (;;) {
      const due = yield* read.expiryDue(now, PAGE)
      let expired = 0
      for (const work of due) {
        const h = yield* Effect.either(CommandHandler.handleCommand(Streams.MessageStream, Streams.streamId.message(work.id), { _tag: "ExpireMessage", messageId: work.id as Ids.MessageId, at: now }))
        if (h._tag === "Right" && h.right.events.length > 0) expired++
      }
      stats.timers.expired += expired
      // Rows the decider declined stay due (e.g. observed on the Cloud API); stop instead of spinning on them.
      if (due.length < PAGE || expired === 0) return
    }
  })

  /**
   * Parked statuses due for another try (docs/domain.md#matching-statuses): something may have made
   * their message known since (a crash may have skipped applying them). Then those received more than
   * `PARKED_KEEP_MS` ago are forgotten.
   */
  const rematchParked = Effect.gen(function*() {
    const { transact } = yield* UnitOfWork.UnitOfWork
    for (;;) {
      const now = yield* Clock.currentTimeMillis
      const result = yield* transact(StatusReports.rematchParkedStatuses(PAGE, now).pipe(Effect.orDie))
      stats.timers.unparked += result.matched
      if (result.tried < PAGE) break
    }
    const now = yield* Clock.currentTimeMillis
    const matching = yield* StatusReports.StatusMatching
    const dropped = yield* matching.dropParked(now - StatusReports.PARKED_KEEP_MS)
    if (dropped > 0) {
      stats.timers.parkedDropped += dropped
      yield* Effect.logInfo(`${dropped} parked statuses forgotten: no message of the gateway's carried their wamid within ${StatusReports.PARKED_KEEP_MS / 86_400_000} days`)
    }
  })

  /**
   * Retention: processed webhook bodies applied more than `inboxKeepMs` ago, and finished deliveries
   * created more than `forwardLogKeepMs` ago, are forgotten, a batch at a time (each its own short
   * write), so the inbox with its duplicate check and the delivery log stay the size of their
   * retention, not of the deployment's history. Pending (and quarantined) ones stay.
   */
  const forgetOld = Effect.gen(function*() {
    const inbox = yield* WebhookInbox
    const outbox = yield* ForwardingOutbox
    for (;;) {
      const now = yield* Clock.currentTimeMillis
      const dropped = yield* inbox.dropProcessed(now - settings.inboxKeepMs, PAGE)
      stats.timers.webhooksDropped += dropped
      if (dropped < PAGE) break
    }
    for (;;) {
      const now = yield* Clock.currentTimeMillis
      const dropped = yield* outbox.dropFinished(now - settings.forwardLogKeepMs, PAGE)
      stats.timers.deliveriesDropped += dropped
      if (dropped < PAGE) break
    }
  })

  /** Other writers may leave events unprojected (an append past the inline gap limit): catch up. */
  const catchUp = Effect.asVoid(Effect.flatMap(ProjectionRunner, (runner) => runner.catchUp()))

  const tick = Effect.all(
    [recordInterruptedAttempts("stale"), markDispatchUnknown, expireMessages, rematchParked, forgetOld, catchUp],
    { discard: true }
  )

  return { recordInterruptedAttempts, markDispatchUnknown, expireMessages, rematchParked, forgetOld, catchUp, tick }
}
