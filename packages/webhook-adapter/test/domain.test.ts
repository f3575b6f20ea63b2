import { assert, describe, it } from "@effect/vitest"
import { CommandHandler, InMemoryEventStore, Streams, Waba } from "@mm-gateway/domain"
import { Effect } from "effect"
import { decodeWebhook, type StreamFact } from "../src/index.js"
import { AT, fixtureBodies } from "./helpers.js"

/**
 * The commands this package produces, applied to the domain's deciders the way the worker does:
 * accepted (a webhook about a WABA or Business Manager never seen creates the record), and harmless
 * when the same webhook is delivered again.
 */

const apply = (c: StreamFact) => CommandHandler.handleStreamCommand(c).pipe(Effect.map((h) => h.events.length))

const streamCommandsOf = (body: Uint8Array | string, at: number): ReadonlyArray<StreamFact> =>
  decodeWebhook(body, at).commands.filter((c): c is StreamFact => c._tag === "StreamFact")

/** Apply every stream command of every body; the number of events appended. */
const applyAll = (bodies: Iterable<Uint8Array | string>, at: number) =>
  Effect.gen(function*() {
    let events = 0
    for (const body of bodies) {
      for (const c of streamCommandsOf(body, at)) events += yield* apply(c)
    }
    return events
  })

describe("decoded commands against the domain", () => {
  it.effect("every fixture's commands are accepted, and a redelivery appends nothing", () =>
    Effect.gen(function*() {
      const bodies = [...fixtureBodies().values()]
      const first = yield* applyAll(bodies, AT)
      assert.isAbove(first, 0)
      // Redelivered a day later: same facts, new receipt time.
      const again = yield* applyAll(bodies, AT + 86_400_000)
      assert.strictEqual(again, 0)
    }).pipe(Effect.provide(InMemoryEventStore.layer)))

  it.effect("MM_LITE_TERMS_SIGNED for a WABA never seen onboards that WABA, not its Business Manager", () =>
    Effect.gen(function*() {
      const body = fixtureBodies().get("seed/account-update-mm-lite-terms-signed-waba.json")
      assert.isDefined(body)
      yield* applyAll([body!], AT)
      const waba = yield* CommandHandler.loadState(Streams.WabaStream, Streams.streamId.waba("102290129340398"))
      const bm = yield* CommandHandler.loadState(Streams.BusinessManagerStream, Streams.streamId.businessManager("271828182845904"))
      assert.strictEqual(waba.state.businessManagerId, "271828182845904")
      assert.isTrue(bm.state.registered)
      assert.isNull(bm.state.termsSignedAt)
      assert.deepStrictEqual(Waba.mmApiStatus(waba.state, bm.state, AT), {
        status: "onboarded",
        since: 1_764_000_000_000,
        source: "waba_webhook",
        reason: null,
        suspendedUntil: null
      })
    }).pipe(Effect.provide(InMemoryEventStore.layer)))

  it.effect("a restriction is recorded with the webhook's time and its expiration", () =>
    Effect.gen(function*() {
      const body = fixtureBodies().get("pywa/account_update.json#account_restriction")
      assert.isDefined(body)
      yield* applyAll([body!], AT)
      const waba = yield* CommandHandler.loadState(Streams.WabaStream, Streams.streamId.waba("102290129340398"))
      assert.deepStrictEqual(
        waba.state.suspension.map((f) => [f.action, f.kind, f.occurredAt, f.expiresAt]),
        [["suspend", "account_restriction", 1_641_330_498_000, 1_641_330_498_000]]
      )
      // This example's restriction expires the moment it starts: long over by the receipt time.
      assert.strictEqual(Waba.mmApiStatus(waba.state, null, AT).status, "not_onboarded")
    }).pipe(Effect.provide(InMemoryEventStore.layer)))
})
