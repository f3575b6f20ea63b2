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
  readonly park: (status: { readonly dedupeKey: string; readonly channel: string; readonly observation: StatusObservation; readonly receivedAt: number }) => Effect.Effect<void>
  readonly parkedFor: (wamid: string) => Effect.Effect<ReadonlyArray<ParkedStatus>>
  /** Oldest first; `cursor` from the previous page. */
  readonly listParked: (limit: number, cursor: string | null) => Effect.Effect<{ readonly items: ReadonlyArray<ParkedStatus>; readonly nextCursor: string | null }>
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
            matching.park({ dedupeKey: report.dedupeKey, channel: report.channel, observation: report.observation, receivedAt: at }),
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
 * Tries the parked statuses again (oldest first, `limit` of them from `cursor`): a dispatch result may
 * have made their wamid known since. Returns how many found their message and where to go on.
 */
export const rematchParkedStatuses = (limit: number, cursor: string | null, at: number) =>
  Effect.gen(function*() {
    const matching = yield* StatusMatching
    const page = yield* matching.listParked(limit, cursor)
    let matched = 0
    for (const p of page.items) {
      const found = yield* findMessageFor(p.channel, null, p.observation)
      if (found === null) continue
      yield* observe(found.candidate.messageId, p.observation, at)
      yield* matching.unpark([p.id])
      matched++
    }
    return { matched, nextCursor: page.nextCursor }
  })

