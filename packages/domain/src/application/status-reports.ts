import { Context, Effect, Either } from "effect"
import type { MessageError, MessageRecord } from "../lifecycle/message.js"
import type { StatusObservation } from "../lifecycle/status.js"
import type { MessageId } from "../shared/ids.js"
import { DAY_MS } from "../shared/time.js"
import { MessageStream, streamId } from "../streams.js"
import { handleCommand, handleCommands } from "./command-handler.js"
import { applyReactions } from "./dispatch.js"

/** A message a status may belong to, as the read side knows it. */
export interface MessageCandidate {
  readonly messageId: MessageId
  readonly channel: string
  readonly wamid: string | null
}

/** A status kept until the message it names is known. */
export interface ParkedStatus {
  readonly id: number
  readonly channel: string
  readonly observation: StatusObservation
  /** When its webhook was received. */
  readonly receivedAt: number
  /** When matching it is tried again (`null`: no more; only its wamid, once known, applies it). */
  readonly retryAt: number | null
}

/**
 * How parked statuses are tried again (docs/domain.md#matching-statuses): 1 s after their webhook was
 * received, then 5 s, 25 s, about 2 and about 10 minutes after it; after that only their wamid applies
 * them, once a dispatch result or another status makes it known (both apply what is parked for it at
 * once). So each parked status costs a handful of look-ups, however many accumulate — statuses of
 * messages sent by other means than the gateway (an app sending on the same number) never match.
 */
export const PARKED_FIRST_RETRY_MS = 1_000
const PARKED_RETRY_FACTOR = 5
const PARKED_RETRIES_WITHIN_MS = 15 * 60_000
/** A parked status is kept this long after its webhook was received (Meta's own retry window), then forgotten. */
export const PARKED_KEEP_MS = 7 * DAY_MS

/** The next try of a status parked for a webhook received at `receivedAt`, after the try due at `retryAt`. */
export const nextParkedRetry = (receivedAt: number, retryAt: number): number | null => {
  const next = receivedAt + Math.max(PARKED_FIRST_RETRY_MS, retryAt - receivedAt) * PARKED_RETRY_FACTOR
  return next - receivedAt > PARKED_RETRIES_WITHIN_MS ? null : next
}

/**
 * The read side the status path needs: finding the message a status webhook is about, and keeping
 * statuses that name no known message yet. Its park and unpark are store writes like any other: the
 * worker applies a whole webhook in one unit of work, so a status is never lost or applied twice.
 */
export class StatusMatching extends Context.Tag("@mm-gateway/domain/StatusMatching")<StatusMatching, {
  /** The messages carrying any of these wamids, by message id. */
  readonly byWamids: (wamids: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<MessageCandidate>>
  /** The message with this gateway id (status webhooks echo it as `biz_opaque_callback_data`). */
  readonly byId: (messageId: string) => Effect.Effect<MessageCandidate | null>
  /**
   * Messages from `channel` to `recipient`, accepted within [from, to], with no wamid yet and a dispatch
   * that may have reached the provider (in flight, outcome unknown, dispatch unknown).
   */
  readonly awaitingWamid: (channel: string, recipient: string, from: number, to: number) => Effect.Effect<ReadonlyArray<MessageCandidate>>
  /** Idempotent by `dedupeKey`. */
  readonly park: (status: {
    readonly dedupeKey: string
    readonly channel: string
    readonly observation: StatusObservation
    readonly receivedAt: number
    readonly retryAt: number
  }) => Effect.Effect<void>
  /** The statuses parked for any of these wamids, oldest first. */
  readonly parkedFor: (wamids: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<ParkedStatus>>
  /** Up to `limit` parked statuses due to be tried again at `now` (`retryAt <= now`), soonest due first. */
  readonly dueParked: (now: number, limit: number) => Effect.Effect<ReadonlyArray<ParkedStatus>>
  /** When to try this one again (`null`: not again). */
  readonly retryParkedAt: (id: number, retryAt: number | null) => Effect.Effect<void>
  /** Forgets the statuses whose webhook was received before `receivedBefore`; how many it forgot. */
  readonly dropParked: (receivedBefore: number) => Effect.Effect<number>
  readonly unpark: (ids: ReadonlyArray<number>) => Effect.Effect<void>
}>() {}

/** A status report as the webhook adapter decodes it (`StatusReport`), reduced to what matching needs. */
export interface StatusReportInput {
  readonly channel: string
  readonly bizOpaqueCallbackData: string | null
  readonly observation: StatusObservation
  readonly dedupeKey: string
}

export type MatchedBy = "wamid" | "callback_data" | "recipient_window"

export type StatusReportOutcome =
  | { readonly _tag: "Observed"; readonly messageId: MessageId; readonly matchedBy: MatchedBy; readonly appended: number; readonly unparked: number }
  | { readonly _tag: "Parked" }

/**
 * How far back a status may name a message by (channel, recipient): Meta retries a webhook for up to
 * 7 days. A little slack forward covers clock differences between Meta and the gateway.
 */
const RECIPIENT_WINDOW_BEFORE_MS = 7 * DAY_MS
const RECIPIENT_WINDOW_AFTER_MS = 5 * 60_000

/** Of the messages carrying a wamid, the one a status from `channel` is about: that channel's, else the first. */
const carrying = (candidates: ReadonlyArray<MessageCandidate>, channel: string): MessageCandidate | undefined =>
  candidates.find((m) => m.channel === channel) ?? candidates[0]

/**
 * The message a status is about (docs/domain.md#matching-statuses): the wamid, when a dispatch result
 * recorded it; else the gateway's message id echoed in `biz_opaque_callback_data` (same channel); else the
 * only message to that recipient (by its number `recipient_id` or its BSUID `recipient_user_id`) from that
 * channel, around that time, still waiting for its wamid. Ambiguity is no match.
 */
const findMessageFor = (
  channel: string,
  callbackData: string | null,
  observation: StatusObservation
): Effect.Effect<{ readonly candidate: MessageCandidate; readonly matchedBy: MatchedBy } | null, never, StatusMatching> =>
  Effect.flatMap(StatusMatching, (matching) =>
    Effect.flatMap(matching.byWamids([observation.wamid]), (byWamid) => {
      const known = carrying(byWamid, channel)
      if (known !== undefined) return Effect.succeed({ candidate: known, matchedBy: "wamid" as MatchedBy })
      return Effect.gen(function*() {
        if (callbackData !== null) {
          const named = yield* matching.byId(callbackData)
          if (named !== null && named.channel === channel) return { candidate: named, matchedBy: "callback_data" as MatchedBy }
        }
        // A message names its user by number or by BSUID; a status may carry either or both.
        const waiting = new Map<string, MessageCandidate>()
        for (const recipient of new Set([observation.recipient, observation.recipientUserId ?? null])) {
          if (recipient === null) continue
          const found = yield* matching.awaitingWamid(
            channel,
            recipient,
            observation.timestamp - RECIPIENT_WINDOW_BEFORE_MS,
            observation.timestamp + RECIPIENT_WINDOW_AFTER_MS
          )
          for (const m of found) waiting.set(m.messageId, m)
        }
        if (waiting.size === 1) return { candidate: [...waiting.values()][0]!, matchedBy: "recipient_window" as MatchedBy }
        return null
      })
    }))

/** `ObserveStatus` on the message, plus what a failure means for its recipient or WABA. */
const observe = (messageId: MessageId, observation: StatusObservation, at: number) =>
  Effect.flatMap(
    handleCommand(MessageStream, streamId.message(messageId), { _tag: "ObserveStatus", messageId, observation, at }),
    (handled) =>
      handled.state._tag === "Requested" && handled.events.length > 0
        ? Effect.as(applyReactions(handled.events, handled.state.message as MessageRecord), handled.events.length)
        : Effect.succeed(handled.events.length)
  )

/**
 * Applies the statuses parked for each wamid to the message now known to carry it, and forgets them
 * (one look-up for all the wamids): how many were applied for each entry, or the message's refusal.
 * Run it in the transaction that made the wamids known, so a status is never lost or applied twice.
 */
export const applyParkedStatusesOf = (known: ReadonlyArray<{ readonly messageId: MessageId; readonly wamid: string; readonly at: number }>) =>
  Effect.gen(function*() {
    if (known.length === 0) return []
    const matching = yield* StatusMatching
    const parked = yield* matching.parkedFor([...new Set(known.map((k) => k.wamid))])
    const applied: Array<Either.Either<number, MessageError>> = []
    const seen = new Set<string>()
    for (const { at, messageId, wamid } of known) {
      const own = seen.has(wamid) ? [] : parked.filter((p) => p.observation.wamid === wamid)
      seen.add(wamid)
      if (own.length === 0) {
        applied.push(Either.right(0))
        continue
      }
      const observed = yield* Effect.either(Effect.forEach(own, (p) => observe(messageId, p.observation, at), { discard: true }))
      if (observed._tag === "Left") {
        applied.push(Either.left(observed.left))
        continue
      }
      yield* matching.unpark(own.map((p) => p.id))
      applied.push(Either.right(own.length))
    }
    return applied
  })

/** `applyParkedStatusesOf` for one wamid: how many were applied. */
export const applyParkedStatuses = (messageId: MessageId, wamid: string, at: number) =>
  Effect.flatMap(applyParkedStatusesOf([{ messageId, wamid, at }]), ([applied]) => (applied!._tag === "Left" ? Effect.fail(applied!.left) : Effect.succeed(applied!.right)))

/**
 * One status webhook item: find its message and observe the status there (then apply what was parked
 * for the same wamid), or park it until its message becomes known. `at` is the receipt time. Written
 * as `flatMap`s rather than a generator: this runs once per status.
 */
export const recordStatusReport = (report: StatusReportInput, at: number) =>
  Effect.flatMap(
    findMessageFor(report.channel, report.bizOpaqueCallbackData, report.observation),
    (found) => {
      if (found === null) {
        const parked: StatusReportOutcome = { _tag: "Parked" }
        return Effect.flatMap(StatusMatching, (matching) =>
          Effect.as(
            matching.park({
              dedupeKey: report.dedupeKey,
              channel: report.channel,
              observation: report.observation,
              receivedAt: at,
              retryAt: at + PARKED_FIRST_RETRY_MS
            }),
            parked
          ))
      }
      const { candidate, matchedBy } = found
      return Effect.flatMap(observe(candidate.messageId, report.observation, at), (appended) =>
        Effect.map(applyParkedStatuses(candidate.messageId, report.observation.wamid, at), (unparked): StatusReportOutcome => ({
          _tag: "Observed",
          messageId: candidate.messageId,
          matchedBy,
          appended,
          unparked
        })))
    }
  )

/**
 * Tries the parked statuses due again at `at` (up to `limit`, soonest first): something may have made
 * their message known since. Those still unmatched are put off to their next try (`nextParkedRetry`).
 * Returns how many found their message and how many were tried (fewer than `limit`: none is due any more).
 */
export const rematchParkedStatuses = (limit: number, at: number) =>
  Effect.gen(function*() {
    const matching = yield* StatusMatching
    const due = yield* matching.dueParked(at, limit)
    let matched = 0
    for (const p of due) {
      const found = yield* findMessageFor(p.channel, null, p.observation)
      if (found === null) {
        yield* matching.retryParkedAt(p.id, nextParkedRetry(p.receivedAt, p.retryAt ?? at))
        continue
      }
      yield* observe(found.candidate.messageId, p.observation, at)
      yield* matching.unpark([p.id])
      matched++
    }
    return { matched, tried: due.length }
  })



/**
 * A webhook's statuses together, as the worker applies them: each run of statuses whose wamid names
 * a known message is observed at once (`handleCommands`: one snapshot read and one append for the
 * whole run), then what was parked for those wamids is applied to their messages; a status between
 * the runs goes through `recordStatusReport` (it may make a wamid known to the ones after it). So the
 * outcomes, and every stream's events, are those of `recordStatusReport` one report after the other
 * (a property test holds it to that), with a run's events appended in one go. Each report's outcome
 * (or its message's refusal) is where the report was.
 */
export const recordStatusReports = (reports: ReadonlyArray<StatusReportInput>, at: number) =>
  Effect.gen(function*() {
    const matching = yield* StatusMatching
    const carriers = new Map<string, Array<MessageCandidate>>()
    for (const c of yield* matching.byWamids([...new Set(reports.map((r) => r.observation.wamid))])) {
      if (c.wamid === null) continue
      const list = carriers.get(c.wamid)
      if (list === undefined) carriers.set(c.wamid, [c])
      else list.push(c)
    }
    const outcomes: Array<Either.Either<StatusReportOutcome, MessageError>> = new Array(reports.length)
    let run: Array<{ readonly index: number; readonly messageId: MessageId }> = []
    for (let index = 0; index <= reports.length; index++) {
      const report = reports[index]
      const found = report === undefined ? undefined : carrying(carriers.get(report.observation.wamid) ?? [], report.channel)
      if (found !== undefined) {
        run.push({ index, messageId: found.messageId })
        continue
      }
      if (run.length > 0) yield* observeRun(reports, run, at, outcomes)
      run = []
      if (report !== undefined) outcomes[index] = yield* Effect.either(recordStatusReport(report, at))
    }
    return outcomes
  })

/** A run of statuses on known messages, observed together; their outcomes written into `outcomes`. */
const observeRun = (
  reports: ReadonlyArray<StatusReportInput>,
  run: ReadonlyArray<{ readonly index: number; readonly messageId: MessageId }>,
  at: number,
  outcomes: Array<Either.Either<StatusReportOutcome, MessageError>>
) =>
  Effect.gen(function*() {
    const handled = yield* handleCommands(
      MessageStream,
      run.map(({ index, messageId }) => ({
        streamId: streamId.message(messageId),
        command: { _tag: "ObserveStatus" as const, messageId, observation: reports[index]!.observation, at }
      }))
    )
    /** The first report observed on each wamid: where what was parked for it is counted. */
    const firstOn = new Map<string, { readonly index: number; readonly messageId: MessageId }>()
    for (let k = 0; k < run.length; k++) {
      const { index, messageId } = run[k]!
      const result = handled[k]!
      if (result._tag === "Left") {
        outcomes[index] = Either.left(result.left)
        continue
      }
      const { events, state } = result.right
      if (state._tag === "Requested" && events.length > 0) yield* applyReactions(events, state.message as MessageRecord)
      outcomes[index] = Either.right({ _tag: "Observed", messageId, matchedBy: "wamid", appended: events.length, unparked: 0 })
      const wamid = reports[index]!.observation.wamid
      if (!firstOn.has(wamid)) firstOn.set(wamid, { index, messageId })
    }
    // Statuses parked for a wamid already known: only when the status was parked while its wamid was
    // being recorded by another worker. Applied after the run rather than after its first status.
    const firsts = [...firstOn]
    const unparked = yield* applyParkedStatusesOf(firsts.map(([wamid, { messageId }]) => ({ messageId, wamid, at })))
    firsts.forEach(([, { index }], k) => {
      const applied = unparked[k]!
      const outcome = outcomes[index]!
      if (applied._tag === "Left") outcomes[index] = Either.left(applied.left)
      else if (applied.right > 0 && outcome._tag === "Right" && outcome.right._tag === "Observed") {
        outcomes[index] = Either.right({ ...outcome.right, unparked: applied.right })
      }
    })
  })
