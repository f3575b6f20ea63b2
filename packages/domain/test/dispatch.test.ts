import { assert, describe, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import {
  CommandHandler,
  Dispatch,
  EventStore,
  type Ids,
  InMemoryEventStore,
  type ProviderGateway,
  type Routing,
  SendMessage,
  Streams,
  Waba
} from "../src/index.js"
import { BM, PHONE, TO, WABA } from "./fixtures.js"

/** BM + WABA + a sandbox channel + templates; `onboarded` signs the WABA's MM terms. */
const setup = (options: { readonly onboarded?: boolean; readonly ttlOnCloudFallback?: "warn" | "reject" } = {}) =>
  Effect.gen(function*() {
    yield* CommandHandler.handleCommand(Streams.BusinessManagerStream, Streams.streamId.businessManager(BM), { _tag: "RegisterBusinessManager", businessManagerId: BM, name: "Acme", at: 1 })
    yield* CommandHandler.handleCommand(Streams.WabaStream, Streams.streamId.waba(WABA), { _tag: "RegisterWaba", wabaId: WABA, businessManagerId: BM, name: null, at: 1 })
    yield* CommandHandler.handleCommand(Streams.ChannelStream, Streams.streamId.channel(PHONE), {
      _tag: "RegisterChannel", phoneNumberId: PHONE, wabaId: WABA, displayPhoneNumber: "+1 555", provider: "sandbox", credentialsRef: "cred_1", throughputMps: 80, routing: "inherit", at: 1
    })
    yield* CommandHandler.handleCommand(Streams.TemplateStream, Streams.streamId.template(WABA, "spring_sale", "en"), {
      _tag: "RecordTemplate", wabaId: WABA, name: "spring_sale", language: "en", category: "MARKETING", ttlSeconds: null, at: 1
    })
    yield* CommandHandler.handleCommand(Streams.TemplateStream, Streams.streamId.template(WABA, "flash_sale", "en"), {
      _tag: "RecordTemplate", wabaId: WABA, name: "flash_sale", language: "en", category: "MARKETING", ttlSeconds: 86_400, at: 1
    })
    if (options.onboarded === true) {
      yield* CommandHandler.handleCommand(Streams.WabaStream, Streams.streamId.waba(WABA), { _tag: "RecordWabaTermsSigned", wabaId: WABA, ownerBusinessId: BM, signedAt: 2, at: 2 })
    }
    if (options.ttlOnCloudFallback !== undefined) {
      yield* CommandHandler.handleCommand(Streams.PartnerSettingsStream, Streams.streamId.partnerSettings(), {
        _tag: "ChangeRoutingSettings", marketingViaMmApi: true, ttlOnCloudFallback: options.ttlOnCloudFallback, at: 2
      })
    }
  })

const send = (overrides: Partial<SendMessage.SendMessageInput> = {}) =>
  SendMessage.sendMessage({
    messageId: "m1" as Ids.MessageId,
    channel: PHONE,
    endpoint: "marketing_messages",
    to: TO,
    messageType: "template",
    template: { name: "spring_sale", language: "en" },
    productPolicy: null,
    messageActivitySharing: true,
    clientCallbackData: "client-ref",
    campaignId: null,
    idempotencyKey: null,
    requestHash: "h",
    requestedBy: "admin",
    payload: { messaging_product: "whatsapp", to: TO, type: "template", template: { name: "spring_sale", language: { code: "en" } }, biz_opaque_callback_data: "client-ref" },
    now: 10,
    ...overrides
  })

const begin = (attempt: number, now: number, messageId = "m1") =>
  Effect.gen(function*() {
    const outcome = yield* Dispatch.beginDispatch({ messageId: messageId as Ids.MessageId, attempt, now })
    if (outcome._tag !== "Send") throw new Error(`not sendable: ${outcome.reason}`)
    return outcome.ticket
  })

const messageState = (messageId = "m1") =>
  Effect.map(CommandHandler.loadState(Streams.MessageStream, Streams.streamId.message(messageId)), ({ state }) => {
    if (state._tag !== "Requested") throw new Error("no message")
    return state.message
  })

const httpError = (status: number, code: number | null, extra: { message?: string; details?: string; retryAfterMs?: number } = {}): ProviderGateway.ProviderSendResult => ({
  _tag: "HttpError",
  status,
  error: code === null ? null : { code, title: null, message: extra.message ?? null, details: extra.details ?? null },
  retryAfterMs: extra.retryAfterMs ?? null
})

const accepted: ProviderGateway.ProviderSendResult = { _tag: "Accepted", wamid: "wamid.ABC", messageStatus: "accepted" }

describe("beginDispatch: started before anything is sent", () => {
  it.effect("records DispatchStarted and builds the request for the current route; the same attempt cannot start twice", () =>
    Effect.gen(function*() {
      yield* setup({ onboarded: true })
      yield* send({ productPolicy: "CLOUD_API_FALLBACK" })
      const ticket = yield* begin(1, 20)
      assert.deepStrictEqual(
        [ticket.request.provider, ticket.request.phoneNumberId, ticket.request.credentialsRef, ticket.request.route],
        ["sandbox", PHONE, "cred_1", "marketing_messages"]
      )
      // The gateway's id travels as biz_opaque_callback_data; the MM options only on the MM route.
      assert.strictEqual(ticket.request.body["biz_opaque_callback_data"], "m1")
      assert.strictEqual(ticket.request.body["product_policy"], "CLOUD_API_FALLBACK")
      assert.strictEqual(ticket.request.body["message_activity_sharing"], true)
      assert.strictEqual((yield* messageState()).phase._tag, "InFlight")
      const again = yield* Effect.either(Dispatch.beginDispatch({ messageId: "m1" as Ids.MessageId, attempt: 1, now: 21 }))
      assert.isTrue(Either.isLeft(again) && again.left._tag === "DispatchNotAllowed")
    }).pipe(Effect.provide(InMemoryEventStore.layer)))
})

describe("withholdDispatch: a started request kept back was not sent", () => {
  it.effect("the message is ready again at once for its next attempt, the reason recorded; once it moved on, the withholding is superseded", () =>
    Effect.gen(function*() {
      yield* setup({ onboarded: true })
      yield* send()
      const withheld = yield* Dispatch.withholdDispatch(yield* begin(1, 20), "channel_not_held", 25)
      assert.deepStrictEqual(withheld, { _tag: "RetryLater", reason: "withheld_channel_not_held", notBefore: 25, scope: "message", pauseMs: 0 })
      const m = yield* messageState()
      assert.deepStrictEqual([m.phase._tag, m.phase.attempt], ["Ready", 2])
      const second = yield* begin(2, 25)
      yield* CommandHandler.handleCommand(Streams.MessageStream, Streams.streamId.message("m1"), {
        _tag: "RecordDispatchOutcomeUnknown",
        messageId: "m1" as Ids.MessageId,
        attempt: 2,
        reason: "request_interrupted",
        at: 30
      })
      const late = yield* Dispatch.withholdDispatch(second, "departure_deadline", 31)
      assert.strictEqual(late._tag, "Superseded")
      assert.strictEqual((yield* messageState()).phase._tag, "OutcomeUnknown")
    }).pipe(Effect.provide(InMemoryEventStore.layer)))
})

describe("settleDispatch: the outcomes of docs/worker.md#error-classification", () => {
  it.effect("accepted → submitted with the wamid", () =>
    Effect.gen(function*() {
      yield* setup({ onboarded: true })
      yield* send()
      const settlement = yield* Dispatch.settleDispatch(yield* begin(1, 20), accepted, 30, 0.5)
      assert.deepStrictEqual(settlement, { _tag: "Submitted", wamid: "wamid.ABC" as Ids.Wamid })
      const m = yield* messageState()
      assert.deepStrictEqual([m.phase._tag, m.wamid, m.submittedAt], ["Submitted", "wamid.ABC", 30])
    }).pipe(Effect.provide(InMemoryEventStore.layer)))

  it.effect("not sent → ready again after a backoff that honours Retry-After; an early start is refused", () =>
    Effect.gen(function*() {
      yield* setup({ onboarded: true })
      yield* send()
      const settlement = yield* Dispatch.settleDispatch(yield* begin(1, 20), httpError(400, 130429, { retryAfterMs: 7_000 }), 30, 0)
      assert.strictEqual(settlement._tag, "RetryLater")
      if (settlement._tag !== "RetryLater") return
      assert.strictEqual(settlement.scope, "channel")
      assert.strictEqual(settlement.pauseMs, 7_000)
      assert.isAtLeast(settlement.notBefore, 30 + 7_000)
      const early = yield* Effect.either(Dispatch.beginDispatch({ messageId: "m1" as Ids.MessageId, attempt: 2, now: settlement.notBefore - 1 }))
      assert.isTrue(Either.isLeft(early) && early.left._tag === "DispatchNotAllowed")
      const second = yield* begin(2, settlement.notBefore)
      assert.strictEqual(second.attempt, 2)
    }).pipe(Effect.provide(InMemoryEventStore.layer)))

  it.effect("a connection never established is retried; a dropped connection is outcome unknown and never sent again", () =>
    Effect.gen(function*() {
      yield* setup({ onboarded: true })
      yield* send()
      const refused = yield* Dispatch.settleDispatch(yield* begin(1, 20), { _tag: "ConnectionNotEstablished", reason: "connection_refused" }, 30, 0.3)
      assert.strictEqual(refused._tag, "RetryLater")
      const notBefore = refused._tag === "RetryLater" ? refused.notBefore : 0
      const dropped = yield* Dispatch.settleDispatch(yield* begin(2, notBefore), { _tag: "NoDefinitiveAnswer", reason: "connection_lost" }, notBefore + 5, 0.3)
      assert.deepStrictEqual(dropped, { _tag: "OutcomeUnknown", reason: "connection_lost" })
      for (const attempt of [2, 3]) {
        const again = yield* Effect.either(Dispatch.beginDispatch({ messageId: "m1" as Ids.MessageId, attempt, now: notBefore + 1_000_000 }))
        assert.isTrue(Either.isLeft(again) && again.left._tag === "DispatchNotAllowed")
      }
    }).pipe(Effect.provide(InMemoryEventStore.layer)))

  it.effect("a 5xx without a definitive code is outcome unknown; 131000 in a 500 is retried", () =>
    Effect.gen(function*() {
      yield* setup({ onboarded: true })
      yield* send()
      yield* send({ messageId: "m2" as Ids.MessageId })
      assert.strictEqual((yield* Dispatch.settleDispatch(yield* begin(1, 20), httpError(502, null), 30, 0.5))._tag, "OutcomeUnknown")
      assert.strictEqual((yield* Dispatch.settleDispatch(yield* begin(1, 20, "m2"), httpError(500, 131000), 30, 0.5))._tag, "RetryLater")
    }).pipe(Effect.provide(InMemoryEventStore.layer)))

  it.effect("131049 is final and starts the recipient's cooldown; 131050 opts the recipient out", () =>
    Effect.gen(function*() {
      yield* setup({ onboarded: true })
      yield* send()
      const settlement = yield* Dispatch.settleDispatch(yield* begin(1, 20), httpError(400, 131049), 30, 0.5)
      assert.strictEqual(settlement._tag, "Failed")
      assert.strictEqual((yield* messageState()).phase._tag, "Failed")
      const recipient = (yield* CommandHandler.loadState(Streams.RecipientStream, Streams.streamId.recipient(WABA, TO))).state
      assert.strictEqual(recipient.cooldownUntil, 30 + 86_400_000)
      yield* send({ messageId: "m2" as Ids.MessageId, to: "16505550000" as never, payload: {} })
      yield* Dispatch.settleDispatch(yield* begin(1, 40, "m2"), httpError(400, 131050), 50, 0.5)
      assert.isTrue((yield* CommandHandler.loadState(Streams.RecipientStream, Streams.streamId.recipient(WABA, "16505550000"))).state.optedOut)
    }).pipe(Effect.provide(InMemoryEventStore.layer)))

  it.effect("131055 on the MM route re-routes once to the Cloud API, without the MM-only fields", () =>
    Effect.gen(function*() {
      yield* setup({ onboarded: true })
      yield* send({ productPolicy: "CLOUD_API_FALLBACK" })
      const settlement = yield* Dispatch.settleDispatch(
        yield* begin(1, 20),
        httpError(400, 131055, { message: "(#131055) Method not allowed", details: "Only marketing template messages are supported" }),
        30,
        0.5
      )
      assert.deepStrictEqual(settlement, { _tag: "Rerouted", to: "cloud_api", reason: "not_a_marketing_template" })
      const ticket = yield* begin(2, 31)
      assert.strictEqual(ticket.request.route, "cloud_api")
      assert.isUndefined(ticket.request.body["product_policy"])
      assert.isUndefined(ticket.request.body["message_activity_sharing"])
      assert.strictEqual(ticket.request.body["biz_opaque_callback_data"], "m1")
      // Only once: the Cloud API refusing with 131055 again is final.
      const second = yield* Dispatch.settleDispatch(ticket, httpError(400, 131055), 40, 0.5)
      assert.strictEqual(second._tag, "Failed")
    }).pipe(Effect.provide(InMemoryEventStore.layer)))

  it.effect("STRICT never re-routes", () =>
    Effect.gen(function*() {
      yield* setup({ onboarded: true })
      yield* send({ productPolicy: "STRICT" as Routing.ProductPolicy })
      const settlement = yield* Dispatch.settleDispatch(yield* begin(1, 20), httpError(400, 134100), 30, 0.5)
      assert.strictEqual(settlement._tag, "Failed")
      assert.strictEqual((yield* messageState()).route, "marketing_messages")
    }).pipe(Effect.provide(InMemoryEventStore.layer)))

  it.effect("131055 'terms not accepted' marks the WABA not onboarded, then goes to the Cloud API", () =>
    Effect.gen(function*() {
      yield* setup({ onboarded: true })
      yield* send()
      const settlement = yield* Dispatch.settleDispatch(
        yield* begin(1, 20),
        httpError(400, 131055, { message: "(#200) You must accept the Marketing Messages Lite API terms to use the API." }),
        30,
        0.5
      )
      assert.deepStrictEqual(settlement, { _tag: "Rerouted", to: "cloud_api", reason: "terms_not_accepted" })
      const waba = (yield* CommandHandler.loadState(Streams.WabaStream, Streams.streamId.waba(WABA))).state
      const status = Waba.mmApiStatus(waba, null, 40)
      assert.deepStrictEqual([status.status, status.source], ["not_onboarded", "provider_error"])
    }).pipe(Effect.provide(InMemoryEventStore.layer)))

  it.effect("131063 on /messages re-routes to the MM API when the message is eligible there", () =>
    Effect.gen(function*() {
      yield* setup({ onboarded: true })
      // A template the gateway does not know goes to the Cloud API from /messages (never a guess).
      yield* send({ endpoint: "messages", template: { name: "new_promo", language: "en" } })
      const ticket = yield* begin(1, 20)
      assert.strictEqual(ticket.request.route, "cloud_api")
      const settlement = yield* Dispatch.settleDispatch(ticket, httpError(400, 131063), 30, 0.5)
      assert.deepStrictEqual(settlement, { _tag: "Rerouted", to: "marketing_messages", reason: "marketing_disabled_on_cloud_api" })
      assert.strictEqual((yield* begin(2, 31)).request.route, "marketing_messages")
    }).pipe(Effect.provide(InMemoryEventStore.layer)))

  it.effect("131063 for a WABA not onboarded is final: the MM API is not open to it", () =>
    Effect.gen(function*() {
      yield* setup()
      yield* send({ endpoint: "messages" })
      const settlement = yield* Dispatch.settleDispatch(yield* begin(1, 20), httpError(400, 131063), 30, 0.5)
      assert.strictEqual(settlement._tag, "Failed")
      if (settlement._tag === "Failed") assert.include(settlement.reason, "waba_not_onboarded")
    }).pipe(Effect.provide(InMemoryEventStore.layer)))

  it.effect("134102 does not fall back to the Cloud API for a TTL message when the partner policy rejects that", () =>
    Effect.gen(function*() {
      yield* setup({ onboarded: true, ttlOnCloudFallback: "reject" })
      yield* send({ template: { name: "flash_sale", language: "en" } })
      const settlement = yield* Dispatch.settleDispatch(yield* begin(1, 20), httpError(500, 134102), 30, 0.5)
      assert.strictEqual(settlement._tag, "Failed")
      if (settlement._tag === "Failed") assert.include(settlement.reason, "ttl_requires_mm_api")
    }).pipe(Effect.provide(InMemoryEventStore.layer)))

  it.effect("an answer for an attempt that was marked unknown meanwhile: success is kept, a failure is dropped", () =>
    Effect.gen(function*() {
      yield* setup({ onboarded: true })
      yield* send()
      yield* send({ messageId: "m2" as Ids.MessageId })
      const t1 = yield* begin(1, 20)
      const t2 = yield* begin(1, 20, "m2")
      for (const [id, t] of [["m1", t1], ["m2", t2]] as const) {
        yield* CommandHandler.handleCommand(Streams.MessageStream, Streams.streamId.message(id), {
          _tag: "RecordDispatchOutcomeUnknown", messageId: id as Ids.MessageId, attempt: t.attempt, reason: "dispatcher_restarted", at: 25
        })
      }
      assert.strictEqual((yield* Dispatch.settleDispatch(t1, accepted, 30, 0.5))._tag, "Submitted")
      assert.strictEqual((yield* Dispatch.settleDispatch(t2, httpError(400, 131026), 30, 0.5))._tag, "Superseded")
      assert.strictEqual((yield* messageState("m2")).phase._tag, "OutcomeUnknown")
    }).pipe(Effect.provide(InMemoryEventStore.layer)))

  it.effect("an accepted answer with a wamid that cannot be stored is outcome unknown, not a resend", () =>
    Effect.gen(function*() {
      yield* setup({ onboarded: true })
      yield* send()
      const ticket: Dispatch.DispatchTicket = yield* begin(1, 20)
      const settlement = yield* Dispatch.settleDispatch(ticket, { _tag: "Accepted", wamid: "", messageStatus: "accepted" }, 30, 0.5)
      assert.deepStrictEqual(settlement, { _tag: "OutcomeUnknown", reason: "unusable_wamid" })
    }).pipe(Effect.provide(InMemoryEventStore.layer)))
})

describe("beginDispatches and settleDispatches: several messages at once, as one after the other", () => {
  /** m1–m4 accepted; what the log holds after `work`, stream by stream. */
  const logAfter = <A>(work: Effect.Effect<A, unknown, EventStore.EventStore>) =>
    Effect.gen(function*() {
      yield* setup({ onboarded: true })
      for (const id of ["m1", "m2", "m3", "m4"]) yield* send({ messageId: id as Ids.MessageId })
      const result = yield* work
      const store = yield* EventStore.EventStore
      const streams = new Map<string, Array<unknown>>()
      for (const e of yield* store.readAll(0, 1_000)) streams.set(e.streamId, [...(streams.get(e.streamId) ?? []), e.event])
      return { result, streams: [...streams].sort(([a], [b]) => (a < b ? -1 : 1)) }
    }).pipe(Effect.provide(InMemoryEventStore.layer))

  const starts = [1, 2, 3, 4].map((n) => ({ messageId: `m${n}` as Ids.MessageId, attempt: 1, now: 20 }))
  // m2's second start is refused (already started); the others are sent.
  const inputs = [...starts.slice(0, 2), { messageId: "m2" as Ids.MessageId, attempt: 1, now: 21 }, ...starts.slice(2)]
  const answers = (tickets: ReadonlyArray<Dispatch.DispatchTicket>): ReadonlyArray<Dispatch.Answer> => [
    { ticket: tickets[0]!, result: accepted, now: 30, random: 0.5 },
    { ticket: tickets[1]!, result: httpError(400, 131026), now: 30, random: 0.5 },
    { ticket: tickets[2]!, result: httpError(429, 131056), now: 30, random: 0.5 },
    { ticket: tickets[3]!, result: { _tag: "Accepted", wamid: "wamid.XYZ", messageStatus: "held_for_quality_assessment" }, now: 31, random: 0.5 }
  ]
  const ticketsOf = (begun: ReadonlyArray<Either.Either<Dispatch.BeginOutcome, unknown>>) =>
    begun.flatMap((b) => (Either.isRight(b) && b.right._tag === "Send" ? [b.right.ticket] : []))

  it.effect("the same outcomes, settlements and events as beginDispatch and settleDispatch message by message", () =>
    Effect.gen(function*() {
      const together = yield* logAfter(Effect.gen(function*() {
        const begun = yield* Dispatch.beginDispatches(inputs)
        return { begun, settled: yield* Dispatch.settleDispatches(answers(ticketsOf(begun))) }
      }))
      const oneByOne = yield* logAfter(Effect.gen(function*() {
        const begun = yield* Effect.forEach(inputs, (input) => Effect.either(Dispatch.beginDispatch(input)))
        const settled = yield* Effect.forEach(answers(ticketsOf(begun)), (a) => Dispatch.settleDispatch(a.ticket, a.result, a.now, a.random))
        return { begun, settled }
      }))
      assert.deepStrictEqual(together, oneByOne)
      assert.deepStrictEqual(together.result.begun.map((b) => (Either.isRight(b) ? b.right._tag : b.left._tag)), ["Send", "Send", "DispatchNotAllowed", "Send", "Send"])
      assert.deepStrictEqual(together.result.settled.map((s) => s._tag), ["Submitted", "Failed", "RetryLater", "Submitted"])
    }))
})
