import {
  applyParkedStatuses,
  beginDispatch,
  Channel,
  type DispatchTicket,
  type EventStore,
  type MessageId,
  ProviderGateway,
  settleDispatch,
  type Settlement,
  type StatusMatching,
  type UnitOfWork
} from "@mm-gateway/domain"
import { DispatchQueue, MessageQueries, type MessageWork } from "@mm-gateway/ports"
import { Cause, Clock, Effect, FiberSet, Queue, Random, type Scope } from "effect"
import { makeBatchWriter } from "./batch-writer.js"
import { makeSlidingWindowLimiter, type SlidingWindowLimiter } from "./rate-limiter.js"
import type { WorkerStats } from "./stats.js"

export type DispatcherRequirements = EventStore | StatusMatching | UnitOfWork | DispatchQueue | MessageQueries | ProviderGateway

export interface DispatcherSettings {
  readonly concurrency: number
  readonly pollIntervalMs: number
  readonly rateWindowMarginMs: number
}

/** The dispatcher of one lease session. */
export interface Dispatcher {
  /** The feeder: sweeps ready messages into the channels' queues until the dispatcher drains. */
  readonly run: Effect.Effect<void>
  /** Whether the dispatcher has this message in hand (queued or in flight): the stale-attempt timer must leave it alone. */
  readonly holds: (messageId: string) => boolean
  /** Stops taking work and waits up to `graceMs` for the requests in flight to be answered and recorded. */
  readonly drain: (graceMs: number) => Effect.Effect<void>
}

/** One channel's queue, rate limit and pause. */
interface Lane {
  readonly channel: string
  readonly queue: Queue.Queue<MessageWork>
  queued: number
  capacity: number
  readonly limiter: SlidingWindowLimiter
  /** A channel-wide hold after the provider said the number is over its rate (130429, 131057, 429). */
  pausedUntil: number
  refreshedAt: number
  /** The last sweep found this lane full with messages left over for it: its pump wakes the feeder when it has room again. */
  wanted: boolean
  /**
   * How long a start takes to commit, lately (a moving average, from the permit to the commit): admission
   * looks this far ahead. Not counting the wait for a permit: the permit is held while the request waits
   * for its place, so a lead grown by permit waits would hold permits longer and grow itself.
   */
  lead: number
}

/** Admission never looks further ahead than this, however slow commits get. */
const MAX_LEAD_MS = 100

/** Logs a failure that is not an interruption, and goes on: one message must not stop the dispatcher. */
const logDefects = (message: string) => <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.catchAllCause(effect, (cause) => (Cause.isInterruptedOnly(cause) ? Effect.failCause(cause) : Effect.logError(message, cause)))

const LANE_REFRESH_MS = 5_000
const FETCH_LIMIT = 500

/**
 * Ten seconds of sends at the channel's rate. Each lane has its own pump, so what one lane holds does
 * not hold back another; the bound only keeps memory small under a very large backlog. A full lane
 * makes the feeder go back over the ready messages once it has room again, so it should rarely fill.
 */
const capacityFor = (mps: number) => Math.max(64, Math.ceil(mps * 10))

/**
 * How often the feeder goes back to the oldest ready messages even if nothing it knows of is behind its
 * cursor (a message put back to ready with its old age, e.g. an operator's resend).
 */
const REWIND_MS = 2_000

/**
 * The dispatcher: a feeder sweeps the ready messages (oldest first, in pages) into one queue per
 * channel; each channel's pump waits for its rate slot (a sliding 1 s window from the channel's
 * `throughputMps`) and a global permit (`concurrency` requests in flight), and hands the message to a
 * fiber that records the start (`beginDispatch`), sends the request and records the answer
 * (`settleDispatch`, with the statuses parked for the new wamid), both through the batch writer.
 *
 * The start is committed before the request leaves, and the answer is recorded uninterruptibly once
 * it has arrived; a request cut off in flight (stop, crash) leaves the attempt `InFlight`, which the
 * next lease holder turns into an unknown outcome instead of sending again.
 */
export const makeDispatcher = (
  settings: DispatcherSettings,
  stats: WorkerStats,
  leaseValid: (now: number) => boolean
): Effect.Effect<Dispatcher, never, Scope.Scope | DispatcherRequirements> =>
  Effect.gen(function*() {
    const queue = yield* DispatchQueue
    const messages = yield* MessageQueries
    const gateway = yield* ProviderGateway
    const runtimeContext = yield* Effect.context<DispatcherRequirements>()
    // Scope order matters, finalizers run in reverse: the session's drain first, then the pumps and the
    // flights are interrupted, and the writer goes last, since a flight may be waiting for its commit.
    const writer = yield* makeBatchWriter<DispatcherRequirements>(256)
    const flights = yield* FiberSet.make()
    const pumps = yield* FiberSet.make()
    const permits = yield* Effect.makeSemaphore(settings.concurrency)

    const lanes = new Map<string, Lane>()
    /** Opened by a pump whose lane the feeder left messages behind for (`Lane.wanted`), once it has room. */
    const room = yield* Effect.makeLatch(false)
    let roomMade = false
    const held = new Set<string>()
    /** Messages held back for their recipient's pair-rate pause: not picked up again before the time. */
    const deferred = new Map<string, number>()
    const recipientPauses = new Map<string, number>()
    let inFlight = 0
    let stopping = false
    /** The earliest time a message behind the feeder's cursor becomes ready again (a retry, a deferred message). */
    let dueBehind = Infinity

    const refresh = (lane: Lane, now: number) =>
      Effect.gen(function*() {
        if (now - lane.refreshedAt < LANE_REFRESH_MS) return
        lane.refreshedAt = now
        const channel = yield* queue.channelForDispatch(lane.channel)
        const mps = channel?.throughputMps ?? Channel.DEFAULT_THROUGHPUT_MPS
        lane.limiter.setLimit(mps)
        lane.capacity = capacityFor(mps)
      })

    const giveBack = (id: string) =>
      Effect.zipRight(
        permits.release(1),
        Effect.sync(() => {
          held.delete(id)
        })
      )

    const pauseRecipient = (key: string, until: number) => {
      recipientPauses.set(key, Math.max(recipientPauses.get(key) ?? 0, until))
    }

    /** A recipient under a pair-rate pause: the message waits for it (131056 counts per recipient, not per message). */
    const recipientHold = (id: string, now: number) =>
      Effect.gen(function*() {
        if (recipientPauses.size === 0) return null
        for (const [key, until] of recipientPauses) if (until <= now) recipientPauses.delete(key)
        if (recipientPauses.size === 0) return null
        const message = yield* messages.message(id)
        if (message === null) return null
        const until = recipientPauses.get(`${message.channel}:${message.to}`)
        return until === undefined ? null : until
      })

    const applySettlement = (lane: Lane, ticket: DispatchTicket, settlement: Settlement, now: number) => {
      stats.dispatch[settlement._tag]++
      if (settlement._tag !== "RetryLater") return Effect.void
      dueBehind = Math.min(dueBehind, settlement.notBefore)
      if (settlement.scope === "channel") lane.pausedUntil = Math.max(lane.pausedUntil, now + settlement.pauseMs)
      if (settlement.scope === "recipient") pauseRecipient(`${ticket.channel}:${ticket.recipient}`, now + settlement.pauseMs)
      return Effect.logDebug(`message ${ticket.messageId}: retry after ${settlement.notBefore - now} ms (${settlement.reason})`)
    }

    /**
     * One message from its rate slot to its recorded answer: the start and the answer are each committed
     * through the batch writer (sharing commits with other messages under load). Only the network call
     * may be cut off; once the start is being recorded, or an answer is in, it is recorded.
     */
    const flight = (lane: Lane, work: MessageWork, permittedAt: number) => {
      let departed = false
      return Effect.uninterruptibleMask((restore) =>
        Effect.gen(function*() {
          const now = yield* Clock.currentTimeMillis
          if (stopping) return
          const hold = yield* recipientHold(work.id, now)
          if (hold !== null) {
            deferred.set(work.id, hold)
            dueBehind = Math.min(dueBehind, hold)
            return
          }
          const begun = yield* writer.submit(Effect.either(beginDispatch({ messageId: work.id as MessageId, attempt: work.attempt, now })))
          if (begun._tag === "Left") {
            stats.dispatch.NotStarted++
            return yield* Effect.logDebug(`message ${work.id}: not started (${begun.left._tag})`)
          }
          if (begun.right._tag === "Failed") {
            stats.dispatch.Failed++
            return yield* Effect.logWarning(`message ${work.id}: failed before sending (${begun.right.reason})`)
          }
          const ticket = begun.right.ticket
          const begunAt = yield* Clock.currentTimeMillis
          lane.lead = Math.min(MAX_LEAD_MS, 0.8 * lane.lead + 0.2 * Math.max(0, begunAt - permittedAt))
          // Admitted ahead, the request may be early: it leaves into the first free place of the window.
          // Cut off while it waits, it has not been sent: the start stays in flight, to be settled as unknown.
          for (let at = begunAt, slot = lane.limiter.slotAt(at); slot > at; at = yield* Clock.currentTimeMillis, slot = lane.limiter.slotAt(at)) {
            yield* restore(Effect.sleep(slot - at))
          }
          // The rate counts the request from here: it leaves now.
          lane.limiter.confirm(yield* Clock.currentTimeMillis)
          departed = true
          const result = yield* restore(gateway.send(ticket.request))
          const answeredAt = yield* Clock.currentTimeMillis
          const random = yield* Random.next
          const settlement = yield* writer.submit(
            settleDispatch(ticket, result, answeredAt, random).pipe(
              Effect.tap((s) =>
                s._tag === "Submitted" ? Effect.orDie(applyParkedStatuses(ticket.messageId, s.wamid, answeredAt)) : Effect.void
              )
            )
          )
          yield* applySettlement(lane, ticket, settlement, answeredAt)
          if (settlement._tag === "OutcomeUnknown") {
            yield* Effect.logWarning(`message ${ticket.messageId}: outcome unknown (${settlement.reason}); it waits for a webhook naming it, never a resend`)
          } else if (settlement._tag === "Superseded") {
            yield* Effect.logWarning(`message ${ticket.messageId}: answer not recorded, the message moved on (${settlement.reason})`)
          }
        })
      ).pipe(
        Effect.ensuring(Effect.sync(() => {
          if (!departed) lane.limiter.cancel()
        })),
        logDefects(`message ${work.id}: dispatch failed; an attempt it started stays in flight until it is recorded as unknown`),
        Effect.provide(runtimeContext)
      )
    }

    /** Takes one message of a lane through its rate slot and a permit, then lets it fly. */
    const dispatchOne = (lane: Lane, work: MessageWork) =>
      Effect.gen(function*() {
        for (;;) {
          const now = yield* Clock.currentTimeMillis
          yield* refresh(lane, now)
          if (lane.pausedUntil > now) {
            yield* Effect.sleep(lane.pausedUntil - now)
            continue
          }
          const ahead = now + Math.round(lane.lead)
          if (lane.limiter.admit(ahead)) break
          yield* Effect.sleep(Math.max(1, lane.limiter.retryAt(ahead) - ahead))
        }
        yield* Effect.onInterrupt(permits.take(1), () => Effect.sync(() => lane.limiter.cancel()))
        const now = yield* Clock.currentTimeMillis
        if (stopping || !leaseValid(now)) {
          lane.limiter.cancel()
          return yield* giveBack(work.id)
        }
        inFlight++
        yield* FiberSet.run(flights)(
          flight(lane, work, now).pipe(
            Effect.ensuring(Effect.zipRight(giveBack(work.id), Effect.sync(() => {
              inFlight--
            })))
          )
        )
      }).pipe(
        logDefects(`message ${work.id}: dispatch step failed`),
        Effect.provide(runtimeContext)
      )

    const pump = (lane: Lane) =>
      Effect.forever(
        Effect.gen(function*() {
          const work = yield* Queue.take(lane.queue)
          lane.queued--
          if (lane.wanted && lane.queued <= lane.capacity / 2) {
            lane.wanted = false
            roomMade = true
            room.unsafeOpen()
          }
          yield* dispatchOne(lane, work)
        })
      )

    const laneFor = (channel: string, now: number) =>
      Effect.gen(function*() {
        const existing = lanes.get(channel)
        if (existing !== undefined) return existing
        const lane: Lane = {
          channel,
          queue: yield* Queue.unbounded<MessageWork>(),
          queued: 0,
          capacity: capacityFor(Channel.DEFAULT_THROUGHPUT_MPS),
          limiter: makeSlidingWindowLimiter(Channel.DEFAULT_THROUGHPUT_MPS, 1_000 + settings.rateWindowMarginMs),
          pausedUntil: 0,
          refreshedAt: -Infinity,
          wanted: false,
          lead: 0
        }
        yield* refresh(lane, now)
        lanes.set(channel, lane)
        yield* FiberSet.run(pumps)(pump(lane))
        return lane
      })

    /**
     * Walks the ready messages (oldest first, a page at a time) into the lanes, each message once: held
     * messages stay ready until their start commits, so going back over them would only read them again.
     * At the end it waits for new ones after its cursor, and goes back to the oldest only when something
     * is behind it: messages left for a full lane (once a lane has room), a retry or deferred message
     * coming due, or every `REWIND_MS` for anything else put back to ready.
     */
    const feed = Effect.gen(function*() {
      let cursor: MessageWork | null = null
      let rewoundAt = -Infinity
      let leftBehind = false
      while (!stopping) {
        const now = yield* Clock.currentTimeMillis
        if (!leaseValid(now)) {
          yield* Effect.sleep(settings.pollIntervalMs)
          continue
        }
        if (cursor === null) rewoundAt = now
        const rows: ReadonlyArray<MessageWork> = yield* queue.dispatchable(now, FETCH_LIMIT, cursor)
        for (const work of rows) {
          if (held.has(work.id)) continue
          const until = deferred.get(work.id)
          if (until !== undefined) {
            if (until > now) continue
            deferred.delete(work.id)
          }
          const lane = lanes.get(work.channel) ?? (yield* laneFor(work.channel, now))
          if (lane.queued >= lane.capacity) {
            lane.wanted = true
            leftBehind = true
            continue
          }
          held.add(work.id)
          lane.queued++
          lane.queue.unsafeOffer(work)
        }
        cursor = rows[rows.length - 1] ?? cursor
        if (rows.length === FETCH_LIMIT) {
          yield* Effect.yieldNow()
          continue
        }
        // The end of the ready messages.
        if (leftBehind) yield* Effect.timeout(room.await, settings.pollIntervalMs).pipe(Effect.ignore)
        else yield* Effect.sleep(settings.pollIntervalMs)
        room.unsafeClose()
        const later = yield* Clock.currentTimeMillis
        if ((leftBehind && roomMade) || dueBehind <= later || later - rewoundAt >= REWIND_MS) {
          cursor = null
          leftBehind = false
          dueBehind = Infinity
        }
        roomMade = false
      }
    })

    return {
      run: feed,
      holds: (id) => held.has(id),
      drain: (graceMs) =>
        Effect.gen(function*() {
          stopping = true
          const deadline = (yield* Clock.currentTimeMillis) + graceMs
          if (inFlight > 0) yield* Effect.logInfo(`stopping: waiting up to ${graceMs} ms for ${inFlight} request(s) in flight`)
          while (inFlight > 0 && (yield* Clock.currentTimeMillis) < deadline) yield* Effect.sleep(10)
          if (inFlight > 0) {
            yield* Effect.logWarning(`stopping: ${inFlight} request(s) still in flight are cut off; the next start records their outcome as unknown`)
          }
        })
    } satisfies Dispatcher
  })
