import { assert, describe, it } from "@effect/vitest"
import { Errors, type Ids, Message, type ProviderGateway } from "../src/index.js"
import { deciderSpec } from "../testing/index.js"
import { MSG, PHONE, TO, WABA, WAMID } from "./fixtures.js"
import { cloudPricing, mmPricing, observation, request, run, stateOf, submitted, submittedCommands } from "./message-builders.js"

/**
 * The Message decider, command by command: what it records (the events in full), what it refuses
 * (the exact error), and what a repeat does (nothing, or the rejection the at-most-once guard
 * documents). Then the lifecycle join, expiry and clicks.
 */
const spec = deciderSpec(Message.MessageDecider)
const view = (events: ReadonlyArray<Message.MessageEvent>) => Message.viewOf(stateOf(events))
const accepted = run([request()])

const start = (attempt = 1, at = 1_500) => ({ _tag: "StartDispatch", messageId: MSG, attempt, at }) as const
const succeed = (attempt = 1, at = 2_000, wamid = WAMID) =>
  ({ _tag: "RecordDispatchSucceeded", messageId: MSG, attempt, wamid, providerStatus: "accepted", at }) as const
const unknownOutcome = (attempt = 1, at = 1_600, reason = "socket hang up") =>
  ({ _tag: "RecordDispatchOutcomeUnknown", messageId: MSG, attempt, reason, at }) as const
const markUnknown = (at = 700_000) => ({ _tag: "MarkDispatchUnknown", messageId: MSG, at }) as const
const resolve = (action: "resend" | "give_up", at = 800_000) => ({ _tag: "ResolveDispatch", messageId: MSG, action, by: "admin", at }) as const
const observe = (o: ReturnType<typeof observation>, at = 9_000) => ({ _tag: "ObserveStatus", messageId: MSG, observation: o, at }) as const
const expire = (at: number) => ({ _tag: "ExpireMessage", messageId: MSG, at }) as const
const click = (clickId: string, at = 5_000) => ({ _tag: "AttributeClick", messageId: MSG, clickId, at }) as const

const invalidParameter: ProviderGateway.ProviderError = { code: 131009, title: null, message: "Parameter value is not valid", details: null }
const rateLimited: ProviderGateway.ProviderError = { code: 130429, title: null, message: "Rate limit hit", details: null }
const notMarketing: ProviderGateway.ProviderError = { code: 131055, title: null, message: "(#131055) Method not allowed", details: "Only marketing template messages are supported" }
const fail = (
  outcome: Message.FailureOutcome,
  { attempt = 1, at = 1_600, error = invalidParameter, reason = "provider_error_131009" }: {
    attempt?: number
    at?: number
    error?: ProviderGateway.ProviderError
    reason?: string
  } = {}
) => ({ _tag: "RecordDispatchFailed", messageId: MSG, attempt, httpStatus: 400, error, reason, outcome, at }) as const

const notAllowed = (phase: Message.DispatchPhase["_tag"], reason: string) => new Errors.DispatchNotAllowed({ messageId: MSG, phase, reason })
const inFlight = run([request(), start()])
const outcomeUnknown = run([request(), start(), unknownOutcome()])
const dispatchUnknown = run([request(), start(), unknownOutcome(), markUnknown()])

describe("Message decider", () => {
  it("refuses every command but RequestMessage for a message never requested: NotRegistered", () => {
    const commands: ReadonlyArray<Message.MessageCommand> = [
      start(),
      succeed(),
      fail({ _tag: "Final" }),
      unknownOutcome(),
      markUnknown(),
      resolve("resend"),
      observe(observation("sent", 3_000)),
      expire(99_999_999),
      click("c1")
    ]
    assert.strictEqual(new Set(commands.map((c) => c._tag)).size + 1, Message.MessageCommand.members.length)
    for (const command of commands) spec.given([]).when(command).thenFails(new Errors.NotRegistered({ entity: "message", id: MSG }))
  })

  describe("RequestMessage", () => {
    it("records the request and its route decision", () =>
      spec.given([]).when(request()).then([
        Message.MessageRequested.make({
          messageId: MSG,
          channel: PHONE,
          wabaId: WABA,
          to: TO,
          endpoint: "marketing_messages",
          messageType: "template",
          template: { name: "spring_sale", language: "en", category: "MARKETING", ttlSeconds: 86_400 },
          productPolicy: null,
          messageActivitySharing: true,
          clientCallbackData: "client-ref-1",
          campaignId: request().campaignId,
          idempotencyKey: "key-1",
          requestHash: "hash-1",
          requestedBy: "key_abc",
          payload: request().payload,
          at: 1_000
        }),
        Message.MessageRouted.make({
          messageId: MSG,
          route: "marketing_messages",
          reasons: ["mm_api_eligible"],
          warnings: [],
          productPolicy: null,
          ttlSeconds: 86_400,
          at: 1_000
        })
      ]))
    it("passes the product policy on the MM route", () => {
      const events = spec.given([]).when(request({
        productPolicy: "STRICT",
        decision: { _tag: "Routed", route: "marketing_messages", reasons: ["mm_api_eligible"], warnings: [], productPolicy: "STRICT", mmOptionsApply: true }
      })).events()
      assert.deepStrictEqual(events[1], Message.MessageRouted.make({
        messageId: MSG,
        route: "marketing_messages",
        reasons: ["mm_api_eligible"],
        warnings: [],
        productPolicy: "STRICT",
        ttlSeconds: 86_400,
        at: 1_000
      }))
    })
    it("does not carry the TTL or product policy to the Cloud API route", () => {
      const events = spec.given([]).when(request({
        productPolicy: "CLOUD_API_FALLBACK",
        decision: { _tag: "Routed", route: "cloud_api", reasons: ["waba_not_onboarded"], warnings: ["ttl_not_applied_on_cloud_api"], productPolicy: null, mmOptionsApply: false }
      })).events()
      assert.deepStrictEqual(events[1], Message.MessageRouted.make({
        messageId: MSG,
        route: "cloud_api",
        reasons: ["waba_not_onboarded"],
        warnings: ["ttl_not_applied_on_cloud_api"],
        productPolicy: null,
        ttlSeconds: null,
        at: 1_000
      }))
    })
    it("repeated (same idempotency key, so same message id, and same request): nothing new", () =>
      spec.given(accepted).when({ ...request(), at: 5_000 }).thenNothing())
    it("same idempotency key with another request: IdempotencyKeyReused", () =>
      spec.given(accepted).when(request({ requestHash: "other" })).thenFails(new Errors.IdempotencyKeyReused({ messageId: MSG })))
    it("a rejected route records nothing and says why", () =>
      spec.given([]).when(request({ decision: { _tag: "Rejected", reasons: ["waba_suspended", "recipient_opted_out"] } }))
        .thenFails(new Errors.RouteRejected({ reasons: ["waba_suspended", "recipient_opted_out"] })))
  })

  describe("StartDispatch (at most once)", () => {
    it("starts the first attempt on the message's route", () =>
      spec.given(accepted).when(start()).then([Message.DispatchStarted.make({ messageId: MSG, attempt: 1, route: "marketing_messages", at: 1_500 })]))
    it("repeated while the attempt is in flight: refused (the at-most-once guard)", () =>
      spec.given(inFlight).when(start(1, 1_501)).thenFails(notAllowed("InFlight", "not_ready")))
    it("refuses an attempt number that is not the next one", () => spec.given(accepted).when(start(2)).thenFails(notAllowed("Ready", "stale_attempt")))
    it("refuses to start before a retry's notBefore", () => {
      const retrying = run([request(), start(), fail({ _tag: "RetryLater", notBefore: 5_000 }, { error: rateLimited, reason: "rate_limited_130429" })])
      spec.given(retrying).when(start(2, 4_999)).thenFails(notAllowed("Ready", "backing_off"))
      spec.given(retrying).when(start(2, 5_000)).then([Message.DispatchStarted.make({ messageId: MSG, attempt: 2, route: "marketing_messages", at: 5_000 })])
    })
    it("never starts again once the provider accepted", () => spec.given(submitted()).when(start(2, 5_000)).thenFails(notAllowed("Submitted", "not_ready")))
    it("never starts again after an unknown outcome, whatever the attempt number", () => {
      spec.given(outcomeUnknown).when(start(1, 9_000)).thenFails(notAllowed("OutcomeUnknown", "not_ready"))
      spec.given(outcomeUnknown).when(start(2, 9_000)).thenFails(notAllowed("OutcomeUnknown", "not_ready"))
      spec.given(dispatchUnknown).when(start(2, 900_000)).thenFails(notAllowed("DispatchUnknown", "not_ready"))
    })
    it("never starts again after a final failure", () =>
      spec.given(run([request(), start(), fail({ _tag: "Final" })])).when(start(2, 9_000)).thenFails(notAllowed("Failed", "not_ready")))
  })

  describe("RecordDispatchSucceeded", () => {
    const succeeded = Message.DispatchSucceeded.make({ messageId: MSG, attempt: 1, wamid: WAMID, providerStatus: "accepted", at: 2_000 })
    it("records the provider's answer with the wamid", () => {
      spec.given(inFlight).when(succeed()).then([succeeded])
      const m = stateOf([...inFlight, succeeded])
      assert.deepStrictEqual([m.wamid, m.submittedAt, Message.viewOf(m).status], [WAMID, 2_000, "submitted"])
    })
    it("records a late answer after the outcome was thought unknown, also after the window", () => {
      spec.given(outcomeUnknown).when(succeed()).then([succeeded])
      spec.given(dispatchUnknown).when(succeed()).then([succeeded])
    })
    it("records the answer after a webhook already named the message", () =>
      spec.given([...inFlight, ...spec.given(inFlight).when(observe(observation("sent", 1_900))).events()]).when(succeed()).then([succeeded]))
    it("repeated: nothing", () => spec.given(submitted()).when(succeed(1, 2_500)).thenNothing())
    it("refuses an answer when no attempt is in flight", () => spec.given(accepted).when(succeed()).thenFails(notAllowed("Ready", "no_such_attempt_in_flight")))
    it("refuses an answer for another attempt", () => spec.given(inFlight).when(succeed(2)).thenFails(notAllowed("InFlight", "no_such_attempt_in_flight")))
    it("refuses a second answer naming another wamid", () =>
      spec.given(submitted()).when(succeed(1, 2_500, "wamid.other" as typeof WAMID)).thenFails(notAllowed("Submitted", "no_such_attempt_in_flight")))
  })

  describe("RecordDispatchFailed", () => {
    it("a final failure: DispatchFailed (final), and the message is failed with the error", () => {
      const failed = Message.DispatchFailed.make({
        messageId: MSG, attempt: 1, route: "marketing_messages", httpStatus: 400, error: invalidParameter, reason: "provider_error_131009", final: true, notBefore: null, at: 1_600
      })
      spec.given(inFlight).when(fail({ _tag: "Final" })).then([failed])
      const v = view([...inFlight, failed])
      assert.deepStrictEqual([v.status, v.errors, v.timestamps.failedAt], ["failed", [invalidParameter], 1_600])
    })
    it("a retryable failure: DispatchFailed (not final, notBefore), and the next attempt is ready", () => {
      const failed = Message.DispatchFailed.make({
        messageId: MSG, attempt: 1, route: "marketing_messages", httpStatus: 400, error: rateLimited, reason: "rate_limited_130429", final: false, notBefore: 5_000, at: 1_600
      })
      spec.given(inFlight).when(fail({ _tag: "RetryLater", notBefore: 5_000 }, { error: rateLimited, reason: "rate_limited_130429" })).then([failed])
      const m = stateOf([...inFlight, failed])
      assert.deepStrictEqual([m.phase, Message.viewOf(m).status], [{ _tag: "Ready", attempt: 2, notBefore: 5_000 }, "accepted"])
    })
    const rerouteTo = (to: "cloud_api" | "marketing_messages", attempt = 1) =>
      fail({ _tag: "Reroute", to, reason: "not_a_marketing_template" }, { attempt, error: notMarketing, reason: "not_a_marketing_template" })
    it("a re-route: DispatchFailed (not final) and MessageRerouted; the next attempt goes the other way, without the MM options", () => {
      const events = [
        Message.DispatchFailed.make({
          messageId: MSG, attempt: 1, route: "marketing_messages", httpStatus: 400, error: notMarketing, reason: "not_a_marketing_template", final: false, notBefore: null, at: 1_600
        }),
        Message.MessageRerouted.make({ messageId: MSG, from: "marketing_messages", to: "cloud_api", reason: "not_a_marketing_template", at: 1_600 })
      ]
      spec.given(inFlight).when(rerouteTo("cloud_api")).then(events)
      const m = stateOf([...inFlight, ...events])
      assert.deepStrictEqual([m.route, m.ttlSeconds, m.productPolicy, m.phase._tag], ["cloud_api", null, null, "Ready"])
      spec.given([...inFlight, ...events]).when(start(2, 1_700)).then([Message.DispatchStarted.make({ messageId: MSG, attempt: 2, route: "cloud_api", at: 1_700 })])
    })
    it("a re-route to the MM route (131063) takes the client's MM options back", () => {
      const onCloud = run([
        request({
          endpoint: "messages",
          productPolicy: "CLOUD_API_FALLBACK",
          decision: { _tag: "Routed", route: "cloud_api", reasons: ["template_category_unknown"], warnings: [], productPolicy: null, mmOptionsApply: false }
        }),
        start()
      ])
      const events = spec.given(onCloud).when(fail(
        { _tag: "Reroute", to: "marketing_messages", reason: "marketing_disabled_on_cloud_api" },
        { reason: "marketing_disabled_on_cloud_api", error: { code: 131063, title: null, message: "(#131063) Marketing templates disabled for Cloud API", details: null } }
      )).events()
      assert.deepStrictEqual(events[1], Message.MessageRerouted.make({
        messageId: MSG, from: "cloud_api", to: "marketing_messages", reason: "marketing_disabled_on_cloud_api", at: 1_600
      }))
      const m = stateOf([...onCloud, ...events])
      assert.deepStrictEqual([m.route, m.productPolicy, m.ttlSeconds], ["marketing_messages", "CLOUD_API_FALLBACK", 86_400])
    })
    const finalReroute = (attempt: number, route: "marketing_messages" | "cloud_api", at = 1_600) =>
      Message.DispatchFailed.make({
        messageId: MSG, attempt, route, httpStatus: 400, error: notMarketing, reason: "not_a_marketing_template", final: true, notBefore: null, at
      })
    it("never re-routes twice: the second re-route is a final failure", () => {
      const rerouted = run([request(), start(), rerouteTo("cloud_api"), start(2, 1_700)])
      spec.given(rerouted).when(rerouteTo("marketing_messages", 2)).then([finalReroute(2, "cloud_api")])
    })
    it("never re-routes a STRICT message", () =>
      spec.given(run([request({ productPolicy: "STRICT" }), start()])).when(rerouteTo("cloud_api")).then([finalReroute(1, "marketing_messages")]))
    it("a re-route to the route it is already on is a final failure", () => spec.given(inFlight).when(rerouteTo("marketing_messages")).then([finalReroute(1, "marketing_messages")]))
    it("refuses a failure when no attempt is in flight", () => spec.given(accepted).when(fail({ _tag: "Final" })).thenFails(notAllowed("Ready", "no_such_attempt_in_flight")))
    it("refuses a failure for another attempt", () => spec.given(inFlight).when(fail({ _tag: "Final" }, { attempt: 2 })).thenFails(notAllowed("InFlight", "no_such_attempt_in_flight")))
    it("repeated: refused, the attempt is no longer in flight (the first report stands)", () => {
      spec.given(run([request(), start(), fail({ _tag: "Final" })])).when(fail({ _tag: "Final" })).thenFails(notAllowed("Failed", "no_such_attempt_in_flight"))
      spec.given(run([request(), start(), fail({ _tag: "RetryLater", notBefore: 5_000 })])).when(fail({ _tag: "RetryLater", notBefore: 5_000 }))
        .thenFails(notAllowed("Ready", "no_such_attempt_in_flight"))
    })
  })

  describe("RecordDispatchOutcomeUnknown", () => {
    it("records that the provider may have the message", () =>
      spec.given(inFlight).when(unknownOutcome()).then([
        Message.DispatchOutcomeUnknown.make({ messageId: MSG, attempt: 1, reason: "socket hang up", at: 1_600 })
      ]))
    it("repeated, before or after the window: nothing", () => {
      spec.given(outcomeUnknown).when(unknownOutcome(1, 1_700, "again")).thenNothing()
      spec.given(dispatchUnknown).when(unknownOutcome(1, 800_000)).thenNothing()
    })
    it("refuses when no attempt is in flight", () => spec.given(accepted).when(unknownOutcome()).thenFails(notAllowed("Ready", "no_such_attempt_in_flight")))
    it("refuses after the provider's answer was recorded", () =>
      spec.given(submitted()).when(unknownOutcome()).thenFails(notAllowed("Submitted", "no_such_attempt_in_flight")))
    it("refuses for another attempt", () => spec.given(inFlight).when(unknownOutcome(2)).thenFails(notAllowed("InFlight", "no_such_attempt_in_flight")))
  })

  describe("MarkDispatchUnknown", () => {
    it("after the window with no webhook naming the message: dispatch_unknown", () => {
      const marked = Message.DispatchMarkedUnknown.make({ messageId: MSG, at: 700_000 })
      spec.given(outcomeUnknown).when(markUnknown()).then([marked])
      assert.strictEqual(view([...outcomeUnknown, marked]).status, "dispatch_unknown")
    })
    it("repeated: nothing", () => spec.given(dispatchUnknown).when(markUnknown(800_000)).thenNothing())
    it("nothing while the outcome is known (not sent yet, or answered)", () => {
      spec.given(accepted).when(markUnknown()).thenNothing()
      spec.given(inFlight).when(markUnknown()).thenNothing()
      spec.given(submitted()).when(markUnknown()).thenNothing()
    })
    it("nothing once a webhook named the message: it was sent", () => {
      const events = run([request(), start(), unknownOutcome(), observe(observation("sent", 1_700))])
      spec.given(events).when(markUnknown()).thenNothing()
      assert.strictEqual(view(events).status, "sent")
    })
  })

  describe("ResolveDispatch", () => {
    it("resend: DispatchResolved, and a new attempt may start", () => {
      const resolved = Message.DispatchResolved.make({ messageId: MSG, action: "resend", by: "admin", at: 800_000 })
      spec.given(dispatchUnknown).when(resolve("resend")).then([resolved])
      assert.strictEqual(view([...dispatchUnknown, resolved]).status, "accepted")
      spec.given([...dispatchUnknown, resolved]).when(start(2, 800_001)).then([
        Message.DispatchStarted.make({ messageId: MSG, attempt: 2, route: "marketing_messages", at: 800_001 })
      ])
    })
    it("give_up: DispatchResolved, and the message is failed for good", () => {
      const resolved = Message.DispatchResolved.make({ messageId: MSG, action: "give_up", by: "admin", at: 800_000 })
      spec.given(dispatchUnknown).when(resolve("give_up")).then([resolved])
      assert.strictEqual(view([...dispatchUnknown, resolved]).status, "failed")
      spec.given([...dispatchUnknown, resolved]).when(start(2, 800_001)).thenFails(notAllowed("GivenUp", "not_ready"))
    })
    it("refuses a message that is not dispatch_unknown (still inside the window, or answered)", () => {
      spec.given(outcomeUnknown).when(resolve("resend")).thenFails(new Errors.ResolutionNotAllowed({ messageId: MSG, status: "accepted" }))
      spec.given(submitted()).when(resolve("give_up")).thenFails(new Errors.ResolutionNotAllowed({ messageId: MSG, status: "submitted" }))
    })
    it("repeated: refused, the message is no longer dispatch_unknown", () => {
      spec.given(run([request(), start(), unknownOutcome(), markUnknown(), resolve("resend")]))
        .when(resolve("resend", 800_100)).thenFails(new Errors.ResolutionNotAllowed({ messageId: MSG, status: "accepted" }))
      spec.given(run([request(), start(), unknownOutcome(), markUnknown(), resolve("give_up")]))
        .when(resolve("give_up", 800_100)).thenFails(new Errors.ResolutionNotAllowed({ messageId: MSG, status: "failed" }))
    })
  })

  describe("ObserveStatus (the lifecycle join)", () => {
    it("records the observation as it came", () => {
      const o = observation("sent", 3_000, { pricing: mmPricing })
      spec.given(submitted()).when(observe(o)).then([Message.StatusObserved.make({ messageId: MSG, observation: o, at: 9_000 })])
    })
    it("repeated (the same webhook delivered again): nothing", () => {
      const events = run([...submittedCommands(), observe(observation("delivered", 3_000))])
      spec.given(events).when(observe(observation("delivered", 3_000), 9_999)).thenNothing()
    })
    it("in a group, each member's status is its own observation; its repeat is not", () => {
      const group = (participant: string) =>
        observation("read", 3_000, { recipient: "120363025246125486", recipientType: "group", participant })
      const first = Message.StatusObserved.make({ messageId: MSG, observation: group("16505550001"), at: 9_000 })
      spec.given(submitted()).when(observe(group("16505550001"))).then([first])
      spec.given([...submitted(), first]).when(observe(group("16505550002"))).then([
        Message.StatusObserved.make({ messageId: MSG, observation: group("16505550002"), at: 9_000 })
      ])
      spec.given([...submitted(), first]).when(observe(group("16505550001"), 9_500)).thenNothing()
    })
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
    it("shows the webhook's timestamp, never the time the gateway recorded it", () => {
      const v = view(run([...submittedCommands(), observe(observation("sent", 3_000, { pricing: mmPricing }), 9_000)]))
      assert.deepStrictEqual([v.status, v.timestamps.sentAt, v.observedRoute, v.routeMismatch], ["sent", 3_000, "marketing_messages", false])
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
    it("expires an MM-routed message with a TTL not delivered by submittedAt + TTL", () => {
      const events = submitted(2_000)
      spec.given(events).when(expire(2_000 + 86_400_000 - 1)).thenNothing()
      spec.given(events).when(expire(2_000 + 86_400_000)).then([
        Message.MessageExpired.make({ messageId: MSG, deadline: 2_000 + 86_400_000, at: 2_000 + 86_400_000 })
      ])
    })
    it("repeated: nothing", () => {
      const events = run([...submittedCommands(2_000), expire(90_000_000)])
      assert.strictEqual(view(events).status, "expired")
      spec.given(events).when(expire(90_000_001)).thenNothing()
    })
    it("never expires a delivered message", () =>
      spec.given(run([...submittedCommands(2_000), observe(observation("delivered", 3_000))])).when(expire(99_999_999_999)).thenNothing())
    it("never expires a message observed on the Cloud API", () =>
      spec.given(run([...submittedCommands(2_000), observe(observation("sent", 3_000, { pricing: cloudPricing }))])).when(expire(99_999_999_999)).thenNothing())
    it("never expires a message routed to the Cloud API", () =>
      spec.given(submitted(2_000, {
        decision: { _tag: "Routed", route: "cloud_api", reasons: ["waba_not_onboarded"], warnings: ["ttl_not_applied_on_cloud_api"], productPolicy: null, mmOptionsApply: false }
      })).when(expire(99_999_999_999)).thenNothing())
    it("never expires a message the provider has not accepted", () => spec.given(accepted).when(expire(99_999_999_999)).thenNothing())
  })

  describe("AttributeClick", () => {
    it("ties a click to the message", () =>
      spec.given(submitted()).when(click("c1")).then([Message.ClickAttributed.make({ messageId: MSG, clickId: "c1", at: 5_000 })]))
    it("repeated: nothing; another click is recorded", () => {
      const events = run([...submittedCommands(), click("c1")])
      assert.deepStrictEqual(stateOf(events).clicks, ["c1"])
      spec.given(events).when(click("c1", 6_000)).thenNothing()
      spec.given(events).when(click("c2", 6_000)).then([Message.ClickAttributed.make({ messageId: MSG, clickId: "c2", at: 6_000 })])
    })
  })
})

describe("buildProviderBody", () => {
  it("sends the gateway's message id as biz_opaque_callback_data and the MM options only on the MM route", async () => {
    const { buildProviderBody } = await import("../src/dispatch/provider-gateway.js")
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
  it("names the user by recipient (the BSUID) when the client did", async () => {
    const { buildProviderBody } = await import("../src/dispatch/provider-gateway.js")
    const byBsuid = stateOf(run([request({
      to: "US.13491208655302741918" as Ids.UserRef,
      payload: { recipient: "US.13491208655302741918", type: "template" },
      decision: { _tag: "Routed", route: "marketing_messages", reasons: ["mm_api_eligible"], warnings: ["bsuid_only_no_delivery_optimization"], productPolicy: null, mmOptionsApply: true }
    })]))
    assert.deepStrictEqual(buildProviderBody(byBsuid), {
      recipient: "US.13491208655302741918", type: "template", messaging_product: "whatsapp", biz_opaque_callback_data: MSG, message_activity_sharing: true
    })
  })
})
