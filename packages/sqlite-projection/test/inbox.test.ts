import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { headersToKeep, WebhookInbox } from "@mm-gateway/ports"
import { inboxPathFor, layerInbox } from "../src/inbox.js"

const body = (s: string) => new TextEncoder().encode(s)
const text = (b: Uint8Array) => new TextDecoder().decode(b)
const headers = { "content-type": "application/json", "x-hub-signature-256": "sha256=00" }

const withInbox = <A, E>(effect: Effect.Effect<A, E, WebhookInbox>) => Effect.provide(effect, layerInbox({ path: ":memory:" }))

describe("webhook inbox", () => {
  it.effect("stores the raw body, headers, source and time; identical deliveries are stored once", () =>
    withInbox(Effect.gen(function*() {
      const inbox = yield* WebhookInbox
      const first = yield* inbox.accept(body('{"entry":[1]}'), headers, "meta", 1000)
      const again = yield* inbox.accept(body('{"entry":[1]}'), headers, "meta", 2000)
      const otherSource = yield* inbox.accept(body('{"entry":[1]}'), {}, "360dialog", 3000)
      assert.deepStrictEqual(first, { id: 1, duplicate: false })
      assert.deepStrictEqual(again, { id: 1, duplicate: true })
      assert.deepStrictEqual(otherSource, { id: 2, duplicate: false })
      const stored = yield* inbox.get(1)
      assert.strictEqual(text(stored!.body), '{"entry":[1]}')
      assert.deepStrictEqual(stored!.headers, headers)
      assert.strictEqual(stored!.source, "meta")
      assert.strictEqual(stored!.receivedAt, 1000)
      assert.strictEqual(stored!.state, "pending")
      assert.strictEqual(yield* inbox.pendingCount(), 2)
    })))

  it.effect("bytes are kept exactly, whatever they are", () =>
    withInbox(Effect.gen(function*() {
      const inbox = yield* WebhookInbox
      const raw = new Uint8Array([0, 255, 1, 128, 10, 13])
      const { id } = yield* inbox.accept(raw, {}, "meta", 1)
      assert.deepStrictEqual([...(yield* inbox.get(id))!.body], [...raw])
    })))

  it.effect("pending → processed or quarantined with a reason; quarantine is listed by page and can be replayed", () =>
    withInbox(Effect.gen(function*() {
      const inbox = yield* WebhookInbox
      for (let i = 1; i <= 5; i++) yield* inbox.accept(body(`{"n":${i}}`), {}, "meta", i)
      const claimed = yield* inbox.claimPending(3)
      assert.deepStrictEqual(claimed.map((e) => e.id), [1, 2, 3])
      yield* inbox.markProcessed([1, 2], 100)
      yield* inbox.quarantine(3, "undecodable: entry[0].changes missing", 100)
      yield* inbox.quarantine(4, "undecodable: not json", 101)
      assert.deepStrictEqual((yield* inbox.claimPending(10)).map((e) => e.id), [5])
      assert.strictEqual(yield* inbox.pendingCount(), 1)
      const page1 = yield* inbox.listQuarantined(1, null)
      const page2 = yield* inbox.listQuarantined(1, page1.nextCursor)
      assert.deepStrictEqual([...page1.items, ...page2.items].map((e) => [e.id, e.reason]), [
        [3, "undecodable: entry[0].changes missing"],
        [4, "undecodable: not json"]
      ])
      assert.isTrue(yield* inbox.replay(3))
      assert.isFalse(yield* inbox.replay(1))
      assert.deepStrictEqual((yield* inbox.claimPending(10)).map((e) => e.id), [3, 5])
      assert.strictEqual((yield* inbox.get(3))!.reason, null)
      // A processed row is final: quarantining it afterwards changes nothing.
      yield* inbox.quarantine(1, "late", 200)
      assert.strictEqual((yield* inbox.get(1))!.state, "processed")
    })))

  it.effect("only the headers that matter are kept, never a shared-secret header", () =>
    Effect.sync(() => {
      assert.deepStrictEqual(
        headersToKeep({
          "Content-Type": "application/json",
          "X-Hub-Signature-256": "sha256=ab",
          "x-mmgw-webhook-secret": "s3cret",
          authorization: "Bearer x",
          "x-request-id": ["a", "b"]
        }),
        { "content-type": "application/json", "x-hub-signature-256": "sha256=ab", "x-request-id": "a, b" }
      )
    }))

  it.effect("the inbox file sits beside the main database", () =>
    Effect.sync(() => {
      assert.strictEqual(inboxPathFor("./data/mm-gateway.sqlite"), "./data/mm-gateway.inbox.sqlite")
      assert.strictEqual(inboxPathFor("/var/lib/mmgw/db"), "/var/lib/mmgw/db.inbox.sqlite")
      assert.strictEqual(inboxPathFor(":memory:"), ":memory:")
    }))
})
