import { assert, describe, it } from "@effect/vitest"
import { Either, SchemaAST } from "effect"
import { decodeEventEither, eventSchemaVersion, UPCASTERS } from "../src/events.js"
import { Events, Message } from "../src/index.js"
import { MSG } from "./fixtures.js"
import { request, run } from "./message-builders.js"

/** The stored form of events: a schema version per event type, and older versions read as today's. */
describe("stored events and their versions", () => {
  const failed = Message.DispatchFailed.make({
    messageId: MSG, attempt: 1, route: "marketing_messages", httpStatus: 400, error: null, reason: "x", final: true, notBefore: null, at: 5
  })

  it("are stored with their type's current schema version", () => {
    assert.deepStrictEqual(Events.encodeEvent(failed), {
      type: "DispatchFailed",
      schemaVersion: 2,
      data: { _tag: "DispatchFailed", messageId: MSG, attempt: 1, route: "marketing_messages", httpStatus: 400, error: null, reason: "x", final: true, notBefore: null, at: 5 }
    })
    assert.strictEqual(Events.encodeEvent(Message.DispatchStarted.make({ messageId: MSG, attempt: 1, route: "cloud_api", at: 1 })).schemaVersion, 1)
  })

  it("reads a DispatchFailed of version 1 (before the route was recorded) with route null", () => {
    // As stored by the gateway before schema version 2.
    const v1 = {
      type: "DispatchFailed",
      schemaVersion: 1,
      data: { _tag: "DispatchFailed", messageId: MSG, attempt: 1, httpStatus: 400, error: null, reason: "x", final: true, notBefore: null, at: 5 }
    }
    assert.deepStrictEqual(Events.decodeEvent(v1), { ...failed, route: null })
  })

  it("reads a StatusObserved of version 1 (before the group fields) as it was; version 2 carries them", () => {
    const observation = { wamid: "wamid.A", status: "read", timestamp: 3_000, recipient: "16505551234", pricing: null, originType: null, errors: [] }
    const v1 = { type: "StatusObserved", schemaVersion: 1, data: { _tag: "StatusObserved", messageId: MSG, observation, at: 9_000 } }
    assert.deepStrictEqual(Events.decodeEvent(v1), Message.StatusObserved.make({ messageId: MSG, observation: observation as never, at: 9_000 }))
    const group = Message.StatusObserved.make({
      messageId: MSG,
      observation: { ...observation, recipient: "120363025246125486", recipientType: "group", participant: "16505550001" } as never,
      at: 9_000
    })
    const stored = Events.encodeEvent(group)
    assert.strictEqual(stored.schemaVersion, 3)
    assert.deepStrictEqual(Events.decodeEvent(JSON.parse(JSON.stringify(stored))), group)
    // Version 3 may name the user by BSUID too; version 2 (no `recipientUserId`) reads as it was.
    const byBsuid = Message.StatusObserved.make({ messageId: MSG, observation: { ...observation, recipientUserId: "US.13491208655302741918" } as never, at: 9_000 })
    assert.deepStrictEqual(Events.decodeEvent(JSON.parse(JSON.stringify(Events.encodeEvent(byBsuid)))), byBsuid)
    assert.deepStrictEqual(Events.decodeEvent({ ...v1, schemaVersion: 2 }), Events.decodeEvent(v1))
  })

  it("reads a MessageRequested of version 1 (before template.categoryAt) as it was", () => {
    const requested = Events.encodeEvent(run([request()])[0]!)
    assert.strictEqual(requested.schemaVersion, 3)
    for (const schemaVersion of [1, 2]) assert.deepStrictEqual(Events.decodeEvent({ ...requested, schemaVersion }), run([request()])[0])
  })

  it("refuses a version newer than this gateway knows, or no version at all", () => {
    for (const schemaVersion of [3, 0, 1.5]) {
      const stored = { ...Events.encodeEvent(failed), schemaVersion }
      assert.throws(() => Events.decodeEvent(stored), Events.StoredEventUnreadable)
      assert.isTrue(Either.isLeft(decodeEventEither(stored)))
    }
    assert.isTrue(Either.isRight(decodeEventEither(Events.encodeEvent(failed))))
  })

  it("every event type has one upcaster per version before its current one", () => {
    const membersOf = (ast: SchemaAST.AST): ReadonlyArray<SchemaAST.AST> => SchemaAST.isUnion(ast) ? ast.types.flatMap(membersOf) : [ast]
    const types = membersOf(Events.DomainEvent.ast).map((ast) => {
      const tag = SchemaAST.getPropertySignatures(ast).find((p) => p.name === "_tag")?.type
      return (tag !== undefined && SchemaAST.isLiteral(tag) ? tag.literal : "") as Events.DomainEventType
    })
    assert.isAbove(types.length, 30)
    for (const type of types) assert.strictEqual((UPCASTERS[type] ?? []).length, eventSchemaVersion(type) - 1, type)
  })

  it("are their own encoding, and read back from the store without decoding again, upcast all the same", () => {
    const requested = run([request()])[0]!
    assert.strictEqual(Events.encodeEvent(requested).data, requested)
    assert.strictEqual(Events.encodeEvent(failed).data, failed)
    const stored = JSON.parse(JSON.stringify(Events.encodeEvent(requested)))
    assert.deepStrictEqual(Events.decodeStoredEvent(stored), requested)
    assert.deepStrictEqual(Events.decodeStoredEvent(stored), Events.decodeEvent(stored))
    const v1 = {
      type: "DispatchFailed",
      schemaVersion: 1,
      data: { _tag: "DispatchFailed", messageId: MSG, attempt: 1, httpStatus: 400, error: null, reason: "x", final: true, notBefore: null, at: 5 }
    }
    assert.deepStrictEqual(Events.decodeStoredEvent(v1), { ...failed, route: null })
    assert.throws(() => Events.decodeStoredEvent({ ...Events.encodeEvent(failed), schemaVersion: 3 }), Events.StoredEventUnreadable)
    // What is not an event of its type is decoded (and refused) as any outside input would be.
    assert.throws(() => Events.decodeStoredEvent({ type: "DispatchFailed", schemaVersion: 2, data: { _tag: "DispatchStarted" } }))
    assert.throws(() => Events.decodeStoredEvent({ type: "DispatchFailed", schemaVersion: 2, data: 7 }))
  })
})
