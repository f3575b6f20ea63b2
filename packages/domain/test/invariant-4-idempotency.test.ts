import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import { Decider, type Events, Streams } from "../src/index.js"
import { PROPERTY_TEST, propertySettings } from "../testing/index.js"
import { BM, MSG, PHONE, TO, WABA } from "./fixtures.js"
import { mmPricing, observation, request } from "./message-builders.js"

/**
 * Invariant 4 (docs/invariants.md#invariant-4): replaying any command sequence with duplicates yields the
 * same events as without them. Webhook facts may be repeated at any later point (Meta retries for days);
 * commands of the operator and the worker are repeated right away (a retried request).
 */
type AnyKind = Streams.StreamKind<any, Events.DomainEvent, any, unknown>
interface Routed {
  readonly kind: AnyKind
  readonly stream: string
  readonly command: { readonly _tag: string }
  /** A fact from a webhook: its duplicate may come any time later. */
  readonly fact: boolean
}

const route = <C extends { readonly _tag: string }>(
  kind: Streams.StreamKind<C, any, any, unknown>,
  stream: string,
  command: C,
  fact: boolean
): Routed =>
  Object.assign({ kind: kind as AnyKind, stream, command, fact }, {
    // Counterexamples print as the commands themselves.
    [fc.toStringMethod]: () => `${fact ? "fact " : ""}${JSON.stringify(command)}`
  })

const tmpl = { wabaId: WABA, name: "spring_sale", language: "en" }
const t = fc.integer({ min: 1, max: 50 }).map((n) => n * 1_000)

const command: fc.Arbitrary<Routed> = fc.oneof(
  t.map((at) => route(Streams.BusinessManagerStream, Streams.streamId.businessManager(BM), { _tag: "RecordBusinessTermsSigned", businessManagerId: BM, signedAt: at, at }, true)),
  t.map((at) => route(Streams.BusinessManagerStream, Streams.streamId.businessManager(BM), { _tag: "DiscoverBusinessManager", businessManagerId: BM, at }, true)),
  t.map((at) => route(Streams.WabaStream, Streams.streamId.waba(WABA), { _tag: "RecordWabaTermsSigned", wabaId: WABA, ownerBusinessId: BM, signedAt: at, at }, true)),
  fc.tuple(t, fc.constantFrom("disabled", "partner_removed", "account_deleted")).map(([at, kind]) =>
    route(Streams.WabaStream, Streams.streamId.waba(WABA), { _tag: "RecordSuspension", wabaId: WABA, kind, occurredAt: at, expiresAt: null, at }, true)),
  fc.tuple(t, fc.constantFrom("disabled", "partner_removed")).map(([at, kind]) =>
    route(Streams.WabaStream, Streams.streamId.waba(WABA), { _tag: "RecordReinstatement", wabaId: WABA, kind, occurredAt: at, at }, true)),
  // A reaction of the worker, repeated when it retries.
  t.map((at) => route(Streams.WabaStream, Streams.streamId.waba(WABA), { _tag: "RecordTermsNotAccepted", wabaId: WABA, errorCode: 131055, details: null, at }, false)),
  fc.tuple(t, fc.constantFrom("onboarded", "not_onboarded", "suspended")).map(([at, status]) =>
    route(Streams.WabaStream, Streams.streamId.waba(WABA), { _tag: "SetMmStatusManually", wabaId: WABA, status, reason: null, at }, false)),
  fc.tuple(t, fc.constantFrom("MARKETING", "UTILITY")).map(([at, category]) =>
    route(Streams.TemplateStream, Streams.streamId.template(WABA, tmpl.name, tmpl.language), { _tag: "RecordCategoryChange", ...tmpl, previousCategory: null, newCategory: category, occurredAt: at, at }, true)),
  fc.tuple(t, fc.constantFrom("APPROVED", "PAUSED"), fc.constantFrom("MARKETING", "UTILITY", null)).map(([at, status, category]) =>
    route(Streams.TemplateStream, Streams.streamId.template(WABA, tmpl.name, tmpl.language), { _tag: "RecordTemplateStatus", ...tmpl, status, reason: null, category, occurredAt: at, at }, true)),
  t.map((at) =>
    route(Streams.TemplateStream, Streams.streamId.template(WABA, tmpl.name, tmpl.language), { _tag: "RecordImpendingRecategorization", ...tmpl, currentCategory: "UTILITY", correctCategory: "MARKETING", effectiveAt: null, occurredAt: at, at }, true)),
  fc.tuple(t, fc.constantFrom(131055, 134100), fc.option(t, { nil: null })).map(([at, errorCode, routedOnCategoryAt]) =>
    route(Streams.TemplateStream, Streams.streamId.template(WABA, tmpl.name, tmpl.language), { _tag: "RecordRefusedAsNotMarketing", ...tmpl, errorCode, routedOnCategoryAt, occurredAt: at, at }, true)),
  // A pass of the worker over Meta's template list, repeated when it retries.
  fc.tuple(t, fc.constantFrom("MARKETING", "UTILITY", null), fc.constantFrom("APPROVED", "PAUSED", null), fc.constantFrom(43_200, null)).map(([at, category, status, ttlSeconds]) =>
    route(Streams.TemplateStream, Streams.streamId.template(WABA, tmpl.name, tmpl.language), { _tag: "RecordMetaTemplate", ...tmpl, category, status, ttlSeconds, readAt: at, at }, false)),
  fc.tuple(t, fc.constantFrom(43_200, 86_400, null)).map(([at, ttlSeconds]) =>
    route(Streams.TemplateStream, Streams.streamId.template(WABA, tmpl.name, tmpl.language), { _tag: "RecordTemplate", ...tmpl, category: "MARKETING", ttlSeconds, at }, false)),
  fc.tuple(t, fc.boolean()).map(([at, optedOut]) =>
    route(Streams.RecipientStream, Streams.streamId.recipient(WABA, TO), { _tag: "RecordMarketingPreference", wabaId: WABA, recipient: TO, optedOut, source: "user_preferences", occurredAt: at, at }, true)),
  t.map((at) => route(Streams.RecipientStream, Streams.streamId.recipient(WABA, TO), { _tag: "StartMarketingCooldown", wabaId: WABA, recipient: TO, failedAt: at, at }, true)),
  fc.tuple(t, fc.constantFrom("c1", "c2"), fc.constantFrom("marketing_messages_link_click", "landing_page_view")).map(([at, clickId, actionType]) =>
    route(Streams.UserActionStream, Streams.streamId.userAction(PHONE, actionType, clickId, null, at), { _tag: "RecordUserAction", channel: PHONE, actionType, clickId, trackingToken: null, component: "CTA", productId: null, occurredAt: at, at }, true)),
  fc.tuple(t, fc.constantFrom("sent", "delivered", "read", "failed")).map(([at, status]) =>
    route(Streams.MessageStream, Streams.streamId.message(MSG), { _tag: "ObserveStatus", messageId: MSG, observation: observation(status, at, { pricing: status === "read" ? null : mmPricing }), at }, true)),
  t.map((at) => route(Streams.MessageStream, Streams.streamId.message(MSG), { _tag: "StartDispatch", messageId: MSG, attempt: 1, at }, false)),
  t.map((at) => route(Streams.MessageStream, Streams.streamId.message(MSG), { _tag: "RecordDispatchOutcomeUnknown", messageId: MSG, attempt: 1, reason: "timeout", at }, false)),
  t.map((at) => route(Streams.MessageStream, Streams.streamId.message(MSG), { _tag: "MarkDispatchUnknown", messageId: MSG, at }, false)),
  t.map((at) => route(Streams.MessageStream, Streams.streamId.message(MSG), { _tag: "ExpireMessage", messageId: MSG, at: at * 10_000 }, false)),
  fc.tuple(t, fc.constantFrom("c1", "c2")).map(([at, clickId]) => route(Streams.MessageStream, Streams.streamId.message(MSG), { _tag: "AttributeClick", messageId: MSG, clickId, at }, false))
)

const runAll = (commands: ReadonlyArray<Routed>): Map<string, ReadonlyArray<Events.DomainEvent>> => {
  const streams = new Map<string, Array<Events.DomainEvent>>()
  for (const c of commands) {
    const events = streams.get(c.stream) ?? []
    const decided = c.kind.decider.decide(c.command, Decider.fold(c.kind.decider, events))
    if (decided._tag === "Right") events.push(...decided.right)
    streams.set(c.stream, events)
  }
  for (const [k, v] of streams) if (v.length === 0) streams.delete(k)
  return streams
}

const setup: ReadonlyArray<Routed> = [
  route(Streams.WabaStream, Streams.streamId.waba(WABA), { _tag: "RegisterWaba", wabaId: WABA, businessManagerId: BM, name: null, at: 0 }, false),
  route(Streams.MessageStream, Streams.streamId.message(MSG), request({ template: { name: "spring_sale", language: "en", category: "MARKETING", ttlSeconds: 43_200 } }), false)
]

describe("invariant 4: duplicates change nothing", () => {
  it("a command sequence with duplicates yields the same events as without them", PROPERTY_TEST, () => {
    const scenario = fc.array(command, { minLength: 1, maxLength: 25 }).chain((commands) =>
      fc.tuple(fc.constant(commands), fc.array(fc.tuple(fc.nat({ max: commands.length - 1 }), fc.nat()), { maxLength: 10 }))
    )
    fc.assert(
      fc.property(scenario, ([commands, duplications]) => {
        const withDuplicates: Array<Routed | undefined> = [...commands]
        // Insert duplicates from the back so earlier indexes stay valid.
        const plan = [...duplications].sort((a, b) => b[0] - a[0])
        for (const [index, offset] of plan) {
          const original = commands[index]!
          const at = original.fact ? index + 1 + (offset % (commands.length - index)) : index + 1
          withDuplicates.splice(at, 0, original)
        }
        const without = runAll([...setup, ...commands])
        const withDups = runAll([...setup, ...withDuplicates.filter((c): c is Routed => c !== undefined)])
        assert.deepStrictEqual(withDups, without)
      }),
      propertySettings(1_000)
    )
  })
})
