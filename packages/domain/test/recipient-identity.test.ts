import { assert, describe, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import fc from "fast-check"
import { CommandHandler, Decider, Ids, InMemoryEventStore, Recipient, SendMessage, Streams } from "../src/index.js"
import { deciderSpec, PROPERTY_TEST, propertySettings } from "../testing/index.js"
import { BM, PHONE, TO, WABA } from "./fixtures.js"

// The identifiers of the pywa fixtures (a BSUID and the parent BSUID of a managed portfolio).
const BSUID = "US.13491208655302741918" as Ids.Bsuid
const PARENT = "US.ENT.11815799212886844830" as Ids.Bsuid

describe("Ids.Bsuid and Ids.UserRef", () => {
  it("a BSUID and a parent BSUID are BSUIDs; a number is not", () => {
    assert.isTrue(Ids.isBsuid(BSUID))
    assert.isTrue(Ids.isBsuid(PARENT))
    assert.isFalse(Ids.isBsuid(TO))
    assert.isFalse(Ids.isBsuid("us.123"))
    assert.isFalse(Ids.isBsuid("US."))
  })
})

describe("Recipient decider: identity links (docs/domain.md#recipients)", () => {
  const spec = deciderSpec(Recipient.RecipientDecider)
  const link = { _tag: "LinkIdentity", wabaId: WABA, recipient: TO, sameAs: BSUID, source: "status", at: 5 } as const
  const linked = Recipient.RecipientIdentityLinked.make({ wabaId: WABA, recipient: TO, sameAs: BSUID, source: "status", at: 5 })
  it("records a link once", () => {
    spec.given([]).when(link).then([linked])
    spec.given([linked]).when({ ...link, source: "contacts", at: 9 }).thenNothing()
  })
  it("a link to itself is nothing", () => spec.given([]).when({ ...link, sameAs: TO }).thenNothing())
  it("the state names the linked identifiers", () =>
    assert.deepStrictEqual(Decider.fold(Recipient.RecipientDecider, [linked]).sameAs, [BSUID]))
})

// ---- invariant: opt-outs and cooldowns hold for the user, whichever identifier names them ---------

const IDS: ReadonlyArray<Ids.UserRef> = ["16505551234", "16505550000", BSUID, PARENT, "BR.98765"] as ReadonlyArray<string> as ReadonlyArray<Ids.UserRef>
const anId = fc.constantFrom(...IDS)
const time = fc.integer({ min: 0, max: 50 }).map((n) => n * 1_000)

type Fact =
  | { readonly _tag: "preference"; readonly id: Ids.UserRef; readonly optedOut: boolean; readonly occurredAt: number }
  | { readonly _tag: "cooldown"; readonly id: Ids.UserRef; readonly failedAt: number }
  | { readonly _tag: "link"; readonly a: Ids.UserRef; readonly b: Ids.UserRef }

const fact: fc.Arbitrary<Fact> = fc.oneof(
  fc.record({ _tag: fc.constant("preference" as const), id: anId, optedOut: fc.boolean(), occurredAt: time }),
  fc.record({ _tag: fc.constant("cooldown" as const), id: anId, failedAt: time }),
  fc.record({ _tag: fc.constant("link" as const), a: anId, b: anId })
)

const preferenceOf = (wabaId: Ids.WabaId, recipient: Ids.UserRef, f: Fact): Recipient.RecipientCommand | null =>
  f._tag === "preference"
    ? { _tag: "RecordMarketingPreference", wabaId, recipient, optedOut: f.optedOut, source: "user_preferences", occurredAt: f.occurredAt, at: 1 }
    : f._tag === "cooldown"
    ? { _tag: "StartMarketingCooldown", wabaId, recipient, failedAt: f.failedAt, at: 1 }
    : null

/** Decide and evolve one command on a state, as a command handler does. */
const step = (state: Recipient.RecipientState, command: Recipient.RecipientCommand): Recipient.RecipientState => {
  const decided = Recipient.decide(command, state)
  return Either.isRight(decided) ? decided.right.reduce(Recipient.evolve, state) : state
}

describe("invariant: a preference or a cooldown holds for every identifier of the user", () => {
  it("the streams of linked identifiers, combined, say what one stream given every fact says", PROPERTY_TEST, () => {
    fc.assert(
      fc.property(fc.array(fact, { maxLength: 30 }), (facts) => {
        // Each fact on the stream of the identifier it names; a link on both streams.
        const streams = new Map<string, Recipient.RecipientState>(IDS.map((id) => [id, Recipient.initialState()]))
        for (const f of facts) {
          if (f._tag === "link") {
            streams.set(f.a, step(streams.get(f.a)!, { _tag: "LinkIdentity", wabaId: WABA, recipient: f.a, sameAs: f.b, source: "status", at: 1 }))
            streams.set(f.b, step(streams.get(f.b)!, { _tag: "LinkIdentity", wabaId: WABA, recipient: f.b, sameAs: f.a, source: "status", at: 1 }))
          } else {
            streams.set(f.id, step(streams.get(f.id)!, preferenceOf(WABA, f.id, f)!))
          }
        }
        for (const start of IDS) {
          // What the send path reads: the stream of the identifier used, then every one linked to it.
          const seen = new Set<string>([start])
          const queue: Array<string> = [start]
          const states: Array<Recipient.RecipientState> = []
          while (queue.length > 0) {
            const state = streams.get(queue.shift()!)!
            states.push(state)
            for (const other of state.sameAs) if (!seen.has(other)) (seen.add(other), queue.push(other))
          }
          const combined = Recipient.combine(states)
          // The model: one stream for the whole group, given its facts in the order they came.
          const one = facts.reduce((state, f) => {
            if (f._tag === "link" || !seen.has(f.id)) return state
            return step(state, preferenceOf(WABA, start, f)!)
          }, Recipient.initialState())
          assert.deepStrictEqual(
            [combined.optedOut, combined.preferenceAt, combined.cooldownUntil],
            [one.optedOut, one.preferenceAt, one.cooldownUntil]
          )
        }
      }),
      propertySettings(500)
    )
  })
})

// ---- the send path reads the user's every identifier ------------------------------------------

const setup = Effect.gen(function*() {
  yield* CommandHandler.handleCommand(Streams.BusinessManagerStream, Streams.streamId.businessManager(BM), { _tag: "RegisterBusinessManager", businessManagerId: BM, name: "Acme", at: 1 })
  yield* CommandHandler.handleCommand(Streams.WabaStream, Streams.streamId.waba(WABA), { _tag: "RegisterWaba", wabaId: WABA, businessManagerId: BM, name: null, at: 1 })
  yield* CommandHandler.handleCommand(Streams.WabaStream, Streams.streamId.waba(WABA), { _tag: "RecordWabaTermsSigned", wabaId: WABA, ownerBusinessId: BM, signedAt: 2, at: 2 })
  yield* CommandHandler.handleCommand(Streams.ChannelStream, Streams.streamId.channel(PHONE), {
    _tag: "RegisterChannel", phoneNumberId: PHONE, wabaId: WABA, displayPhoneNumber: "+1 555", provider: "sandbox", credentialsRef: "c1", throughputMps: 80, routing: "inherit", at: 1
  })
  yield* CommandHandler.handleCommand(Streams.TemplateStream, Streams.streamId.template(WABA, "spring_sale", "en"), {
    _tag: "RecordTemplate", wabaId: WABA, name: "spring_sale", language: "en", category: "MARKETING", ttlSeconds: null, at: 1
  })
})

const send = (id: string, to: Ids.UserRef, now = 100) =>
  SendMessage.sendMessage({
    messageId: id as Ids.MessageId,
    channel: PHONE,
    endpoint: "messages",
    to,
    messageType: "template",
    template: { name: "spring_sale", language: "en" },
    productPolicy: null,
    messageActivitySharing: null,
    clientCallbackData: null,
    campaignId: null,
    idempotencyKey: null,
    requestHash: id,
    requestedBy: "admin",
    payload: {},
    now
  }).pipe(Effect.either)

const linkBoth = (a: Ids.UserRef, b: Ids.UserRef) =>
  Effect.all([
    CommandHandler.handleCommand(Streams.RecipientStream, Streams.streamId.recipient(WABA, a), { _tag: "LinkIdentity", wabaId: WABA, recipient: a, sameAs: b, source: "contacts", at: 20 }),
    CommandHandler.handleCommand(Streams.RecipientStream, Streams.streamId.recipient(WABA, b), { _tag: "LinkIdentity", wabaId: WABA, recipient: b, sameAs: a, source: "contacts", at: 20 })
  ])

const reasonsOf = (result: Either.Either<SendMessage.SendMessageResult, unknown>) =>
  Either.isRight(result)
    ? [result.right.message.route, result.right.message.warnings]
    : ["rejected", (result.left as { reasons?: unknown }).reasons]

describe("sendMessage by BSUID", () => {
  it.effect("an MM message by BSUID alone is routed with the warning; by number it is not", () =>
    Effect.gen(function*() {
      yield* setup
      assert.deepStrictEqual(reasonsOf(yield* send("m1", BSUID)), ["marketing_messages", ["bsuid_only_no_delivery_optimization"]])
      assert.deepStrictEqual(reasonsOf(yield* send("m2", TO)), ["marketing_messages", []])
    }).pipe(Effect.provide(InMemoryEventStore.layer)))

  it.effect("a number's opt-out holds for its BSUID once they are linked, whichever came first", () =>
    Effect.gen(function*() {
      yield* setup
      yield* CommandHandler.handleCommand(Streams.RecipientStream, Streams.streamId.recipient(WABA, TO), {
        _tag: "RecordMarketingPreference", wabaId: WABA, recipient: TO, optedOut: true, source: "error_131050", occurredAt: 10, at: 10
      })
      assert.deepStrictEqual(reasonsOf(yield* send("m1", BSUID)), ["marketing_messages", ["bsuid_only_no_delivery_optimization"]])
      yield* linkBoth(TO, BSUID)
      assert.deepStrictEqual(reasonsOf(yield* send("m2", BSUID)), ["rejected", ["recipient_opted_out"]])
    }).pipe(Effect.provide(InMemoryEventStore.layer)))

  it.effect("a BSUID's 131049 cooldown holds for the number, through the parent BSUID", () =>
    Effect.gen(function*() {
      yield* setup
      yield* linkBoth(TO, PARENT)
      yield* linkBoth(PARENT, BSUID)
      yield* CommandHandler.handleCommand(Streams.RecipientStream, Streams.streamId.recipient(WABA, BSUID), {
        _tag: "StartMarketingCooldown", wabaId: WABA, recipient: BSUID, failedAt: 50, at: 50
      })
      assert.deepStrictEqual(reasonsOf(yield* send("m1", TO)), ["rejected", ["recipient_marketing_cooldown"]])
      assert.deepStrictEqual(reasonsOf(yield* send("m2", PARENT)), ["rejected", ["recipient_marketing_cooldown"]])
    }).pipe(Effect.provide(InMemoryEventStore.layer)))
})
