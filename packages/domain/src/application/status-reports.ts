import { Context, Effect } from "effect"
import type { MessageRecord } from "../lifecycle/message.js"
import type { StatusObservation } from "../lifecycle/status.js"
import type { MessageId } from "../shared/ids.js"
import { DAY_MS } from "../shared/time.js"
import { MessageStream, streamId } from "../streams.js"
import { handleCommand } from "./command-handler.js"
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
  readonly byWamid: (wamid: string) => Effect.Effect<ReadonlyArray<MessageCandidate>>
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
  /** Oldest first. */
  readonly parkedFor: (wamid: string) => Effect.Effect<ReadonlyArray<ParkedStatus>>
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
    Effect.flatMap(matching.byWamid(observation.wamid), (byWamid) => {
      const known = byWamid.find((m) => m.channel === channel) ?? byWamid[0]
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
 * Applies the statuses parked for `wamid` to the message now known to carry it, and forgets them.
 * Run it in the transaction that made the wamid known, so a status is never lost or applied twice.
 */
export const applyParkedStatuses = (messageId: MessageId, wamid: string, at: number) =>
  Effect.flatMap(StatusMatching, (matching) =>
    Effect.flatMap(matching.parkedFor(wamid), (parked) =>
      parked.length === 0 ? Effect.succeed(0) : Effect.gen(function*() {
        for (const p of parked) yield* observe(messageId, p.observation, at)
        yield* matching.unpark(parked.map((p) => p.id))
        return parked.length
      })))

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


