import { assert, describe, it } from "@effect/vitest"
import { Effect, type Layer } from "effect"
import { WebhookInbox } from "../src/inbox.js"
import { walkPages } from "./pages.js"

const bytes = (s: string) => new TextEncoder().encode(s)
const text = (b: Uint8Array) => new TextDecoder().decode(b)
const headers = { "content-type": "application/json", "x-hub-signature-256": "sha256=00ff" }

/**
 * The `WebhookInbox` contract: accept, then claim pending deliveries (each claimant its own, until
 * the claim lapses), mark them processed or quarantine them, list and replay the quarantined. Ids are compared by order, never by value.
 * `makeStore` must give a fresh, empty inbox each time it is built.
 */
export const webhookInboxContract = (name: string, makeStore: () => Layer.Layer<WebhookInbox>) => {
  const run = <A, E>(effect: Effect.Effect<A, E, WebhookInbox>) => Effect.provide(effect, makeStore())
  /** Claims as one worker, at time 0, for a second. */
  const claim = (inbox: WebhookInbox["Type"], limit: number) => inbox.claimPending(limit, "worker#1-a", 0, 1_000)

  describe(`WebhookInbox contract: ${name}`, () => {
    it.effect("keeps an accepted delivery as it came: body, headers, source and time, pending", () =>
      run(Effect.gen(function*() {
        const inbox = yield* WebhookInbox
        const accepted = yield* inbox.accept(bytes('{"entry":[1]}'), headers, "meta", 1_000)
        assert.isFalse(accepted.duplicate)
        const entry = yield* inbox.get(accepted.id)
        assert.isNotNull(entry)
        assert.deepStrictEqual(
          [entry!.id, text(entry!.body), entry!.headers, entry!.source, entry!.receivedAt, entry!.state, entry!.reason, entry!.processedAt],
          [accepted.id, '{"entry":[1]}', headers, "meta", 1_000, "pending", null, null]
        )
        assert.strictEqual(yield* inbox.pendingCount(), 1)
        assert.isNull(yield* inbox.get(accepted.id + 1_000))
      })))

    it.effect("the same body from the same source is stored once and accepted again as a duplicate; another source or body is new", () =>
      run(Effect.gen(function*() {
        const inbox = yield* WebhookInbox
        const first = yield* inbox.accept(bytes('{"entry":[1]}'), headers, "meta", 1_000)
        const again = yield* inbox.accept(bytes('{"entry":[1]}'), { "content-type": "text/plain" }, "meta", 2_000)
        const otherSource = yield* inbox.accept(bytes('{"entry":[1]}'), {}, "360dialog", 3_000)
        const otherBody = yield* inbox.accept(bytes('{"entry":[2]}'), headers, "meta", 4_000)
        assert.deepStrictEqual(again, { id: first.id, duplicate: true })
        assert.deepStrictEqual([otherSource.duplicate, otherBody.duplicate], [false, false])
        assert.isTrue(first.id < otherSource.id && otherSource.id < otherBody.id, "ids follow arrival")
        // The duplicate changed nothing of what was stored first.
        const stored = yield* inbox.get(first.id)
        assert.deepStrictEqual([stored!.headers, stored!.receivedAt], [headers, 1_000])
        assert.strictEqual(yield* inbox.pendingCount(), 3)
      })))

    it.effect("bytes are kept exactly, whatever they are, even when the caller reuses its buffer afterwards", () =>
      run(Effect.gen(function*() {
        const inbox = yield* WebhookInbox
        const raw = new Uint8Array([0, 255, 1, 128, 10, 13, 0])
        const { id } = yield* inbox.accept(raw, {}, "meta", 1)
        raw.fill(7)
        assert.deepStrictEqual([...(yield* inbox.get(id))!.body], [0, 255, 1, 128, 10, 13, 0])
        const empty = yield* inbox.accept(new Uint8Array(0), {}, "360dialog", 2)
        assert.strictEqual((yield* inbox.get(empty.id))!.body.length, 0)
      })))

    it.effect("deliveries accepted at the same moment are each stored, a repeated one once", () =>
      run(Effect.gen(function*() {
        const inbox = yield* WebhookInbox
        const bodies = ["a", "b", "c", "a", "d", "b"].map((s) => bytes(`{"n":"${s}"}`))
        const results = yield* Effect.all(bodies.map((b, i) => inbox.accept(b, {}, "meta", i)), { concurrency: "unbounded" })
        assert.strictEqual(new Set(results.map((r) => r.id)).size, 4)
        assert.strictEqual(results.filter((r) => r.duplicate).length, 2)
        assert.strictEqual(results[3]!.id, results[0]!.id)
        assert.strictEqual(results[5]!.id, results[1]!.id)
        assert.strictEqual(yield* inbox.pendingCount(), 4)
        const pending = yield* claim(inbox, 10)
        assert.deepStrictEqual(new Set(pending.map((e) => text(e.body))), new Set(['{"n":"a"}', '{"n":"b"}', '{"n":"c"}', '{"n":"d"}']))
      })))

    it.effect("claimPending gives the oldest pending deliveries in arrival order, and they stay pending until marked: their claimant gets them again", () =>
      run(Effect.gen(function*() {
        const inbox = yield* WebhookInbox
        const ids: Array<number> = []
        for (let i = 1; i <= 5; i++) ids.push((yield* inbox.accept(bytes(`{"n":${i}}`), {}, "meta", i)).id)
        assert.deepStrictEqual((yield* claim(inbox, 3)).map((e) => e.id), ids.slice(0, 3))
        // A crash between claim and mark only redoes work: the same rows come back.
        assert.deepStrictEqual((yield* claim(inbox, 3)).map((e) => e.id), ids.slice(0, 3))
        assert.deepStrictEqual(yield* claim(inbox, 0), [])
        yield* inbox.markProcessed([ids[0]!, ids[2]!], 100)
        assert.deepStrictEqual((yield* claim(inbox, 10)).map((e) => e.id), [ids[1], ids[3], ids[4]])
        assert.strictEqual(yield* inbox.pendingCount(), 3)
        const processed = yield* inbox.get(ids[0]!)
        assert.deepStrictEqual([processed!.state, processed!.processedAt, processed!.reason], ["processed", 100, null])
        yield* inbox.markProcessed([], 200)
        assert.strictEqual(yield* inbox.pendingCount(), 3)
      })))

    it.effect("a claimed delivery goes to no other claimant until its claim lapses, and then to whoever claims it", () =>
      run(Effect.gen(function*() {
        const inbox = yield* WebhookInbox
        const ids: Array<number> = []
        for (let i = 1; i <= 5; i++) ids.push((yield* inbox.accept(bytes(`{"n":${i}}`), {}, "meta", i)).id)
        assert.deepStrictEqual((yield* inbox.claimPending(2, "a#1-x", 0, 1_000)).map((e) => e.id), ids.slice(0, 2))
        assert.deepStrictEqual((yield* inbox.claimPending(10, "b#2-y", 500, 1_000)).map((e) => e.id), ids.slice(2))
        assert.deepStrictEqual(yield* inbox.claimPending(10, "c#3-z", 999, 1_000), [])
        assert.deepStrictEqual(yield* inbox.claims(999), [{ claimant: "a#1-x", bodies: 2 }, { claimant: "b#2-y", bodies: 3 }])
        // Claiming again extends a claimant's own claims.
        assert.deepStrictEqual((yield* inbox.claimPending(10, "a#1-x", 900, 1_000)).map((e) => e.id), ids.slice(0, 2))
        assert.deepStrictEqual((yield* inbox.claimPending(10, "c#3-z", 1_500, 1_000)).map((e) => e.id), ids.slice(2))
        assert.deepStrictEqual(yield* inbox.claims(1_500), [{ claimant: "a#1-x", bodies: 2 }, { claimant: "c#3-z", bodies: 3 }])
        // Marked, a delivery is nobody's claim any more.
        yield* inbox.markProcessed([ids[0]!], 1_600)
        yield* inbox.quarantine(ids[2]!, "undecodable", 1_600)
        assert.deepStrictEqual(yield* inbox.claims(1_600), [{ claimant: "a#1-x", bodies: 1 }, { claimant: "c#3-z", bodies: 2 }])
        assert.deepStrictEqual(yield* inbox.claims(2_500), [])
        assert.deepStrictEqual((yield* inbox.claimPending(10, "b#2-y", 2_500, 1_000)).map((e) => e.id), [ids[1], ids[3], ids[4]])
      })))

    it.effect("claimants claiming at the same moment get disjoint sets, every pending delivery in one of them", () =>
      run(Effect.gen(function*() {
        const inbox = yield* WebhookInbox
        for (let i = 0; i < 20; i++) yield* inbox.accept(bytes(`{"n":${i}}`), {}, "meta", i)
        const claimed = yield* Effect.all(
          ["a", "b", "c", "d"].map((w) => inbox.claimPending(8, `${w}#1-x`, 100, 1_000)),
          { concurrency: "unbounded" }
        )
        const ids = claimed.flatMap((entries) => entries.map((e) => e.id))
        assert.strictEqual(ids.length, 20)
        assert.strictEqual(new Set(ids).size, 20)
        for (const entries of claimed) assert.deepStrictEqual(entries.map((e) => e.id), [...entries.map((e) => e.id)].sort((x, y) => x - y))
      })))

    it.effect("a replayed delivery is pending and unclaimed: anyone may claim it at once", () =>
      run(Effect.gen(function*() {
        const inbox = yield* WebhookInbox
        const { id } = yield* inbox.accept(bytes("q"), {}, "meta", 1)
        assert.strictEqual((yield* inbox.claimPending(10, "a#1-x", 0, 60_000)).length, 1)
        yield* inbox.quarantine(id, "undecodable", 10)
        assert.isTrue(yield* inbox.replay(id))
        assert.deepStrictEqual((yield* inbox.claimPending(10, "b#2-y", 20, 60_000)).map((e) => e.id), [id])
      })))

    it.effect("a quarantined delivery keeps its reason and body, is listed page by page and replayed back to pending", () =>
      run(Effect.gen(function*() {
        const inbox = yield* WebhookInbox
        const ids: Array<number> = []
        for (let i = 1; i <= 5; i++) ids.push((yield* inbox.accept(bytes(`{"n":${i}}`), headers, "meta", i)).id)
        yield* inbox.quarantine(ids[1]!, "entry[0].changes: expected an array, got a string", 100)
        yield* inbox.quarantine(ids[3]!, "not json", 101)
        yield* inbox.quarantine(ids[4]!, "entry: missing", 102)
        assert.strictEqual(yield* inbox.pendingCount(), 2)
        assert.deepStrictEqual((yield* claim(inbox, 10)).map((e) => e.id), [ids[0], ids[2]])
        const listed = yield* walkPages(2, (cursor) => inbox.listQuarantined(2, cursor))
        assert.deepStrictEqual(listed.map((e): ReadonlyArray<unknown> => [e.id, e.state, e.reason, e.processedAt]), [
          [ids[1], "quarantined", "entry[0].changes: expected an array, got a string", 100],
          [ids[3], "quarantined", "not json", 101],
          [ids[4], "quarantined", "entry: missing", 102]
        ])
        assert.deepStrictEqual([text(listed[0]!.body), listed[0]!.headers], ['{"n":2}', headers])

        assert.isTrue(yield* inbox.replay(ids[3]!))
        const replayed = yield* inbox.get(ids[3]!)
        assert.deepStrictEqual([replayed!.state, replayed!.reason, replayed!.processedAt], ["pending", null, null])
        assert.deepStrictEqual((yield* claim(inbox, 10)).map((e) => e.id), [ids[0], ids[2], ids[3]])
        assert.deepStrictEqual((yield* walkPages(10, (cursor) => inbox.listQuarantined(10, cursor))).map((e) => e.id), [ids[1], ids[4]])
      })))

    it.effect("only a pending delivery moves on: processed and quarantined are final until a replay, and only a quarantined one replays", () =>
      run(Effect.gen(function*() {
        const inbox = yield* WebhookInbox
        const processed = (yield* inbox.accept(bytes("p"), {}, "meta", 1)).id
        const quarantined = (yield* inbox.accept(bytes("q"), {}, "meta", 2)).id
        const pending = (yield* inbox.accept(bytes("r"), {}, "meta", 3)).id
        yield* inbox.markProcessed([processed], 10)
        yield* inbox.quarantine(quarantined, "undecodable", 11)
        yield* inbox.quarantine(processed, "late", 20)
        yield* inbox.markProcessed([quarantined], 21)
        assert.deepStrictEqual([(yield* inbox.get(processed))!.state, (yield* inbox.get(processed))!.reason], ["processed", null])
        assert.deepStrictEqual([(yield* inbox.get(quarantined))!.state, (yield* inbox.get(quarantined))!.reason], ["quarantined", "undecodable"])
        assert.isFalse(yield* inbox.replay(processed))
        assert.isFalse(yield* inbox.replay(pending))
        assert.isFalse(yield* inbox.replay(pending + 1_000))
        assert.strictEqual((yield* inbox.get(pending))!.state, "pending")
        assert.strictEqual(yield* inbox.pendingCount(), 1)
      })))

    it.effect("processed deliveries are forgotten once processed long enough ago, oldest first and a batch at a time; pending and quarantined stay", () =>
      run(Effect.gen(function*() {
        const inbox = yield* WebhookInbox
        const a = (yield* inbox.accept(bytes("a"), {}, "meta", 1)).id
        const b = (yield* inbox.accept(bytes("b"), {}, "meta", 2)).id
        const c = (yield* inbox.accept(bytes("c"), {}, "meta", 3)).id
        const q = (yield* inbox.accept(bytes("q"), {}, "meta", 4)).id
        const p = (yield* inbox.accept(bytes("p"), {}, "meta", 5)).id
        yield* inbox.markProcessed([a, b], 10)
        yield* inbox.markProcessed([c], 30)
        yield* inbox.quarantine(q, "undecodable", 5)
        assert.strictEqual(yield* inbox.dropProcessed(10, 100), 0)
        assert.strictEqual(yield* inbox.dropProcessed(40, 1), 1)
        assert.strictEqual(yield* inbox.get(a), null)
        assert.strictEqual((yield* inbox.get(b))?.state, "processed")
        assert.strictEqual(yield* inbox.dropProcessed(20, 100), 1)
        assert.strictEqual(yield* inbox.get(b), null)
        assert.deepStrictEqual([(yield* inbox.get(c))?.state, (yield* inbox.get(q))?.state, (yield* inbox.get(p))?.state], ["processed", "quarantined", "pending"])
        assert.strictEqual(yield* inbox.dropProcessed(1_000, 100), 1)
        assert.strictEqual(yield* inbox.dropProcessed(1_000, 100), 0)
        assert.deepStrictEqual([(yield* inbox.get(q))?.state, (yield* inbox.get(p))?.state], ["quarantined", "pending"])
        // Forgotten, the same body is new again; a body still kept is a duplicate.
        const again = yield* inbox.accept(bytes("a"), {}, "meta", 50)
        assert.isFalse(again.duplicate)
        assert.notStrictEqual(again.id, a)
        assert.isTrue((yield* inbox.accept(bytes("q"), {}, "meta", 51)).duplicate)
      })))

    it.effect("an empty inbox has nothing pending and nothing quarantined", () =>
      run(Effect.gen(function*() {
        const inbox = yield* WebhookInbox
        assert.strictEqual(yield* inbox.pendingCount(), 0)
        assert.deepStrictEqual(yield* claim(inbox, 10), [])
        assert.deepStrictEqual(yield* inbox.listQuarantined(10, null), { items: [], nextCursor: null })
        assert.deepStrictEqual(yield* inbox.claims(0), [])
      })))
  })
}
