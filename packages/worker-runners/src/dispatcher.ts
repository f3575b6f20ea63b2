import {
  Channel,
  Dispatch,
  type EventStore,
  type Ids,
  type Message,
  ProviderGateway,
  Scheduler,
  StatusReports,
  type UnitOfWork
} from "@mm-gateway/domain"
import { DispatchQueue, MessageQueries, type MessageWork } from "@mm-gateway/ports"
import { Cause, Clock, Effect, type Either, FiberSet, Queue, Random, type Scope } from "effect"
import { makeBatchWriter } from "./batch-writer.js"
import { type ForwardingRequirements, forwardGatewayFailure } from "./forwarder.js"
import type { WorkerStats } from "./stats.js"

export type DispatcherRequirements =
  | EventStore.EventStore
  | StatusReports.StatusMatching
  | UnitOfWork.UnitOfWork
  | DispatchQueue
  | MessageQueries
  | ProviderGateway.ProviderGateway
  | ForwardingRequirements

export interface DispatcherSettings {
  readonly concurrency: number
  readonly pollIntervalMs: number
  readonly rateWindowMarginMs: number
  /** A message the provider refused for good is forwarded as a `failed` status, attempted this long. */
  readonly forwardRetryForMs: number
}

/** The dispatcher of one worker session: it sends the channels whose leases the worker holds (docs/worker.md#many-workers). */
export interface Dispatcher {
  /** The feeder: sweeps the held channels' ready messages into their queues until the dispatcher drains. */
  readonly run: Effect.Effect<void>
  /** Whether the dispatcher has this message in hand (queued or in flight): the stale-attempt timer must leave it alone. */
  readonly holds: (messageId: string) => boolean
  /**
   * The worker took the channel's lease at `now`, usable until `until`; `startedAt` are the channel's
   * starts the store recorded since `startsSince(now)` (rule 9 of the scheduler).
   */
  readonly take: (channel: string, until: number, startedAt: ReadonlyArray<number>, now: number) => Effect.Effect<void>
  /** From when the store's starts count for a channel taken at `now`. */
  readonly startsSince: (now: number) => number
  /** The leases of these channels were renewed: usable until `until`. */
  readonly keep: (channels: ReadonlyArray<string>, until: number) => void
  /** Dispatch nothing more on the channel (its lease was lost, or is being given up). */
  readonly letGo: (channel: string) => void
  /** The channels taken and not let go. */
  readonly taken: () => ReadonlyArray<string>
  /** How many of the channel's messages are still in hand: a channel given up is released once none is. */
  readonly inHandOn: (channel: string) => number
  /** Stops taking work and waits up to `graceMs` for the requests in flight to be answered and recorded. */
  readonly drain: (graceMs: number) => Effect.Effect<void>
}

/** Logs a failure that is not an interruption, and goes on: one message must not stop the dispatcher. */
const logDefects = (message: string) => <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.catchAllCause(effect, (cause) => (Cause.isInterruptedOnly(cause) ? Effect.failCause(cause) : Effect.logError(message, cause)))

const FETCH_LIMIT = 500

/** What a flight has the batch writer record: a start, an answer, or a request kept back. */
type DispatchWrite =
  | { readonly _tag: "Begin"; readonly input: Dispatch.BeginInput }
  | { readonly _tag: "Settle"; readonly answer: Dispatch.Answer }
  | { readonly _tag: "Withhold"; readonly ticket: Dispatch.DispatchTicket; readonly reason: string; readonly now: number }

type Begun = Either.Either<Dispatch.BeginOutcome, Message.MessageError>

/**
 * A batch's writes, recorded together: the starts with `beginDispatches`, the answers with
 * `settleDispatches` (then the statuses parked for the wamids they made known, and the forwarding of
 * the refusals for good), each kept-back request on its own (rare).
 */
const recordWrites = (forwardRetryForMs: number) => (writes: ReadonlyArray<DispatchWrite>) =>
  Effect.gen(function*() {
    const out: Array<Begun | Dispatch.Settlement> = new Array(writes.length)
    const begins = writes.flatMap((w, i) => (w._tag === "Begin" ? [{ i, input: w.input }] : []))
    const begun = yield* Dispatch.beginDispatches(begins.map((b) => b.input))
    begins.forEach(({ i }, k) => (out[i] = begun[k]!))
    const settles = writes.flatMap((w, i) => (w._tag === "Settle" ? [{ i, answer: w.answer }] : []))
    const settled = yield* Dispatch.settleDispatches(settles.map((s) => s.answer))
    const known: Array<{ readonly messageId: Ids.MessageId; readonly wamid: string; readonly at: number }> = []
    for (let k = 0; k < settles.length; k++) {
      const { answer, i } = settles[k]!
      const settlement = settled[k]!
      out[i] = settlement
      if (settlement._tag === "Submitted") known.push({ messageId: answer.ticket.messageId, wamid: settlement.wamid, at: answer.now })
      else if (settlement._tag === "Failed") yield* forwardGatewayFailure(answer.ticket.messageId, answer.now, forwardRetryForMs)
    }
    // A parked status its message refuses is a defect here, as when the status came.
    for (const applied of yield* StatusReports.applyParkedStatusesOf(known)) if (applied._tag === "Left") yield* Effect.die(applied.left)
    for (let i = 0; i < writes.length; i++) {
      const w = writes[i]!
      if (w._tag === "Withhold") out[i] = yield* Dispatch.withholdDispatch(w.ticket, w.reason, w.now)
    }
    return out
  })

/**
 * The dispatcher: the effects around the `Scheduler` decider, which decides every question of
 * scheduling (which lane a ready message goes into, when it may be let through and when it may leave,
 * what an answer pauses, when the feeder goes back to the oldest) from its state and the time. This
 * module keeps its one state, tells it what happened, and does what it decided: a feeder sweeps the
 * ready messages (oldest first, in pages) and offers them; each channel has a queue and a pump that
 * asks admission for its next message, takes a global permit (`concurrency` requests in flight), and
 * hands the message to a fiber that records the start, waits for its place in the window, sends the
 * request and records the answer, both through the batch writer: the starts and the answers that
 * share a commit are recorded together (`recordWrites`).
 *
 * The start is committed before the request leaves, and the answer is recorded uninterruptibly once
 * it has arrived; a request cut off in flight (stop, crash) leaves the attempt `InFlight`, which the
 * channel's next holder turns into an unknown outcome instead of sending again. A request the
 * scheduler withholds (its channel let go, or past the departure deadline) is recorded as not sent.
 */
export const makeDispatcher = (
  settings: DispatcherSettings,
  stats: WorkerStats
): Effect.Effect<Dispatcher, never, Scope.Scope | DispatcherRequirements> =>
  Effect.gen(function*() {
    const dispatchQueue = yield* DispatchQueue
    const messages = yield* MessageQueries
    const gateway = yield* ProviderGateway.ProviderGateway
    const runtimeContext = yield* Effect.context<DispatcherRequirements>()
    // Scope order matters, finalizers run in reverse: the session's drain first, then the pumps and the
    // flights are interrupted, and the writer goes last, since a flight may be waiting for its commit.
    const writer = yield* makeBatchWriter(256, recordWrites(settings.forwardRetryForMs))
    const begin = (input: Dispatch.BeginInput) => Effect.map(writer.submit({ _tag: "Begin", input }), (o) => o as Begun)
    const settle = (write: Exclude<DispatchWrite, { readonly _tag: "Begin" }>) => Effect.map(writer.submit(write), (o) => o as Dispatch.Settlement)
    const flights = yield* FiberSet.make()
    const pumps = yield* FiberSet.make()
    const permits = yield* Effect.makeSemaphore(settings.concurrency)
    /** One queue per channel, each with its pump. */
    const queues = new Map<string, Queue.Queue<Scheduler.ReadyMessage>>()
    /** Opened when the scheduler says a lane the feeder left messages behind for has room again. */
    const room = yield* Effect.makeLatch(false)
    let stopping = false

    let schedule = Scheduler.initialState({
      rateWindowMs: 1_000 + settings.rateWindowMarginMs,
      maxLeadMs: Scheduler.MAX_LEAD_MS,
      departureDeadlineMs: Scheduler.DEPARTURE_DEADLINE_MS
    })
    /** Tells the scheduler something and keeps the state its events lead to; returns the events. */
    const tell = (command: Scheduler.SchedulerCommand): ReadonlyArray<Scheduler.SchedulerEvent> => {
      const { events, state } = Scheduler.step(schedule, command)
      schedule = state
      for (const event of events) if (event._tag === "RoomMade") room.unsafeOpen()
      return events
    }
    const release = (messageId: string) =>
      Effect.zipRight(
        permits.release(1),
        Effect.sync(() => tell({ _tag: "Release", messageId }))
      )

    const readRate = (channel: string, now: number) =>
      Effect.map(dispatchQueue.channelForDispatch(channel), (view) =>
        tell({ _tag: "RecordRate", channel, throughputMps: view?.throughputMps ?? Channel.DEFAULT_THROUGHPUT_MPS, now }))

    /**
     * One message from its rate slot to its recorded answer: the start and the answer are each committed
     * through the batch writer (sharing commits with other messages under load). Only the network call
     * may be cut off; once the start is being recorded, or an answer is in, it is recorded.
     */
    const flight = (work: Scheduler.ReadyMessage, permittedAt: number) =>
      Effect.uninterruptibleMask((restore) =>
        Effect.gen(function*() {
          const now = yield* Clock.currentTimeMillis
          if (stopping) return
          if (Scheduler.recipientCheckDue(schedule, work.channel, now)) {
            const message = yield* messages.message(work.id)
            if (message !== null && tell({ _tag: "CheckRecipient", messageId: work.id, recipient: message.to ?? message.recipient!, now }).length > 0) return
          }
          const begun = yield* begin({ messageId: work.id as Ids.MessageId, attempt: work.attempt, now })
          if (begun._tag === "Left") {
            stats.dispatch.NotStarted++
            return yield* Effect.logDebug(`message ${work.id}: not started (${begun.left._tag})`)
          }
          if (begun.right._tag === "Failed") {
            stats.dispatch.Failed++
            return yield* Effect.logWarning(`message ${work.id}: failed before sending (${begun.right.reason})`)
          }
          const ticket = begun.right.ticket
          tell({ _tag: "RecordStart", messageId: work.id, permittedAt, startedAt: now, now: yield* Clock.currentTimeMillis })
          // Admitted ahead, the request may be early: it leaves into the first free place of the window.
          // Cut off while it waits, it has not been sent: the start stays in flight, to be settled as unknown.
          let withheld: string | null = null
          for (;;) {
            const at = yield* Clock.currentTimeMillis
            const [decision] = tell({ _tag: "Depart", messageId: work.id, now: at })
            if (decision?._tag === "DepartureWithheld") withheld = decision.reason
            if (decision?._tag !== "DeparturePostponed") break
            yield* restore(Effect.sleep(decision.until - at))
          }
          const settlement = withheld !== null
            ? yield* settle({ _tag: "Withhold", ticket, reason: withheld, now: yield* Clock.currentTimeMillis })
            : yield* Effect.gen(function*() {
              const result = yield* restore(gateway.send(ticket.request))
              return yield* settle({ _tag: "Settle", answer: { ticket, result, now: yield* Clock.currentTimeMillis, random: yield* Random.next } })
            })
          const answeredAt = yield* Clock.currentTimeMillis
          stats.dispatch[settlement._tag]++
          tell({ _tag: "RecordAnswer", messageId: work.id, recipient: ticket.recipient, settlement, now: answeredAt })
          if (withheld !== null) {
            yield* Effect.logInfo(`message ${ticket.messageId}: not sent (${withheld}); ready again for its channel's holder`)
          } else if (settlement._tag === "RetryLater") {
            yield* Effect.logDebug(`message ${ticket.messageId}: retry after ${settlement.notBefore - answeredAt} ms (${settlement.reason})`)
          } else if (settlement._tag === "OutcomeUnknown") {
            yield* Effect.logWarning(`message ${ticket.messageId}: outcome unknown (${settlement.reason}); it waits for a webhook naming it, never a resend`)
          } else if (settlement._tag === "Superseded") {
            yield* Effect.logWarning(`message ${ticket.messageId}: answer not recorded, the message moved on (${settlement.reason})`)
          }
        })
      ).pipe(
        logDefects(`message ${work.id}: dispatch failed; an attempt it started stays in flight until it is recorded as unknown`),
        Effect.provide(runtimeContext)
      )

    /** Takes one message of a lane through admission and a permit, then lets it fly. */
    const dispatchOne = (work: Scheduler.ReadyMessage) =>
      Effect.gen(function*() {
        for (;;) {
          const now = yield* Clock.currentTimeMillis
          if (Scheduler.rateDue(schedule, work.channel, now)) yield* readRate(work.channel, now)
          const [decision] = tell({ _tag: "Admit", messageId: work.id, now })
          if (decision?._tag === "Admitted") break
          if (decision?._tag !== "AdmissionPostponed") return
          yield* Effect.sleep(decision.until - now)
        }
        yield* Effect.onInterrupt(permits.take(1), () => Effect.sync(() => tell({ _tag: "Release", messageId: work.id })))
        const now = yield* Clock.currentTimeMillis
        if (stopping || !Scheduler.holdsChannel(schedule, work.channel, now)) return yield* release(work.id)
        yield* FiberSet.run(flights)(flight(work, now).pipe(Effect.ensuring(release(work.id))))
      }).pipe(
        logDefects(`message ${work.id}: dispatch step failed`),
        Effect.provide(runtimeContext)
      )

    const queueFor = (channel: string) =>
      Effect.gen(function*() {
        const existing = queues.get(channel)
        if (existing !== undefined) return existing
        const queue = yield* Queue.unbounded<Scheduler.ReadyMessage>()
        queues.set(channel, queue)
        yield* FiberSet.run(pumps)(Effect.forever(Effect.flatMap(Queue.take(queue), dispatchOne)))
        return queue
      })

    /**
     * Walks the ready messages (oldest first, a page at a time) into the lanes the scheduler puts them
     * in; at the end it waits (for new messages, or for a lane it left messages for to have room) and
     * asks the scheduler whether to go back to the oldest.
     */
    const feed = Effect.gen(function*() {
      while (!stopping) {
        const now = yield* Clock.currentTimeMillis
        const held = Scheduler.heldChannels(schedule, now)
        if (held.length === 0) {
          yield* Effect.sleep(settings.pollIntervalMs)
          continue
        }
        // Only the channels whose lanes have room: with none, the sweep is at its end (rule 6).
        const feedable = Scheduler.channelsToFeed(schedule, now)
        const rows: ReadonlyArray<MessageWork> = feedable.length === 0
          ? []
          : yield* dispatchQueue.dispatchable(now, FETCH_LIMIT, schedule.feeder.cursor, feedable)
        for (const channel of new Set(rows.map((work) => work.channel))) {
          if (Scheduler.rateDue(schedule, channel, now)) yield* readRate(channel, now)
        }
        for (const event of tell({ _tag: "Offer", messages: rows, now })) {
          if (event._tag === "Queued") (queues.get(event.message.channel) ?? (yield* queueFor(event.message.channel))).unsafeOffer(event.message)
        }
        if (rows.length === FETCH_LIMIT) {
          yield* Effect.yieldNow()
          continue
        }
        // The end of the ready messages.
        if (Scheduler.waitsForRoom(schedule)) yield* Effect.timeout(room.await, settings.pollIntervalMs).pipe(Effect.ignore)
        else yield* Effect.sleep(settings.pollIntervalMs)
        room.unsafeClose()
        tell({ _tag: "EndSweep", now: yield* Clock.currentTimeMillis })
      }
    })

    const inFlight = FiberSet.size(flights)
    return {
      run: feed,
      holds: (id) => Scheduler.holds(schedule, id),
      // The rate first: the lane's window keeps as many departures as the channel's limit.
      take: (channel, until, startedAt, now) =>
        Effect.zipRight(readRate(channel, now), Effect.sync(() => void tell({ _tag: "TakeChannel", channel, until, startedAt, now }))),
      startsSince: (now) => Scheduler.startsSince(schedule, now),
      keep: (channels, until) => void tell({ _tag: "KeepChannels", channels, until }),
      letGo: (channel) => void tell({ _tag: "LetGoChannel", channel }),
      taken: () => Scheduler.takenChannels(schedule),
      inHandOn: (channel) => Scheduler.inHandOn(schedule, channel),
      drain: (graceMs) =>
        Effect.gen(function*() {
          stopping = true
          // No request leaves any more: one still waiting for its place is withheld (recorded as not
          // sent), so nothing can leave once the leases are released.
          for (const channel of Scheduler.takenChannels(schedule)) tell({ _tag: "LetGoChannel", channel })
          const deadline = (yield* Clock.currentTimeMillis) + graceMs
          const waiting = yield* inFlight
          if (waiting > 0) yield* Effect.logInfo(`stopping: waiting up to ${graceMs} ms for ${waiting} request(s) in flight`)
          while ((yield* inFlight) > 0 && (yield* Clock.currentTimeMillis) < deadline) yield* Effect.sleep(10)
          const left = yield* inFlight
          if (left > 0) {
            yield* Effect.logWarning(`stopping: ${left} request(s) still in flight are cut off; the next start records their outcome as unknown`)
          }
        })
    } satisfies Dispatcher
  })
