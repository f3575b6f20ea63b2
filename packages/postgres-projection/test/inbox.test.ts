import { assert, describe, it } from "@effect/vitest"
import type { InboxEntry, Page } from "@mm-gateway/ports"
import { Effect } from "effect"
import { makeInbox } from "../src/inbox.js"
import { freshPools } from "./support.js"

const bytes = (s: string) => new TextEncoder().encode(s)
const text = (b: Uint8Array) => new TextDecoder().decode(b)
/** Every quarantined entry, `limit` a page, following the cursors to the last page. */
const allQuarantined = (inbox: ReturnType<typeof makeInbox>, limit: number) =>
  Effect.gen(function*() {
    const entries: Array<InboxEntry> = []
    let cursor: string | null = null
    do {
      const page: Page<InboxEntry> = yield* inbox.listQuarantined(limit, cursor)
      entries.push(...page.items)
      cursor = page.nextCursor
    } while (cursor !== null)
    return entries
  })

const headers = { "content-type": "application/json", "x-hub-signature-256": "sha256=00ff" }

/** The `WebhookInbox` port on PostgreSQL. */
describe("the webhook inbox on PostgreSQL", () => {
  const inboxesOf = (count: number) => Effect.map(freshPools(count), (dbs) => dbs.map(makeInbox))

  it.effect("keeps a delivery as it came, bytes exactly; the same bytes from the same source are stored once", () =>
    Effect.scoped(Effect.gen(function*() {
      const [inbox] = yield* inboxesOf(1)
      const raw = new Uint8Array([0, 255, 1, 128, 10, 13, 0])
      const first = yield* inbox!.accept(raw, headers, "meta", 1_000)
      raw.fill(7)
      const entry = yield* inbox!.get(first.id)
      assert.deepStrictEqual(
        [first.duplicate, [...entry!.body], entry!.headers, entry!.source, entry!.receivedAt, entry!.state, entry!.reason, entry!.processedAt],
        [false, [0, 255, 1, 128, 10, 13, 0], headers, "meta", 1_000, "pending", null, null]
      )
      const again = yield* inbox!.accept(new Uint8Array([0, 255, 1, 128, 10, 13, 0]), {}, "meta", 2_000)
      const otherSource = yield* inbox!.accept(new Uint8Array([0, 255, 1, 128, 10, 13, 0]), {}, "360dialog", 3_000)
      const empty = yield* inbox!.accept(new Uint8Array(0), {}, "meta", 4_000)
      assert.deepStrictEqual(again, { id: first.id, duplicate: true })
      assert.isTrue(first.id < otherSource.id && otherSource.id < empty.id)
      assert.deepStrictEqual([(yield* inbox!.get(first.id))!.receivedAt, (yield* inbox!.get(empty.id))!.body.length], [1_000, 0])
      assert.isNull(yield* inbox!.get(empty.id + 1_000))
      assert.strictEqual(yield* inbox!.pendingCount(), 3)
    })))

  it.effect("the same delivery accepted by several processes at once is stored once, and each is told its id", () =>
    Effect.scoped(Effect.gen(function*() {
      const inboxes = yield* inboxesOf(6)
      const results = yield* Effect.all(inboxes.map((inbox, i) => inbox.accept(bytes('{"entry":[1]}'), {}, "meta", i)), { concurrency: "unbounded" })
      assert.strictEqual(new Set(results.map((r) => r.id)).size, 1)
      assert.strictEqual(results.filter((r) => !r.duplicate).length, 1)
      assert.strictEqual(yield* inboxes[0]!.pendingCount(), 1)
    })))

  it.effect("pending deliveries come oldest first and stay pending until marked processed or quarantined; only a quarantined one replays", () =>
    Effect.scoped(Effect.gen(function*() {
      const [inbox] = yield* inboxesOf(1)
      assert.deepStrictEqual([yield* inbox!.pendingCount(), yield* inbox!.claimPending(10)], [0, []])
      assert.deepStrictEqual(yield* inbox!.listQuarantined(10, null), { items: [], nextCursor: null })
      const ids: Array<number> = []
      for (let i = 1; i <= 6; i++) ids.push((yield* inbox!.accept(bytes(`{"n":${i}}`), headers, "meta", i)).id)
      assert.deepStrictEqual((yield* inbox!.claimPending(3)).map((e) => e.id), ids.slice(0, 3))
      assert.deepStrictEqual((yield* inbox!.claimPending(3)).map((e) => e.id), ids.slice(0, 3))
      assert.deepStrictEqual(yield* inbox!.claimPending(0), [])
      yield* inbox!.markProcessed([ids[0]!, ids[2]!], 100)
      yield* inbox!.markProcessed([], 101)
      yield* inbox!.quarantine(ids[1]!, "not json", 102)
      yield* inbox!.quarantine(ids[3]!, "entry: missing", 103)
      yield* inbox!.quarantine(ids[4]!, "changes: expected an array", 104)
      // Final until a replay: neither a processed one quarantined nor a quarantined one processed.
      yield* inbox!.quarantine(ids[0]!, "late", 105)
      yield* inbox!.markProcessed([ids[1]!], 106)
      assert.deepStrictEqual((yield* inbox!.claimPending(10)).map((e) => e.id), [ids[5]])
      assert.strictEqual(yield* inbox!.pendingCount(), 1)
      const processed = yield* inbox!.get(ids[0]!)
      assert.deepStrictEqual([processed!.state, processed!.processedAt, processed!.reason], ["processed", 100, null])
      const listed = yield* allQuarantined(inbox!, 2)
      assert.deepStrictEqual(listed.map((e): ReadonlyArray<unknown> => [e.id, e.state, e.reason, e.processedAt, text(e.body)]), [
        [ids[1], "quarantined", "not json", 102, '{"n":2}'],
        [ids[3], "quarantined", "entry: missing", 103, '{"n":4}'],
        [ids[4], "quarantined", "changes: expected an array", 104, '{"n":5}']
      ])
      assert.isTrue(yield* inbox!.replay(ids[3]!))
      assert.isFalse(yield* inbox!.replay(ids[0]!))
      assert.isFalse(yield* inbox!.replay(ids[5]!))
      const replayed = yield* inbox!.get(ids[3]!)
      assert.deepStrictEqual([replayed!.state, replayed!.reason, replayed!.processedAt], ["pending", null, null])
      assert.deepStrictEqual((yield* inbox!.claimPending(10)).map((e) => e.id), [ids[3], ids[5]])
    })))
})
