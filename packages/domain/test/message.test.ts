import { assert, describe, it } from "@effect/vitest"
import { Message } from "../src/index.js"
import { deciderSpec } from "../testing/index.js"
import { MSG, WAMID } from "./fixtures.js"
import { cloudPricing, mmPricing, observation, request, run, stateOf, submitted, submittedCommands } from "./message-builders.js"

const spec = deciderSpec(Message.MessageDecider)
const view = (events: ReadonlyArray<Message.MessageEvent>) => Message.viewOf(stateOf(events))
const accepted = run([request()])
const start = (attempt = 1, at = 1_500) => ({ _tag: "StartDispatch", messageId: MSG, attempt, at }) as const
const observe = (o: ReturnType<typeof observation>, at = 9_000) => ({ _tag: "ObserveStatus", messageId: MSG, observation: o, at }) as const

describe("Message decider", () => {
  describe("RequestMessage", () => {
    it("records the request and its route decision", () => {
      const events = spec.given([]).when(request()).events()
      assert.deepStrictEqual(events.map((e) => e._tag), ["MessageRequested", "MessageRouted"])
      const routed = events[1] as typeof Message.MessageRouted.Type
      assert.deepStrictEqual([routed.route, routed.reasons, routed.ttlSeconds], ["marketing_messages", ["mm_api_eligible"], 86_400])
      const requested = events[0] as typeof Message.MessageRequested.Type
      assert.strictEqual(requested.clientCallbackData, "client-ref-1")
    })
    it("does not carry the TTL or product policy to the Cloud API route", () => {
      const events = spec.given([]).when(request({
        productPolicy: "CLOUD_API_FALLBACK",
        decision: { _tag: "Routed", route: "cloud_api", reasons: ["waba_not_onboarded"], warnings: ["ttl_not_applied_on_cloud_api"], productPolicy: null, mmOptionsApply: false }
      })).events()
      const routed = events[1] as typeof Message.MessageRouted.Type
      assert.deepStrictEqual([routed.route, routed.ttlSeconds, routed.productPolicy], ["cloud_api", null, null])
    })
    it("same idempotency key (same message id) and same request: nothing new", () => spec.given(accepted).when(request()).thenNothing())
    it("same idempotency key with another request: IdempotencyKeyReused", () =>
      spec.given(accepted).when(request({ requestHash: "other" })).thenFails("IdempotencyKeyReused"))
    it("a rejected route records nothing and says why", () =>
      spec.given([]).when(request({ decision: { _tag: "Rejected", reasons: ["waba_suspended"] } }))
        .thenFails("RouteRejected", (e) => assert.deepStrictEqual((e as { reasons: unknown }).reasons, ["waba_suspended"])))
  })

  describe("dispatch (at most once)", () => {
    it("starts the first attempt", () =>
      spec.given(accepted).when(start()).then([Message.DispatchStarted.make({ messageId: MSG, attempt: 1, route: "marketing_messages", at: 1_500 })]))
    it("refuses a second start while the attempt is in flight", () =>
      spec.given(run([request(), start()])).when(start()).thenFails("DispatchNotAllowed"))
    it("refuses a start for a stale attempt number", () => spec.given(accepted).when(start(2)).thenFails("DispatchNotAllowed"))
    it("records the provider's answer with the wamid", () => {
      const events = submitted(2_000)
      const m = stateOf(events)
      assert.deepStrictEqual([m.wamid, m.submittedAt, Message.viewOf(m).status], [WAMID, 2_000, "submitted"])
    })
    it("does nothing when the same answer is recorded twice", () =>
      spec.given(submitted()).when({ _tag: "RecordDispatchSucceeded", messageId: MSG, attempt: 1, wamid: WAMID, providerStatus: "accepted", at: 2_500 }).thenNothing())
    it("never starts again once the provider accepted", () => spec.given(submitted()).when(start(2, 5_000)).thenFails("DispatchNotAllowed"))
    it("a retryable failure schedules the next attempt, not before its time", () => {
      const events = run([request(), start(), {
        _tag: "RecordDispatchFailed", messageId: MSG, attempt: 1, httpStatus: 400, error: { code: 130429, title: null, message: "Rate limit hit", details: null },
        reason: "rate_limited_130429", outcome: { _tag: "RetryLater", notBefore: 5_000 }, at: 1_600
      }])
      spec.given(events).when(start(2, 4_999)).thenFails("DispatchNotAllowed")
      spec.given(events).when(start(2, 5_000)).events()
      assert.strictEqual(Message.viewOf(stateOf(events)).status, "accepted")
    })
    it("a final failure makes the message failed with the error", () => {
      const events = run([request(), start(), {
        _tag: "RecordDispatchFailed", messageId: MSG, attempt: 1, httpStatus: 400, error: { code: 131009, title: null, message: "Parameter value is not valid", details: null },
        reason: "provider_error_131009", outcome: { _tag: "Final" }, at: 1_600
      }])
      const v = view(events)
      assert.deepStrictEqual([v.status, v.errors.map((e) => e.code), v.timestamps.failedAt], ["failed", [131009], 1_600])
      spec.given(events).when(start(2, 9_000)).thenFails("DispatchNotAllowed")
    })
    const failWithReroute = (to: "cloud_api" | "marketing_messages", attempt = 1) => ({
      _tag: "RecordDispatchFailed", messageId: MSG, attempt, httpStatus: 400, error: { code: 131055, title: null, message: "(#131055) Method not allowed", details: "Only marketing template messages are supported" },
      reason: "not_a_marketing_template", outcome: { _tag: "Reroute", to, reason: "not_a_marketing_template" }, at: 1_600
    }) as const
    it("re-routes once to the Cloud API after 131055 on the MM route", () => {
      const events = run([request(), start(), failWithReroute("cloud_api")])
      assert.deepStrictEqual(events.slice(-2).map((e) => e._tag), ["DispatchFailed", "MessageRerouted"])
      const m = stateOf(events)
      assert.deepStrictEqual([m.route, m.ttlSeconds, m.phase._tag], ["cloud_api", null, "Ready"])
      spec.given(events).when(start(2, 1_700)).then([Message.DispatchStarted.make({ messageId: MSG, attempt: 2, route: "cloud_api", at: 1_700 })])
    })
    it("never re-routes twice", () => {
      const events = run([request(), start(), failWithReroute("cloud_api"), start(2, 1_700)])
      const second = spec.given(events).when(failWithReroute("marketing_messages", 2)).events()
      assert.deepStrictEqual(second.map((e) => e._tag), ["DispatchFailed"])
      assert.isTrue((second[0] as typeof Message.DispatchFailed.Type).final)
    })
    it("never re-routes a STRICT message", () => {
      const events = run([request({ productPolicy: "STRICT" }), start()])
      const decided = spec.given(events).when(failWithReroute("cloud_api")).events()
      assert.deepStrictEqual(decided.map((e) => e._tag), ["DispatchFailed"])
      assert.isTrue((decided[0] as typeof Message.DispatchFailed.Type).final)
    })
    it("an unknown outcome is never retried: no new attempt can start", () => {
      const events = run([request(), start(), { _tag: "RecordDispatchOutcomeUnknown", messageId: MSG, attempt: 1, reason: "socket hang up", at: 1_600 }])
      spec.given(events).when(start(1, 9_000)).thenFails("DispatchNotAllowed")
      spec.given(events).when(start(2, 9_000)).thenFails("DispatchNotAllowed")
      spec.given(events).when({ _tag: "RecordDispatchOutcomeUnknown", messageId: MSG, attempt: 1, reason: "again", at: 1_700 }).thenNothing()
    })
    it("after the window an unknown outcome becomes dispatch_unknown, which an operator resolves", () => {
      const unknown = run([request(), start(), { _tag: "RecordDispatchOutcomeUnknown", messageId: MSG, attempt: 1, reason: "timeout", at: 1_600 }])
      spec.given(unknown).when({ _tag: "ResolveDispatch", messageId: MSG, action: "resend", by: "admin", at: 2_000 }).thenFails("ResolutionNotAllowed")
      const marked = run([request(), start(),
        { _tag: "RecordDispatchOutcomeUnknown", messageId: MSG, attempt: 1, reason: "timeout", at: 1_600 },
        { _tag: "MarkDispatchUnknown", messageId: MSG, at: 700_000 }])
      assert.strictEqual(view(marked).status, "dispatch_unknown")
      spec.given(marked).when({ _tag: "MarkDispatchUnknown", messageId: MSG, at: 800_000 }).thenNothing()
      const resent = run([request(), start(), { _tag: "RecordDispatchOutcomeUnknown", messageId: MSG, attempt: 1, reason: "timeout", at: 1_600 },
        { _tag: "MarkDispatchUnknown", messageId: MSG, at: 700_000 },
        { _tag: "ResolveDispatch", messageId: MSG, action: "resend", by: "admin", at: 800_000 }])
      assert.strictEqual(view(resent).status, "accepted")
      spec.given(resent).when(start(2, 800_001)).events()
      const givenUp = run([request(), start(), { _tag: "RecordDispatchOutcomeUnknown", messageId: MSG, attempt: 1, reason: "timeout", at: 1_600 },
        { _tag: "MarkDispatchUnknown", messageId: MSG, at: 700_000 },
        { _tag: "ResolveDispatch", messageId: MSG, action: "give_up", by: "admin", at: 800_000 }])
      assert.strictEqual(view(givenUp).status, "failed")
    })
    it("a webhook naming the message settles an unknown outcome: it is not marked dispatch_unknown", () => {
      const events = run([request(), start(), { _tag: "RecordDispatchOutcomeUnknown", messageId: MSG, attempt: 1, reason: "timeout", at: 1_600 },
        observe(observation("sent", 1_700))])
      spec.given(events).when({ _tag: "MarkDispatchUnknown", messageId: MSG, at: 700_000 }).thenNothing()
      assert.strictEqual(view(events).status, "sent")
    })
  })

  describe("ObserveStatus (the lifecycle join)", () => {
    it("keeps, per status, the earliest webhook timestamp seen, whatever the arrival order", () => {
      const late = observe(observation("sent", 3_500))
      const early = observe(observation("sent", 3_000))
      for (const order of [[late, early], [early, late]]) {
        assert.strictEqual(view(run([...submittedCommands(), ...order])).timestamps.sentAt, 3_000)
      }
      const delivered = [observe(observation("delivered", 5_000)), observe(observation("delivered", 4_000)), observe(observation("delivered", 4_500))]
      const read = [observe(observation("read", 7_000)), observe(observation("read", 6_000))]
      const failed = [observe(observation("failed", 8_800)), observe(observation("failed", 8_100))]
      const v = view(run([...submittedCommands(), ...delivered, ...read, ...failed]))
      assert.deepStrictEqual(
        [v.timestamps.deliveredAt, v.timestamps.readAt, v.timestamps.failedAt],
        [4_000, 6_000, 8_100]
      )
    })
    it("an implied delivery takes the earliest read time", () => {
      const v = view(run([...submittedCommands(), observe(observation("read", 7_000)), observe(observation("read", 6_000))]))
      assert.deepStrictEqual([v.timestamps.deliveredAt, v.timestamps.readAt], [6_000, 6_000])
    })
    it("a second webhook of the same status with another timestamp is recorded; its repeat is not", () => {
      const events = run([...submittedCommands(), observe(observation("sent", 3_500))])
      spec.given(events).when(observe(observation("sent", 3_000), 9_100)).then([
        Message.StatusObserved.make({ messageId: MSG, observation: observation("sent", 3_000), at: 9_100 })
      ])
      spec.given([...events, Message.StatusObserved.make({ messageId: MSG, observation: observation("sent", 3_000), at: 9_100 })])
        .when(observe(observation("sent", 3_000), 9_200)).thenNothing()
    })
    it("records a status with the webhook's timestamp", () => {
      const events = run([...submittedCommands(), observe(observation("sent", 3_000, { pricing: mmPricing }))])
      const v = view(events)
      assert.deepStrictEqual([v.status, v.timestamps.sentAt, v.observedRoute, v.routeMismatch], ["sent", 3_000, "marketing_messages", false])
    })
    it("does nothing when the same webhook arrives twice", () => {
      const events = run([...submittedCommands(), observe(observation("delivered", 3_000))])
      spec.given(events).when(observe(observation("delivered", 3_000), 9_999)).thenNothing()
    })
    it("read implies delivered when Meta skips the delivered webhook", () => {
      const v = view(run([...submittedCommands(), observe(observation("read", 4_000))]))
      assert.deepStrictEqual([v.status, v.timestamps.deliveredAt, v.timestamps.readAt], ["read", 4_000, 4_000])
    })
    it("failed wins over sent, also when sent arrives late", () => {
      const failed = observation("failed", 3_500, { errors: [{ code: 131049, title: "x", message: null, details: null }] })
      assert.strictEqual(view(run([...submittedCommands(), observe(failed), observe(observation("sent", 3_000))])).status, "failed")
      assert.strictEqual(view(run([...submittedCommands(), observe(observation("sent", 3_000)), observe(failed)])).status, "failed")
    })
    it("failed never overrides delivered; the anomaly is kept", () => {
      const v = view(run([...submittedCommands(), observe(observation("delivered", 3_000)), observe(observation("failed", 3_500))]))
      assert.deepStrictEqual([v.status, v.failedAfterDelivery], ["delivered", true])
    })
    it("the observed route comes from the highest status carrying pricing, whatever the order", () => {
      const a = observe(observation("sent", 3_000, { pricing: cloudPricing }))
      const b = observe(observation("delivered", 3_100, { pricing: mmPricing }))
      assert.strictEqual(view(run([...submittedCommands(), a, b])).observedRoute, "marketing_messages")
      assert.strictEqual(view(run([...submittedCommands(), b, a])).observedRoute, "marketing_messages")
    })
    it("falls back to conversation.origin.type for older payloads", () => {
      const v = view(run([...submittedCommands(), observe(observation("sent", 3_000, { originType: "marketing_lite" }))]))
      assert.strictEqual(v.observedRoute, "marketing_messages")
    })
    it("counts a route mismatch when Meta fell back to the Cloud API", () => {
      const v = view(run([...submittedCommands(), observe(observation("delivered", 3_000, { pricing: cloudPricing }))]))
      assert.deepStrictEqual([v.observedRoute, v.routeMismatch], ["cloud_api", true])
    })
    it("learns the wamid from a status matched by biz_opaque_callback_data before the dispatch answer", () => {
      const events = run([request(), start(), observe(observation("sent", 3_000))])
      assert.strictEqual(stateOf(events).wamid, WAMID)
    })
  })

  describe("ExpireMessage", () => {
    const expire = (at: number) => ({ _tag: "ExpireMessage", messageId: MSG, at }) as const
    it("expires an MM-routed message with a TTL not delivered by submittedAt + TTL", () => {
      const events = submitted(2_000)
      spec.given(events).when(expire(2_000 + 86_400_000 - 1)).thenNothing()
      spec.given(events).when(expire(2_000 + 86_400_000)).then([
        Message.MessageExpired.make({ messageId: MSG, deadline: 2_000 + 86_400_000, at: 2_000 + 86_400_000 })
      ])
    })
    it("never expires a delivered message", () =>
      spec.given(run([...submittedCommands(2_000), observe(observation("delivered", 3_000))])).when(expire(99_999_999_999)).thenNothing())
    it("never expires a message observed on the Cloud API", () =>
      spec.given(run([...submittedCommands(2_000), observe(observation("sent", 3_000, { pricing: cloudPricing }))])).when(expire(99_999_999_999)).thenNothing())
    it("never expires a message routed to the Cloud API", () =>
      spec.given(submitted(2_000, {
        decision: { _tag: "Routed", route: "cloud_api", reasons: ["waba_not_onboarded"], warnings: ["ttl_not_applied_on_cloud_api"], productPolicy: null, mmOptionsApply: false }
      })).when(expire(99_999_999_999)).thenNothing())
    it("does nothing when repeated", () => {
      const events = run([...submittedCommands(2_000), expire(90_000_000)])
      assert.strictEqual(view(events).status, "expired")
      spec.given(events).when(expire(90_000_001)).thenNothing()
    })
  })

  describe("AttributeClick", () => {
    it("ties a click to the message once", () => {
      const events = run([...submittedCommands(), { _tag: "AttributeClick", messageId: MSG, clickId: "c1", at: 5_000 }])
      assert.deepStrictEqual(stateOf(events).clicks, ["c1"])
      spec.given(events).when({ _tag: "AttributeClick", messageId: MSG, clickId: "c1", at: 6_000 }).thenNothing()
    })
    it("rejects a click for an unknown message", () =>
      spec.given([]).when({ _tag: "AttributeClick", messageId: MSG, clickId: "c1", at: 5_000 }).thenFails("NotRegistered"))
  })
})

describe("buildProviderBody", () => {
  it("sends the gateway's message id as biz_opaque_callback_data and the MM options only on the MM route", async () => {
    const { buildProviderBody } = await import("../src/index.js")
    const mm = stateOf(run([request({
      productPolicy: "STRICT",
      payload: { to: "16505551234", type: "template", biz_opaque_callback_data: "client", product_policy: "x" },
      decision: { _tag: "Routed", route: "marketing_messages", reasons: ["mm_api_eligible"], warnings: [], productPolicy: "STRICT", mmOptionsApply: true }
    })]))
    assert.deepStrictEqual(buildProviderBody(mm), {
      to: "16505551234", type: "template", messaging_product: "whatsapp", biz_opaque_callback_data: MSG, product_policy: "STRICT", message_activity_sharing: true
    })
    const cloud = stateOf(run([request({
      productPolicy: "CLOUD_API_FALLBACK",
      payload: { to: "16505551234", type: "template", message_activity_sharing: true },
      decision: { _tag: "Routed", route: "cloud_api", reasons: ["waba_not_onboarded"], warnings: [], productPolicy: null, mmOptionsApply: false }
    })]))
    assert.deepStrictEqual(buildProviderBody(cloud), { to: "16505551234", type: "template", messaging_product: "whatsapp", biz_opaque_callback_data: MSG })
  })
})
