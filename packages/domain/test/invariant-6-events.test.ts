import { assert, describe, it } from "@effect/vitest"
import { Arbitrary, Schema, SchemaAST } from "effect"
import fc from "fast-check"
import { isDeepStrictEqual } from "node:util"
import {
  BusinessManager,
  Channel,
  Events,
  Message,
  PartnerSettings,
  Recipient,
  type Streams,
  Template,
  UserAction,
  Waba
} from "../src/index.js"
import { PROPERTY_TEST, propertySettings } from "../testing/index.js"

/**
 * Invariant 6 (docs/invariants.md#invariant-6), the domain half: every event of every stream encodes and
 * decodes to itself, through JSON text as the stores keep it. The webhook half (every fixture decodes without
 * loss) lives in packages/webhook-adapter.
 *
 * Events are generated from their own schemas: `Arbitrary.makeLazy(schema)` takes the fast-check
 * module as an argument, and fast-check 4's module works for every event schema (each generated value
 * is checked against its schema below, so an API difference between fast-check 3 and 4 would show).
 * One default is changed: fast-check 4's `record` may build objects with a null prototype, which the
 * domain never builds (`make` gives plain objects) and JSON text cannot carry.
 */
const fastCheck4: typeof fc = {
  ...fc,
  record: ((model: never, constraints?: object) => fc.record(model, { ...constraints, noNullPrototype: true })) as typeof fc.record
}

/** The module type `Arbitrary.makeLazy` was written against (fast-check 3), named without importing it. */
type EffectFastCheck = Parameters<Arbitrary.LazyArbitrary<unknown>>[0]

const arbitraryOf = <A, I>(schema: Schema.Schema<A, I, never>): fc.Arbitrary<A> =>
  Arbitrary.makeLazy(schema)(fastCheck4 as unknown as EffectFastCheck) as unknown as fc.Arbitrary<A>

/** The event union of every stream kind: the compiler insists on one per kind. */
const EVENTS_BY_STREAM = {
  BusinessManager: BusinessManager.BusinessManagerEvent,
  Waba: Waba.WabaEvent,
  Channel: Channel.ChannelEvent,
  PartnerSettings: PartnerSettings.PartnerSettingsEvent,
  Template: Template.TemplateEvent,
  Message: Message.MessageEvent,
  Recipient: Recipient.RecipientEvent,
  UserAction: UserAction.UserActionEvent
} satisfies Record<Streams.StreamCategory, Schema.Schema.AnyNoContext>

type EventSchema = Schema.Schema<Events.DomainEvent, unknown, never>

const membersOf = (ast: SchemaAST.AST): ReadonlyArray<SchemaAST.AST> =>
  SchemaAST.isUnion(ast) ? ast.types.flatMap(membersOf) : [ast]

const tagOf = (ast: SchemaAST.AST): string => {
  const tag = SchemaAST.getPropertySignatures(ast).find((p) => p.name === "_tag")?.type
  if (tag === undefined || !SchemaAST.isLiteral(tag) || typeof tag.literal !== "string") throw new Error(`an event without a _tag: ${String(ast)}`)
  return tag.literal
}

const eventsOf = (union: Schema.Schema.AnyNoContext): ReadonlyArray<{ readonly tag: string; readonly schema: EventSchema }> =>
  membersOf(union.ast).map((ast) => ({ tag: tagOf(ast), schema: Schema.make(ast) as unknown as EventSchema }))

const roundTrip = (event: Events.DomainEvent): void => {
  const text = JSON.stringify(Events.encodeEvent(event))
  const decoded = Events.decodeEvent(JSON.parse(text))
  if (!isDeepStrictEqual(decoded, event)) {
    throw new Error(`the round trip changed the event:\n  ${JSON.stringify(event)}\n→ ${JSON.stringify(decoded)}`)
  }
  // Encoding is stable: the decoded event is stored exactly as the original was.
  assert.strictEqual(JSON.stringify(Events.encodeEvent(decoded)), text)
}

describe("invariant 6: every event round-trips through JSON text", () => {
  it("covers every event of every stream: the streams' unions together are DomainEvent", () => {
    const fromStreams = Object.values(EVENTS_BY_STREAM).flatMap((union) => eventsOf(union).map((e) => e.tag)).sort()
    const all = eventsOf(Events.DomainEvent).map((e) => e.tag).sort()
    assert.deepStrictEqual(fromStreams, all)
    assert.strictEqual(new Set(all).size, all.length, "event types are unique across streams")
  })

  for (const [stream, union] of Object.entries(EVENTS_BY_STREAM)) {
    for (const { schema, tag } of eventsOf(union)) {
      it(`${stream} ${tag}: decode(JSON(encode(e))) equals e`, PROPERTY_TEST, () => {
        const isThisEvent = Schema.is(schema)
        fc.assert(
          fc.property(arbitraryOf(schema), (event) => {
            assert.strictEqual(event._tag, tag)
            assert.isTrue(isThisEvent(event), `a generated ${tag} fits its schema: ${JSON.stringify(event)}`)
            roundTrip(event)
          }),
          propertySettings(100)
        )
      })
    }
  }
})
