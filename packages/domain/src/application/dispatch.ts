import { Effect, Either, Schema } from "effect"
import { classifyProviderOutcome, type ErrorClassification, retryDelayMs } from "../dispatch/classify.js"
import { buildProviderBody, type ProviderError, type ProviderRequest, type ProviderSendResult } from "../dispatch/provider-gateway.js"
import type { ChannelState } from "../channels/channel.js"
import type { MessageError, MessageEvent, MessageRecord, MessageState } from "../lifecycle/message.js"
import { reactionsTo } from "../lifecycle/reactions.js"
import { decideReroute } from "../dispatch/reroute.js"
import type { Route } from "../routing/decide-route.js"
import { type MessageId, Wamid } from "../shared/ids.js"
import { ChannelStream, MessageStream, streamId } from "../streams.js"
import { handleCommand, handleCommands, handleStreamCommand, loadState, loadStates } from "./command-handler.js"
import type { EventStore } from "./event-store.js"
import { loadRouteContext } from "./send-message.js"

/**
 * One dispatch attempt that has been recorded as started: the request it may send, once.
 * Only `beginDispatch` makes one, so nothing reaches the provider without a `DispatchStarted` first.
 */
export interface DispatchTicket {
  readonly messageId: MessageId
  readonly attempt: number
  readonly channel: string
  readonly recipient: string
  readonly route: Route
  readonly request: ProviderRequest
}

export type BeginOutcome =
  | { readonly _tag: "Send"; readonly ticket: DispatchTicket }
  /** Started, but there is nothing to send it with; recorded as a final failure (nothing was sent). */
  | { readonly _tag: "Failed"; readonly reason: string }

export interface BeginInput {
  readonly messageId: MessageId
  readonly attempt: number
  readonly now: number
}

/**
 * Records the start of attempt `attempt` (the at-most-once guard: a second start of the same attempt
 * is refused) and builds the request for the message's current route. Fails with `DispatchNotAllowed`
 * when the message is not ready for that attempt (already started, backing off, answered…).
 */
export const beginDispatch = (input: BeginInput) =>
  Effect.flatMap(beginDispatches([input]), ([begun]) => (begun!._tag === "Left" ? Effect.fail(begun!.left) : Effect.succeed(begun!.right)))

/**
 * `beginDispatch` for several messages at once (a worker's starts that share a commit): their starts
 * recorded with one snapshot read and one append (`handleCommands`), their channels read at once. Each
 * input's outcome, or its message's refusal, is where the input was.
 */
export const beginDispatches = (inputs: ReadonlyArray<BeginInput>) =>
  Effect.gen(function*() {
    const started = yield* handleCommands(
      MessageStream,
      inputs.map((input) => ({
        streamId: streamId.message(input.messageId),
        command: { _tag: "StartDispatch" as const, messageId: input.messageId, attempt: input.attempt, at: input.now }
      }))
    )
    // Every channel the started messages are on, read at once.
    const channelIds = [...new Set(started.flatMap((r) => (r._tag === "Right" ? [recordOf(r.right.state).request.channel] : [])))]
    const loaded = yield* loadStates(ChannelStream, channelIds.map((id) => streamId.channel(id)))
    const channels = new Map<string, ChannelState>(channelIds.map((id, k) => [id, loaded[k]!.state]))
    const outcomes: Array<Either.Either<BeginOutcome, MessageError>> = []
    for (let i = 0; i < inputs.length; i++) {
      const input = inputs[i]!
      const result = started[i]!
      if (result._tag === "Left") {
        outcomes.push(Either.left(result.left))
        continue
      }
      const message = recordOf(result.right.state)
      const channelId = message.request.channel
      const channel = channels.get(channelId)!
      if (channel._tag !== "Registered") {
        // Cannot happen for a message accepted through `sendMessage`; never leave the attempt open.
        const failed = yield* Effect.either(handleCommand(MessageStream, streamId.message(input.messageId), {
          _tag: "RecordDispatchFailed",
          messageId: input.messageId,
          attempt: input.attempt,
          httpStatus: null,
          error: null,
          reason: "channel_not_registered",
          outcome: { _tag: "Final" },
          at: input.now
        }))
        outcomes.push(Either.map(failed, (): BeginOutcome => ({ _tag: "Failed", reason: "channel_not_registered" })))
        continue
      }
      const ticket: DispatchTicket = {
        messageId: input.messageId,
        attempt: input.attempt,
        channel: channelId,
        recipient: message.request.to,
        route: message.route,
        request: {
          provider: channel.config.provider,
          phoneNumberId: channel.config.phoneNumberId,
          credentialsRef: channel.config.credentialsRef,
          route: message.route,
          body: buildProviderBody(message)
        }
      }
      outcomes.push(Either.right({ _tag: "Send", ticket }))
    }
    return outcomes
  })

/** What became of an attempt, for the dispatcher's own scheduling (pauses) and its counters. */
export type Settlement =
  | { readonly _tag: "Submitted"; readonly wamid: Wamid }
  | {
    readonly _tag: "RetryLater"
    readonly reason: string
    readonly notBefore: number
    /** Who should hold back: this message only, everything to its recipient, or the whole channel. */
    readonly scope: "message" | "recipient" | "channel"
    /** How long the scope should hold back (the rule's minimum or the provider's `Retry-After`). */
    readonly pauseMs: number
  }
  | { readonly _tag: "Rerouted"; readonly to: Route; readonly reason: string }
  | { readonly _tag: "Failed"; readonly reason: string }
  | { readonly _tag: "OutcomeUnknown"; readonly reason: string }
  /** The message moved on while the request was out (e.g. marked unknown by a newer lease holder). */
  | { readonly _tag: "Superseded"; readonly reason: string }

const settled = (s: Settlement): Settlement => s
const superseded = (reason: string): Settlement => settled({ _tag: "Superseded", reason })

const recordOf = (state: MessageState): MessageRecord => {
  if (state._tag !== "Requested") throw new Error("a dispatched message has no request")
  return state.message
}

/**
 * Applies what the message's new events mean for other streams (131049 cooldown, 131050 opt-out,
 * terms not accepted → WABA not onboarded, a template the MM route refused as not marketing). A reaction the other stream refuses is skipped: it cannot
 * undo what happened to the message.
 */
export const applyReactions = (events: ReadonlyArray<MessageEvent>, message: MessageRecord) =>
  Effect.forEach(
    events.flatMap((event) => reactionsTo(event, message)),
    (reaction): Effect.Effect<unknown, never, EventStore> => Effect.either(handleStreamCommand(reaction)),
    { discard: true }
  )

/**
 * Whether a re-route the provider asked for may happen (docs/worker.md#re-route-once), asked of the routing
 * policy with the route context as it is now (`decideReroute`). A channel that is gone cannot be re-routed.
 */
const rerouteDecision = (reroute: Extract<ErrorClassification, { _tag: "Reroute" }>, message: MessageRecord, now: number) =>
  Effect.gen(function*() {
    const template = message.request.template
    const context = yield* loadRouteContext({
      channel: message.request.channel,
      to: message.request.to,
      template: template === null ? null : { name: template.name, language: template.language },
      now
    }).pipe(Effect.option)
    return context._tag === "None"
      ? { outcome: { _tag: "Final" as const }, reason: `${reroute.reason}: channel_not_registered` }
      : decideReroute(reroute, message, context.value)
  })

const errorOf = (result: ProviderSendResult): { readonly httpStatus: number | null; readonly error: ProviderError | null } =>
  result._tag === "HttpError" ? { httpStatus: result.status, error: result.error } : { httpStatus: null, error: null }

/**
 * Records what the provider answered to a started attempt, by docs/worker.md#error-classification: accepted →
 * submitted with the wamid; not sent → back to ready after a backoff (`random` in [0, 1) jitters it); final →
 * failed; re-route → ready on the other route (once, never under `STRICT`); anything ambiguous → outcome
 * unknown, never retried. Reactions on other streams are applied too, and the statuses parked for the
 * wamid an acceptance makes known. Time and randomness come from the caller.
 */
export const settleDispatch = (
  ticket: DispatchTicket,
  result: ProviderSendResult,
  now: number,
  random: number
): Effect.Effect<Settlement, never, EventStore> =>
  Effect.map(settleDispatches([{ ticket, result, now, random }]), ([settlement]) => settlement!)

type ProviderAcceptance = Extract<ProviderSendResult, { readonly _tag: "Accepted" }>["messageStatus"]

export interface Answer {
  readonly ticket: DispatchTicket
  readonly result: ProviderSendResult
  /** When the answer came. */
  readonly now: number
  /** In [0, 1): jitters a retry's backoff. */
  readonly random: number
}

/**
 * The message's phase no longer allows this answer (another holder marked it unknown meanwhile): the
 * answer is dropped, and the message stays where the at-most-once guard put it.
 */
const supersededBy = (e: MessageError): Settlement => superseded(e._tag === "DispatchNotAllowed" ? `${e.phase}: ${e.reason}` : e._tag)

const dropSuperseded = <R>(settling: Effect.Effect<Settlement, MessageError, R>): Effect.Effect<Settlement, never, R> =>
  Effect.catchAll(settling, (e) => Effect.succeed(supersededBy(e)))

/**
 * `settleDispatch` for several answers at once (a worker's answers that share a commit): the
 * acceptances, nearly all of them, recorded with one snapshot read and one append
 * (`handleCommands`); every other answer as `settleDispatch` records it, one by one. Each answer's
 * settlement is where it was. Apply what was parked for the wamids made known in the same unit of
 * work (`StatusReports.applyParkedStatusesOf`).
 */
export const settleDispatches = (answers: ReadonlyArray<Answer>): Effect.Effect<ReadonlyArray<Settlement>, never, EventStore> =>
  Effect.gen(function*() {
    const settlements: Array<Settlement> = new Array(answers.length)
    const accepted: Array<{ readonly index: number; readonly wamid: Wamid; readonly providerStatus: ProviderAcceptance }> = []
    for (let i = 0; i < answers.length; i++) {
      const { result } = answers[i]!
      if (result._tag === "Accepted" && Schema.is(Wamid)(result.wamid)) accepted.push({ index: i, wamid: result.wamid, providerStatus: result.messageStatus })
      else settlements[i] = yield* dropSuperseded(settleOne(answers[i]!))
    }
    const recorded = yield* handleCommands(
      MessageStream,
      accepted.map(({ index, providerStatus, wamid }) => {
        const { now, ticket } = answers[index]!
        return {
          streamId: streamId.message(ticket.messageId),
          command: {
            _tag: "RecordDispatchSucceeded" as const,
            messageId: ticket.messageId,
            attempt: ticket.attempt,
            at: now,
            wamid,
            providerStatus
          }
        }
      })
    )
    accepted.forEach(({ index, wamid }, k) => {
      const done = recorded[k]!
      if (done._tag === "Left") {
        settlements[index] = supersededBy(done.left)
        return
      }
      settlements[index] = settled({ _tag: "Submitted", wamid })
    })
    return settlements
  })

/** An answer other than an acceptance with a usable wamid, by docs/worker.md#error-classification. */
const settleOne = ({ now, random, result, ticket }: Answer): Effect.Effect<Settlement, MessageError, EventStore> =>
  Effect.gen(function*() {
    const id = streamId.message(ticket.messageId)
    const base = { messageId: ticket.messageId, attempt: ticket.attempt, at: now }
    if (result._tag === "Accepted") {
      // Taken, but with an id we cannot store: the message is out there, so it must not be sent again.
      yield* handleCommand(MessageStream, id, { _tag: "RecordDispatchOutcomeUnknown", ...base, reason: "unusable_wamid" })
      return settled({ _tag: "OutcomeUnknown", reason: "unusable_wamid" })
    }
    const classification: ErrorClassification = classifyProviderOutcome(result, ticket.route)
    const { error, httpStatus } = errorOf(result)
    switch (classification._tag) {
      case "Unknown": {
        yield* handleCommand(MessageStream, id, { _tag: "RecordDispatchOutcomeUnknown", ...base, reason: classification.reason })
        return settled({ _tag: "OutcomeUnknown", reason: classification.reason })
      }
      case "Retry": {
        const notBefore = now + retryDelayMs(classification, ticket.attempt, random)
        yield* handleCommand(MessageStream, id, {
          _tag: "RecordDispatchFailed",
          ...base,
          httpStatus,
          error,
          reason: classification.reason,
          outcome: { _tag: "RetryLater", notBefore }
        })
        return settled({
          _tag: "RetryLater",
          reason: classification.reason,
          notBefore,
          scope: classification.scope,
          pauseMs: Math.max(classification.minDelayMs, classification.retryAfterMs ?? 0)
        })
      }
      case "Final": {
        const handled = yield* handleCommand(MessageStream, id, {
          _tag: "RecordDispatchFailed",
          ...base,
          httpStatus,
          error,
          reason: classification.reason,
          outcome: { _tag: "Final" }
        })
        yield* applyReactions(handled.events, recordOf(handled.state))
        return settled({ _tag: "Failed", reason: classification.reason })
      }
      case "Reroute": {
        const before = recordOf((yield* loadState(MessageStream, id)).state)
        const decision = yield* rerouteDecision(classification, before, now)
        const handled = yield* handleCommand(MessageStream, id, {
          _tag: "RecordDispatchFailed",
          ...base,
          httpStatus,
          error,
          reason: decision.reason,
          outcome: decision.outcome
        })
        yield* applyReactions(handled.events, recordOf(handled.state))
        const rerouted = handled.events.some((e) => e._tag === "MessageRerouted")
        return settled(rerouted
          ? { _tag: "Rerouted", to: classification.to, reason: classification.reason }
          : { _tag: "Failed", reason: decision.reason })
      }
    }
  })

/**
 * A started attempt whose request the dispatcher kept back (docs/worker.md#many-workers: its channel
 * stopped being this worker's, or the request could not leave within the departure deadline of its
 * start): nothing reached the provider, so it is recorded as not sent, and the message is ready again
 * at once — for whichever worker holds its channel. Superseded, like any answer, when the message has
 * moved on meanwhile.
 */
export const withholdDispatch = (ticket: DispatchTicket, reason: string, now: number): Effect.Effect<Settlement, never, EventStore> =>
  handleCommand(MessageStream, streamId.message(ticket.messageId), {
    _tag: "RecordDispatchFailed",
    messageId: ticket.messageId,
    attempt: ticket.attempt,
    at: now,
    httpStatus: null,
    error: null,
    reason: `withheld_${reason}`,
    outcome: { _tag: "RetryLater", notBefore: now }
  }).pipe(
    Effect.as(settled({ _tag: "RetryLater", reason: `withheld_${reason}`, notBefore: now, scope: "message", pauseMs: 0 })),
    dropSuperseded
  )
