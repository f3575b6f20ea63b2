import { assert, describe, it } from "@effect/vitest"
import { Effect, Either, Layer } from "effect"
import {
  Classify,
  CommandHandler,
  EventStore,
  type Ids,
  InMemoryEventStore,
  Reactions,
  Reroute,
  SendMessage,
  Streams
} from "../src/index.js"
import { BM, PHONE, TO, WABA } from "./fixtures.js"

const setup = Effect.gen(function*() {
  yield* CommandHandler.handleCommand(Streams.BusinessManagerStream, Streams.streamId.businessManager(BM), { _tag: "RegisterBusinessManager", businessManagerId: BM, name: "Acme", at: 1 })
  yield* CommandHandler.handleCommand(Streams.WabaStream, Streams.streamId.waba(WABA), { _tag: "RegisterWaba", wabaId: WABA, businessManagerId: BM, name: null, at: 1 })
  yield* CommandHandler.handleCommand(Streams.ChannelStream, Streams.streamId.channel(PHONE), {
    _tag: "RegisterChannel", phoneNumberId: PHONE, wabaId: WABA, displayPhoneNumber: "+1 555", provider: "sandbox", credentialsRef: "c1", throughputMps: 80, routing: "inherit", at: 1
  })
  yield* CommandHandler.handleCommand(Streams.TemplateStream, Streams.streamId.template(WABA, "spring_sale", "en"), {
    _tag: "RecordTemplate", wabaId: WABA, name: "spring_sale", language: "en", category: "MARKETING", ttlSeconds: null, at: 1
  })
})

const input = (overrides: Partial<SendMessage.SendMessageInput> = {}): SendMessage.SendMessageInput => ({
  messageId: "m1" as Ids.MessageId,
  channel: PHONE,
  endpoint: "messages",
  to: TO,
  messageType: "template",
  template: { name: "spring_sale", language: "en" },
  productPolicy: null,
  messageActivitySharing: null,
  clientCallbackData: null,
  campaignId: null,
  idempotencyKey: "k1",
  requestHash: "h1",
  requestedBy: "admin",
  payload: {},
  now: 10,
  ...overrides
})

describe("sendMessage (the application's send use case)", () => {
  it.effect("routes a MARKETING template of a WABA not onboarded to the Cloud API, then to the MM API once the WABA signed", () =>
    Effect.gen(function*() {
      yield* setup
      const first = yield* SendMessage.sendMessage(input())
      assert.deepStrictEqual([first.created, first.message.route, first.message.reasons], [true, "cloud_api", ["waba_not_onboarded"]])
      yield* CommandHandler.handleCommand(Streams.WabaStream, Streams.streamId.waba(WABA), { _tag: "RecordWabaTermsSigned", wabaId: WABA, ownerBusinessId: BM, signedAt: 5, at: 6 })
      const second = yield* SendMessage.sendMessage(input({ messageId: "m2" as Ids.MessageId, idempotencyKey: "k2" }))
      assert.deepStrictEqual([second.message.route, second.message.reasons], ["marketing_messages", ["mm_api_eligible"]])
      // The category and the time of the fact it comes from (the operator's, at 1).
      assert.deepStrictEqual(second.message.request.template, { name: "spring_sale", language: "en", category: "MARKETING", ttlSeconds: null, categoryAt: 1 })
    }).pipe(Effect.provide(InMemoryEventStore.layer)))

  it.effect("an idempotent repeat answers with the original message and records nothing", () =>
    Effect.gen(function*() {
      yield* setup
      const first = yield* SendMessage.sendMessage(input())
      // The WABA is onboarded meanwhile: the repeat still answers with the first decision.
      yield* CommandHandler.handleCommand(Streams.WabaStream, Streams.streamId.waba(WABA), { _tag: "RecordWabaTermsSigned", wabaId: WABA, ownerBusinessId: BM, signedAt: 5, at: 6 })
      const again = yield* SendMessage.sendMessage(input({ now: 20 }))
      assert.isFalse(again.created)
      assert.deepStrictEqual(again.message, first.message)
      const reused = yield* Effect.either(SendMessage.sendMessage(input({ requestHash: "other" })))
      assert.isTrue(Either.isLeft(reused) && reused.left._tag === "IdempotencyKeyReused")
    }).pipe(Effect.provide(InMemoryEventStore.layer)))

  it.effect("an unknown channel is NotRegistered; a suspended WABA is RouteRejected", () =>
    Effect.gen(function*() {
      const unknown = yield* Effect.either(SendMessage.sendMessage(input()))
      assert.isTrue(Either.isLeft(unknown) && unknown.left._tag === "NotRegistered")
      yield* setup
      yield* CommandHandler.handleCommand(Streams.WabaStream, Streams.streamId.waba(WABA), { _tag: "RecordSuspension", wabaId: WABA, kind: "disabled", occurredAt: 5, expiresAt: null, at: 6 })
      const rejected = yield* Effect.either(SendMessage.sendMessage(input()))
      assert.isTrue(Either.isLeft(rejected) && rejected.left._tag === "RouteRejected")
    }).pipe(Effect.provide(InMemoryEventStore.layer)))
})

describe("a template refused as not marketing (docs/domain.md#templates: record the refusal, re-route to cloud_api)", () => {
  /** What the dispatcher does with a provider failure: classify, ask the policy, record, react. */
  const dispatchFails = (messageId: Ids.MessageId, outcome: Classify.ProviderOutcome, now: number) =>
    Effect.gen(function*() {
      const id = Streams.streamId.message(messageId)
      const started = yield* CommandHandler.handleCommand(Streams.MessageStream, id, { _tag: "StartDispatch", messageId, attempt: 1, at: now - 1 })
      if (started.state._tag !== "Requested") return yield* Effect.die("not requested")
      const message = started.state.message
      const classification = Classify.classifyProviderOutcome(outcome, message.route)
      if (classification._tag !== "Reroute") return yield* Effect.die(`expected a re-route, got ${classification._tag}`)
      const context = yield* SendMessage.loadRouteContext({ channel: message.request.channel, to: message.request.to, template: message.request.template, now })
      const decided = Reroute.decideReroute(classification, message, context)
      const failed = yield* CommandHandler.handleCommand(Streams.MessageStream, id, {
        _tag: "RecordDispatchFailed",
        messageId,
        attempt: 1,
        httpStatus: outcome._tag === "HttpError" ? outcome.status : null,
        error: outcome._tag === "HttpError" ? outcome.error : null,
        reason: decided.reason,
        outcome: decided.outcome,
        at: now
      })
      if (failed.state._tag !== "Requested") return yield* Effect.die("not requested")
      for (const event of failed.events) {
        for (const reaction of Reactions.reactionsTo(event, failed.state.message)) {
          if (reaction.stream === "Template") yield* CommandHandler.handleCommand(Streams.TemplateStream, reaction.streamId, reaction.command)
        }
      }
      return failed
    })

  const notMarketing: Classify.ProviderOutcome = {
    _tag: "HttpError",
    status: 400,
    error: { code: 131055, title: null, message: "(#131055) Method not allowed", details: "Only marketing template messages are supported" },
    retryAfterMs: null
  }

  it.effect("the failing message goes to the Cloud API, later ones go there directly, until the category is recorded again", () =>
    Effect.gen(function*() {
      yield* setup
      yield* CommandHandler.handleCommand(Streams.WabaStream, Streams.streamId.waba(WABA), { _tag: "RecordWabaTermsSigned", wabaId: WABA, ownerBusinessId: BM, signedAt: 5, at: 6 })
      const first = yield* SendMessage.sendMessage(input())
      assert.strictEqual(first.message.route, "marketing_messages")

      const failed = yield* dispatchFails("m1" as Ids.MessageId, notMarketing, 100)
      assert.deepStrictEqual(failed.events.map((e) => e._tag), ["DispatchFailed", "MessageRerouted"])
      assert.strictEqual(failed.state._tag === "Requested" && failed.state.message.route, "cloud_api")

      const second = yield* SendMessage.sendMessage(input({ messageId: "m2" as Ids.MessageId, idempotencyKey: "k2", now: 200 }))
      assert.deepStrictEqual([second.message.route, second.message.reasons], ["cloud_api", ["template_not_marketing_per_provider"]])
      const explicit = yield* Effect.either(SendMessage.sendMessage(input({ messageId: "m3" as Ids.MessageId, idempotencyKey: "k3", endpoint: "marketing_messages", now: 200 })))
      assert.isTrue(Either.isLeft(explicit) && explicit.left._tag === "RouteRejected" && explicit.left.reasons.includes("not_a_marketing_template"))

      // The operator confirms the category (say, after an appeal): MM route again.
      yield* CommandHandler.handleCommand(Streams.TemplateStream, Streams.streamId.template(WABA, "spring_sale", "en"), {
        _tag: "RecordTemplate", wabaId: WABA, name: "spring_sale", language: "en", category: "MARKETING", ttlSeconds: null, at: 300
      })
      const fourth = yield* SendMessage.sendMessage(input({ messageId: "m4" as Ids.MessageId, idempotencyKey: "k4", now: 400 }))
      assert.deepStrictEqual([fourth.message.route, fourth.message.reasons], ["marketing_messages", ["mm_api_eligible"]])
    }).pipe(Effect.provide(InMemoryEventStore.layer)))
})

describe("handleCommand", () => {
  it.effect("decides again on the fresh state after losing a version race", () =>
    Effect.gen(function*() {
      const inner = (yield* InMemoryEventStore.make).eventStore
      let conflicts = 1
      const racing = EventStore.EventStore.of({
        ...inner,
        append: (stream, expected, events) => {
          if (conflicts-- > 0) {
            // Another writer registers the BM first; our append then conflicts.
            return inner.append(stream, "no_stream", [{ _tag: "BusinessManagerRegistered", businessManagerId: BM, name: "Other", via: "operator", at: 1 }]).pipe(
              Effect.zipRight(Effect.fail(new EventStore.VersionConflict({ streamId: stream, expected, actual: 1 })))
            )
          }
          return inner.append(stream, expected, events)
        }
      })
      const result = yield* CommandHandler.handleCommand(Streams.BusinessManagerStream, Streams.streamId.businessManager(BM), {
        _tag: "RegisterBusinessManager", businessManagerId: BM, name: "Acme", at: 2
      }).pipe(Effect.provide(Layer.succeed(EventStore.EventStore, racing)))
      // On the fresh state the BM exists: the decision is now a rename.
      assert.deepStrictEqual(result.events.map((e) => e._tag), ["BusinessManagerRenamed"])
      assert.strictEqual(result.version, 2)
    }))

  it.effect("a command with nothing to do appends nothing", () =>
    Effect.gen(function*() {
      yield* CommandHandler.handleCommand(Streams.BusinessManagerStream, Streams.streamId.businessManager(BM), { _tag: "DiscoverBusinessManager", businessManagerId: BM, at: 1 })
      const again = yield* CommandHandler.handleCommand(Streams.BusinessManagerStream, Streams.streamId.businessManager(BM), { _tag: "DiscoverBusinessManager", businessManagerId: BM, at: 2 })
      assert.deepStrictEqual([again.events.length, again.version], [0, 1])
      const store = yield* EventStore.EventStore
      assert.strictEqual((yield* store.readAll(0, 10)).length, 1)
    }).pipe(Effect.provide(InMemoryEventStore.layer)))
})
