import { assert, describe, it } from "@effect/vitest"
import { Effect, Either, Layer } from "effect"
import {
  BusinessManagerStream,
  ChannelStream,
  EventStore,
  handleCommand,
  InMemoryEventStore,
  makeInMemoryEventStore,
  type MessageId,
  sendMessage,
  type SendMessageInput,
  streamId,
  TemplateStream,
  VersionConflict,
  WabaStream
} from "../src/index.js"
import { BM, PHONE, TO, WABA } from "./fixtures.js"

const setup = Effect.gen(function*() {
  yield* handleCommand(BusinessManagerStream, streamId.businessManager(BM), { _tag: "RegisterBusinessManager", businessManagerId: BM, name: "Acme", at: 1 })
  yield* handleCommand(WabaStream, streamId.waba(WABA), { _tag: "RegisterWaba", wabaId: WABA, businessManagerId: BM, name: null, at: 1 })
  yield* handleCommand(ChannelStream, streamId.channel(PHONE), {
    _tag: "RegisterChannel", phoneNumberId: PHONE, wabaId: WABA, displayPhoneNumber: "+1 555", provider: "sandbox", credentialsRef: "c1", throughputMps: 80, routing: "inherit", at: 1
  })
  yield* handleCommand(TemplateStream, streamId.template(WABA, "spring_sale", "en"), {
    _tag: "RecordTemplate", wabaId: WABA, name: "spring_sale", language: "en", category: "MARKETING", ttlSeconds: null, at: 1
  })
})

const input = (overrides: Partial<SendMessageInput> = {}): SendMessageInput => ({
  messageId: "m1" as MessageId,
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
      const first = yield* sendMessage(input())
      assert.deepStrictEqual([first.created, first.message.route, first.message.reasons], [true, "cloud_api", ["waba_not_onboarded"]])
      yield* handleCommand(WabaStream, streamId.waba(WABA), { _tag: "RecordWabaTermsSigned", wabaId: WABA, ownerBusinessId: BM, signedAt: 5, at: 6 })
      const second = yield* sendMessage(input({ messageId: "m2" as MessageId, idempotencyKey: "k2" }))
      assert.deepStrictEqual([second.message.route, second.message.reasons], ["marketing_messages", ["mm_api_eligible"]])
      assert.deepStrictEqual(second.message.request.template, { name: "spring_sale", language: "en", category: "MARKETING", ttlSeconds: null })
    }).pipe(Effect.provide(InMemoryEventStore)))

  it.effect("an idempotent repeat answers with the original message and records nothing", () =>
    Effect.gen(function*() {
      yield* setup
      const first = yield* sendMessage(input())
      // The WABA is onboarded meanwhile: the repeat still answers with the first decision.
      yield* handleCommand(WabaStream, streamId.waba(WABA), { _tag: "RecordWabaTermsSigned", wabaId: WABA, ownerBusinessId: BM, signedAt: 5, at: 6 })
      const again = yield* sendMessage(input({ now: 20 }))
      assert.isFalse(again.created)
      assert.deepStrictEqual(again.message, first.message)
      const reused = yield* Effect.either(sendMessage(input({ requestHash: "other" })))
      assert.isTrue(Either.isLeft(reused) && reused.left._tag === "IdempotencyKeyReused")
    }).pipe(Effect.provide(InMemoryEventStore)))

  it.effect("an unknown channel is NotRegistered; a suspended WABA is RouteRejected", () =>
    Effect.gen(function*() {
      const unknown = yield* Effect.either(sendMessage(input()))
      assert.isTrue(Either.isLeft(unknown) && unknown.left._tag === "NotRegistered")
      yield* setup
      yield* handleCommand(WabaStream, streamId.waba(WABA), { _tag: "RecordSuspension", wabaId: WABA, kind: "disabled", occurredAt: 5, expiresAt: null, at: 6 })
      const rejected = yield* Effect.either(sendMessage(input()))
      assert.isTrue(Either.isLeft(rejected) && rejected.left._tag === "RouteRejected")
    }).pipe(Effect.provide(InMemoryEventStore)))
})

describe("handleCommand", () => {
  it.effect("decides again on the fresh state after losing a version race", () =>
    Effect.gen(function*() {
      const inner = yield* makeInMemoryEventStore
      let conflicts = 1
      const racing = EventStore.of({
        ...inner,
        append: (stream, expected, events) => {
          if (conflicts-- > 0) {
            // Another writer registers the BM first; our append then conflicts.
            return inner.append(stream, "no_stream", [{ _tag: "BusinessManagerRegistered", businessManagerId: BM, name: "Other", via: "operator", at: 1 }]).pipe(
              Effect.zipRight(Effect.fail(new VersionConflict({ streamId: stream, expected, actual: 1 })))
            )
          }
          return inner.append(stream, expected, events)
        }
      })
      const result = yield* handleCommand(BusinessManagerStream, streamId.businessManager(BM), {
        _tag: "RegisterBusinessManager", businessManagerId: BM, name: "Acme", at: 2
      }).pipe(Effect.provide(Layer.succeed(EventStore, racing)))
      // On the fresh state the BM exists: the decision is now a rename.
      assert.deepStrictEqual(result.events.map((e) => e._tag), ["BusinessManagerRenamed"])
      assert.strictEqual(result.version, 2)
    }))

  it.effect("a command with nothing to do appends nothing", () =>
    Effect.gen(function*() {
      yield* handleCommand(BusinessManagerStream, streamId.businessManager(BM), { _tag: "DiscoverBusinessManager", businessManagerId: BM, at: 1 })
      const again = yield* handleCommand(BusinessManagerStream, streamId.businessManager(BM), { _tag: "DiscoverBusinessManager", businessManagerId: BM, at: 2 })
      assert.deepStrictEqual([again.events.length, again.version], [0, 1])
      const store = yield* EventStore
      assert.strictEqual((yield* store.readAll(0, 10)).length, 1)
    }).pipe(Effect.provide(InMemoryEventStore)))
})
