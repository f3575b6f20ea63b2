import { assert, describe, it } from "@effect/vitest"
import { Effect, type Layer } from "effect"
import { type Delivery, ForwardingOutbox, type NewDelivery, type WebhookEndpointRecord, WebhookEndpoints } from "../src/forwarding.js"
import { walkPages } from "./pages.js"

const endpoint = (id: string, overrides: Partial<WebhookEndpointRecord> = {}): WebhookEndpointRecord => ({
  id,
  url: `https://crm.example.com/hooks/${id}`,
  events: ["messages", "statuses"],
  businessManagerIds: ["271828182845904"],
  channelIds: [],
  secretCiphertext: `ciphertext-of-${id}`,
  paused: null,
  failingSince: null,
  createdAt: 1_000,
  updatedAt: 1_000,
  ...overrides
})

const bytes = (s: string) => new TextEncoder().encode(s)
const text = (b: Uint8Array) => new TextDecoder().decode(b)

const delivery = (id: string, endpointId: string, inboxId: number, overrides: Partial<NewDelivery> = {}): NewDelivery => ({
  id,
  endpointId,
  inboxId,
  events: ["statuses"],
  body: bytes(`{"entry":[{"id":"${id}"}]}`),
  receivedAt: 900,
  createdAt: 1_000,
  deadline: 1_000 + 86_400_000,
  ...overrides
})

/** What a delivery's attempts left, for comparisons. */
const outcome = (d: Delivery | null) =>
  d === null ? null : { state: d.state, attempts: d.attempts, nextAttemptAt: d.nextAttemptAt, lastStatus: d.lastStatus, lastError: d.lastError, deliveredAt: d.deliveredAt }

/**
 * The `WebhookEndpoints` contract: endpoints kept by id as given, listed by id (all, or those a
 * scope covers), found by the Business Managers or channels a webhook belongs to, changed, paused,
 * their failures tracked, removed. `makeStore` must give a fresh, empty store each time it is built.
 */
export const webhookEndpointsContract = (name: string, makeStore: () => Layer.Layer<WebhookEndpoints>) => {
  const run = <A, E>(effect: Effect.Effect<A, E, WebhookEndpoints>) => Effect.provide(effect, makeStore())

  describe(`WebhookEndpoints contract: ${name}`, () => {
    it.effect("an endpoint is found by id exactly as it was given; an unknown id is not found", () =>
      run(Effect.gen(function*() {
        const store = yield* WebhookEndpoints
        const a = endpoint("whe_a", { events: ["templates", "messages"], businessManagerIds: ["2", "1"], channelIds: ["106540352242922"] })
        yield* store.insert(a)
        yield* store.insert(endpoint("whe_b", { paused: { at: 5, reason: "failing for 1 h" }, failingSince: 3 }))
        assert.deepStrictEqual(yield* store.find("whe_a"), a)
        assert.deepStrictEqual((yield* store.find("whe_b"))?.paused, { at: 5, reason: "failing for 1 h" })
        assert.strictEqual((yield* store.find("whe_b"))?.failingSince, 3)
        assert.isNull(yield* store.find("whe_c"))
      })))

    it.effect("lists by id in pages; a scope sees only the endpoints covering one of its Business Managers or channels", () =>
      run(Effect.gen(function*() {
        const store = yield* WebhookEndpoints
        yield* store.insert(endpoint("whe_3", { businessManagerIds: ["bm1"] }))
        yield* store.insert(endpoint("whe_1", { businessManagerIds: ["bm2", "bm3"] }))
        yield* store.insert(endpoint("whe_2", { businessManagerIds: [], channelIds: ["106540352242922"] }))
        yield* store.insert(endpoint("whe_4", { businessManagerIds: ["bm9"] }))
        assert.deepStrictEqual((yield* store.list(10, null, null)).map((e) => e.id), ["whe_1", "whe_2", "whe_3", "whe_4"])
        assert.deepStrictEqual((yield* store.list(2, "whe_1", null)).map((e) => e.id), ["whe_2", "whe_3"])
        const scoped = yield* store.list(10, null, { businessManagerIds: ["bm3", "bm1"], channelIds: ["106540352242922"] })
        assert.deepStrictEqual(scoped.map((e) => e.id), ["whe_1", "whe_2", "whe_3"])
        assert.deepStrictEqual(yield* store.list(10, null, { businessManagerIds: [], channelIds: [] }), [])
      })))

    it.effect("covering: every endpoint, paused or not, with one of the Business Managers or channels", () =>
      run(Effect.gen(function*() {
        const store = yield* WebhookEndpoints
        yield* store.insert(endpoint("whe_1", { businessManagerIds: ["bm1"] }))
        yield* store.insert(endpoint("whe_2", { businessManagerIds: ["bm2"], paused: { at: 1, reason: "by the operator" } }))
        yield* store.insert(endpoint("whe_3", { businessManagerIds: [], channelIds: ["106540352242922"] }))
        yield* store.insert(endpoint("whe_4", { businessManagerIds: ["bm4"] }))
        const ids = (found: ReadonlyArray<WebhookEndpointRecord>) => found.map((e) => e.id).sort()
        assert.deepStrictEqual(ids(yield* store.covering(["bm1", "bm2"], [])), ["whe_1", "whe_2"])
        assert.deepStrictEqual(ids(yield* store.covering(["bm4"], ["106540352242922"])), ["whe_3", "whe_4"])
        assert.deepStrictEqual(yield* store.covering([], []), [])
        assert.deepStrictEqual(yield* store.covering(["bm7"], ["106540352242999"]), [])
      })))

    it.effect("update changes what it names and keeps the rest; pausing and resuming; an unknown id is null", () =>
      run(Effect.gen(function*() {
        const store = yield* WebhookEndpoints
        yield* store.insert(endpoint("whe_1"))
        const changed = yield* store.update("whe_1", { events: ["clicks"], url: "https://crm.example.com/v2" }, 2_000)
        assert.deepStrictEqual(changed, { ...endpoint("whe_1"), events: ["clicks"], url: "https://crm.example.com/v2", updatedAt: 2_000 })
        const paused = yield* store.update("whe_1", { paused: { at: 3_000, reason: "by the operator" } }, 3_000)
        assert.deepStrictEqual(paused?.paused, { at: 3_000, reason: "by the operator" })
        assert.deepStrictEqual(paused?.events, ["clicks"])
        const resumed = yield* store.update("whe_1", { paused: null, secretCiphertext: "rotated" }, 4_000)
        assert.deepStrictEqual([resumed?.paused, resumed?.secretCiphertext, resumed?.updatedAt], [null, "rotated", 4_000])
        assert.deepStrictEqual(yield* store.find("whe_1"), resumed)
        assert.isNull(yield* store.update("whe_2", { paused: null }, 5_000))
      })))

    it.effect("recordAttempt: a failure sets failingSince when clear (the first failure's time stays), a success clears it", () =>
      run(Effect.gen(function*() {
        const store = yield* WebhookEndpoints
        yield* store.insert(endpoint("whe_1"))
        assert.strictEqual((yield* store.recordAttempt("whe_1", false, 10))?.failingSince, 10)
        assert.strictEqual((yield* store.recordAttempt("whe_1", false, 20))?.failingSince, 10)
        assert.isNull((yield* store.recordAttempt("whe_1", true, 30))?.failingSince)
        assert.strictEqual((yield* store.recordAttempt("whe_1", false, 40))?.failingSince, 40)
        assert.strictEqual((yield* store.find("whe_1"))?.failingSince, 40)
        assert.isNull(yield* store.recordAttempt("whe_9", false, 50))
      })))

    it.effect("remove: gone, and removing again is false", () =>
      run(Effect.gen(function*() {
        const store = yield* WebhookEndpoints
        yield* store.insert(endpoint("whe_1"))
        yield* store.insert(endpoint("whe_2"))
        assert.isTrue(yield* store.remove("whe_1"))
        assert.isFalse(yield* store.remove("whe_1"))
        assert.isNull(yield* store.find("whe_1"))
        assert.deepStrictEqual((yield* store.list(10, null, null)).map((e) => e.id), ["whe_2"])
      })))
  })
}

/**
 * The `ForwardingOutbox` contract: deliveries enqueued once, claimed when due (one claimant at a time,
 * none of a paused endpoint), delivered or retried or given up, listed newest first, replayed,
 * resumed, summed up. The store holds both ports (deliveries belong to endpoints). `makeStore` must
 * give a fresh, empty store each time it is built.
 */
export const forwardingOutboxContract = (name: string, makeStore: () => Layer.Layer<ForwardingOutbox | WebhookEndpoints>) => {
  const run = <A, E>(effect: Effect.Effect<A, E, ForwardingOutbox | WebhookEndpoints>) => Effect.provide(effect, makeStore())
  const withEndpoints = (...ids: ReadonlyArray<string>) =>
    Effect.gen(function*() {
      const endpoints = yield* WebhookEndpoints
      for (const id of ids) yield* endpoints.insert(endpoint(id))
      return yield* ForwardingOutbox
    })

  describe(`ForwardingOutbox contract: ${name}`, () => {
    it.effect("a delivery is kept as it was enqueued, pending and due at once; enqueueing the same id again adds nothing", () =>
      run(Effect.gen(function*() {
        const outbox = yield* withEndpoints("whe_1")
        const d = delivery("dlv_1", "whe_1", 7, { events: ["messages", "statuses"], body: bytes('{"é":"\\u00e9"}') })
        yield* outbox.enqueue([d])
        yield* outbox.enqueue([{ ...d, body: bytes("other"), createdAt: 5_000 }])
        const stored = yield* outbox.get("dlv_1")
        assert.isNotNull(stored)
        assert.deepStrictEqual(
          { ...stored!, body: text(stored!.body) },
          {
            ...d,
            body: '{"é":"\\u00e9"}',
            state: "pending",
            attempts: 0,
            nextAttemptAt: 1_000,
            lastAttemptAt: null,
            lastStatus: null,
            lastError: null,
            deliveredAt: null,
            latencyMs: null,
            replayedAt: null
          }
        )
        assert.isNull(yield* outbox.get("dlv_2"))
        assert.strictEqual((yield* outbox.summary(0)).pending, 1)
        // A status the gateway makes itself comes from no inbox row.
        yield* outbox.enqueue([delivery("dlv_own", "whe_1", 0, { inboxId: null })])
        assert.isNull((yield* outbox.get("dlv_own"))!.inboxId)
      })))

    it.effect("claimDue: due deliveries earliest first, claimed by one claimant until the claim lapses; none of a paused endpoint", () =>
      run(Effect.gen(function*() {
        const outbox = yield* withEndpoints("whe_1", "whe_2")
        const endpoints = yield* WebhookEndpoints
        yield* outbox.enqueue([
          delivery("dlv_b", "whe_1", 2, { createdAt: 200 }),
          delivery("dlv_a", "whe_1", 1, { createdAt: 100 }),
          delivery("dlv_c", "whe_2", 3, { createdAt: 300 }),
          delivery("dlv_later", "whe_1", 4, { createdAt: 10_000 })
        ])
        const first = yield* outbox.claimDue(2, "w1", 1_000, 5_000)
        assert.deepStrictEqual(first.map((d) => d.id), ["dlv_a", "dlv_b"])
        assert.deepStrictEqual((yield* outbox.claimDue(10, "w2", 1_000, 5_000)).map((d) => d.id), ["dlv_c"])
        assert.deepStrictEqual(yield* outbox.claimDue(10, "w3", 1_000, 5_000), [])
        // What a claimant holds is not handed to it again: it has them in hand.
        assert.deepStrictEqual(yield* outbox.claimDue(10, "w1", 1_000, 5_000), [])
        // The claims lapse; a paused endpoint's deliveries are not handed out.
        yield* endpoints.update("whe_2", { paused: { at: 2_000, reason: "by the operator" } }, 2_000)
        assert.deepStrictEqual((yield* outbox.claimDue(10, "w3", 6_000, 5_000)).map((d) => d.id), ["dlv_a", "dlv_b"])
        assert.deepStrictEqual((yield* outbox.claimDue(10, "w4", 20_000, 5_000)).map((d) => d.id), ["dlv_a", "dlv_b", "dlv_later"])
      })))

    it.effect("claimDue: a paused endpoint's due deliveries are held as a claim passes them, hold back no other endpoint, and are due again once it is active", () =>
      run(Effect.gen(function*() {
        const outbox = yield* withEndpoints("whe_1", "whe_2")
        const endpoints = yield* WebhookEndpoints
        yield* endpoints.update("whe_2", { paused: { at: 50, reason: "by the operator" } }, 50)
        // More of the paused endpoint's deliveries are due before the other's than one claim asks for.
        const backlog = Array.from({ length: 30 }, (_, i) => delivery(`dlv_p${String(i).padStart(2, "0")}`, "whe_2", i, { createdAt: 100 + i }))
        yield* outbox.enqueue([...backlog, delivery("dlv_a", "whe_1", 100, { createdAt: 500 }), delivery("dlv_b", "whe_1", 101, { createdAt: 600 })])
        assert.deepStrictEqual((yield* outbox.claimDue(2, "w1", 1_000, 5_000)).map((d) => d.id), ["dlv_a", "dlv_b"])
        // Held: pending, with no next attempt, so later claims do not pass them again.
        const held = (yield* outbox.get("dlv_p00"))!
        assert.deepStrictEqual([held.state, held.nextAttemptAt, held.attempts], ["pending", null, 0])
        assert.strictEqual((yield* outbox.summary(0)).pending, 32)
        assert.deepStrictEqual(yield* outbox.claimDue(10, "w2", 1_000, 5_000), [])
        // A delivery of the paused endpoint enqueued later is held too, once passed.
        yield* outbox.enqueue([delivery("dlv_p_late", "whe_2", 200, { createdAt: 1_500 })])
        assert.deepStrictEqual(yield* outbox.claimDue(10, "w2", 2_000, 5_000), [])
        assert.isNull((yield* outbox.get("dlv_p_late"))!.nextAttemptAt)
        // Active again (however the pause was lifted): the next claim makes them due at its time.
        yield* endpoints.update("whe_2", { paused: null }, 3_000)
        const released = yield* outbox.claimDue(50, "w3", 3_000, 5_000)
        assert.deepStrictEqual(released.map((d) => d.id), [...backlog.map((d) => d.id), "dlv_p_late"])
        assert.deepStrictEqual([...new Set(released.map((d) => d.nextAttemptAt))], [3_000])
      })))

    it.effect("delivered: attempts counted, latency from the webhook's receipt, never handed out again", () =>
      run(Effect.gen(function*() {
        const outbox = yield* withEndpoints("whe_1")
        yield* outbox.enqueue([delivery("dlv_1", "whe_1", 1, { receivedAt: 900 })])
        yield* outbox.claimDue(10, "w1", 1_000, 5_000)
        yield* outbox.delivered("dlv_1", 1_150, 204)
        const d = yield* outbox.get("dlv_1")
        assert.deepStrictEqual(outcome(d), { state: "delivered", attempts: 1, nextAttemptAt: null, lastStatus: 204, lastError: null, deliveredAt: 1_150 })
        assert.deepStrictEqual([d!.lastAttemptAt, d!.latencyMs], [1_150, 250])
        assert.deepStrictEqual(yield* outbox.claimDue(10, "w1", 100_000, 5_000), [])
        const summary = yield* outbox.summary(0)
        assert.deepStrictEqual(summary, { pending: 0, retrying: 0, failed: 0, oldestPendingAt: null, latency: { count: 1, p50: 250, p99: 250 } })
      })))

    it.effect("dropFinished: delivered and failed deliveries created before the time are forgotten, oldest first, a batch at a time; pending ones stay", () =>
      run(Effect.gen(function*() {
        const outbox = yield* withEndpoints("whe_1")
        yield* outbox.enqueue([
          delivery("dlv_old_delivered", "whe_1", 1, { createdAt: 100 }),
          delivery("dlv_old_failed", "whe_1", 2, { createdAt: 200 }),
          delivery("dlv_old_pending", "whe_1", 3, { createdAt: 300 }),
          delivery("dlv_new", "whe_1", 4, { createdAt: 5_000 })
        ])
        yield* outbox.claimDue(10, "w1", 10_000, 5_000)
        yield* outbox.delivered("dlv_old_delivered", 10_100, 200)
        yield* outbox.attemptFailed("dlv_old_failed", 10_100, 410, "HTTP 410", null)
        yield* outbox.delivered("dlv_new", 10_100, 200)
        assert.strictEqual(yield* outbox.dropFinished(100, 10), 0)
        assert.strictEqual(yield* outbox.dropFinished(1_000, 1), 1)
        assert.isNull(yield* outbox.get("dlv_old_delivered"))
        assert.strictEqual((yield* outbox.get("dlv_old_failed"))?.state, "failed")
        assert.strictEqual(yield* outbox.dropFinished(1_000, 10), 1)
        assert.deepStrictEqual(
          [yield* outbox.get("dlv_old_failed"), (yield* outbox.get("dlv_old_pending"))?.state, (yield* outbox.get("dlv_new"))?.state],
          [null, "pending", "delivered"]
        )
        assert.deepStrictEqual((yield* outbox.list("whe_1", 10, null, null)).items.map((d) => d.id), ["dlv_new", "dlv_old_pending"])
      })))

    it.effect("attemptFailed: pending again at the retry time with the error kept, or failed when given up", () =>
      run(Effect.gen(function*() {
        const outbox = yield* withEndpoints("whe_1")
        yield* outbox.enqueue([delivery("dlv_1", "whe_1", 1), delivery("dlv_2", "whe_1", 2)])
        yield* outbox.claimDue(10, "w1", 1_000, 60_000)
        yield* outbox.attemptFailed("dlv_1", 1_100, 503, "HTTP 503", 3_000)
        yield* outbox.attemptFailed("dlv_2", 1_100, null, "connection refused", null)
        assert.deepStrictEqual(outcome(yield* outbox.get("dlv_1")), {
          state: "pending", attempts: 1, nextAttemptAt: 3_000, lastStatus: 503, lastError: "HTTP 503", deliveredAt: null
        })
        assert.deepStrictEqual(outcome(yield* outbox.get("dlv_2")), {
          state: "failed", attempts: 1, nextAttemptAt: null, lastStatus: null, lastError: "connection refused", deliveredAt: null
        })
        // Not due before its retry time; the failed claim was released, so it is handed out then.
        assert.deepStrictEqual(yield* outbox.claimDue(10, "w2", 2_999, 60_000), [])
        assert.deepStrictEqual((yield* outbox.claimDue(10, "w2", 3_000, 60_000)).map((d) => d.id), ["dlv_1"])
        const summary = yield* outbox.summary(0)
        assert.deepStrictEqual([summary.pending, summary.retrying, summary.failed, summary.oldestPendingAt], [1, 1, 1, 1_000])
      })))

    it.effect("list: an endpoint's deliveries newest first in pages, narrowed by state; another endpoint's are not there", () =>
      run(Effect.gen(function*() {
        const outbox = yield* withEndpoints("whe_1", "whe_2")
        const made = Array.from({ length: 7 }, (_, i) => delivery(`dlv_${i}`, "whe_1", i, { createdAt: 1_000 + i }))
        yield* outbox.enqueue([...made, delivery("dlv_other", "whe_2", 99)])
        yield* outbox.claimDue(2, "w1", 2_000, 60_000)
        yield* outbox.delivered("dlv_0", 2_100, 200)
        yield* outbox.delivered("dlv_1", 2_100, 200)
        const all = yield* walkPages(3, (cursor) => outbox.list("whe_1", 3, cursor, null))
        assert.deepStrictEqual(all.map((d) => d.id), ["dlv_6", "dlv_5", "dlv_4", "dlv_3", "dlv_2", "dlv_1", "dlv_0"])
        assert.deepStrictEqual((yield* outbox.list("whe_1", 10, null, "delivered")).items.map((d) => d.id), ["dlv_1", "dlv_0"])
        assert.deepStrictEqual((yield* outbox.list("whe_1", 10, null, "failed")).items, [])
        assert.deepStrictEqual((yield* outbox.list("whe_2", 10, null, null)).items.map((d) => d.id), ["dlv_other"])
      })))

    it.effect("replay: one delivery or a range back to pending with a new deadline, not counted in latency; pending ones and other endpoints' untouched", () =>
      run(Effect.gen(function*() {
        const outbox = yield* withEndpoints("whe_1", "whe_2")
        yield* outbox.enqueue([
          delivery("dlv_1", "whe_1", 1, { createdAt: 100 }),
          delivery("dlv_2", "whe_1", 2, { createdAt: 200 }),
          delivery("dlv_3", "whe_1", 3, { createdAt: 300 }),
          delivery("dlv_4", "whe_2", 4, { createdAt: 200 })
        ])
        yield* outbox.claimDue(10, "w1", 1_000, 60_000)
        yield* outbox.delivered("dlv_1", 1_100, 200)
        yield* outbox.attemptFailed("dlv_2", 1_100, 410, "HTTP 410", null)
        yield* outbox.delivered("dlv_4", 1_100, 200)
        assert.strictEqual(yield* outbox.replay("whe_1", { _tag: "Delivery", deliveryId: "dlv_1" }, 5_000, 90_000), 1)
        assert.strictEqual(yield* outbox.replay("whe_1", { _tag: "Delivery", deliveryId: "dlv_4" }, 5_000, 90_000), 0)
        assert.strictEqual(yield* outbox.replay("whe_1", { _tag: "Range", from: 150, to: 350 }, 6_000, 90_000), 1)
        const d1 = (yield* outbox.get("dlv_1"))!
        assert.deepStrictEqual([d1.state, d1.nextAttemptAt, d1.deadline, d1.replayedAt, d1.attempts], ["pending", 5_000, 90_000, 5_000, 1])
        assert.deepStrictEqual([(yield* outbox.get("dlv_2"))!.state, (yield* outbox.get("dlv_2"))!.replayedAt], ["pending", 6_000])
        assert.strictEqual((yield* outbox.get("dlv_3"))!.attempts, 0)
        assert.strictEqual((yield* outbox.get("dlv_4"))!.state, "delivered")
        assert.deepStrictEqual((yield* outbox.claimDue(10, "w2", 6_000, 60_000)).map((d) => d.id).sort(), ["dlv_1", "dlv_2"])
        yield* outbox.delivered("dlv_1", 7_000, 200)
        assert.isNull((yield* outbox.get("dlv_1"))!.latencyMs, "a replay is not a webhook's latency")
      })))

    it.effect("resume: the endpoint's pending deliveries due at once with a new deadline, held ones too", () =>
      run(Effect.gen(function*() {
        const outbox = yield* withEndpoints("whe_1", "whe_2")
        const endpoints = yield* WebhookEndpoints
        yield* outbox.enqueue([delivery("dlv_1", "whe_1", 1), delivery("dlv_2", "whe_2", 2)])
        yield* outbox.claimDue(10, "w1", 1_000, 60_000)
        yield* outbox.attemptFailed("dlv_1", 1_100, 500, "HTTP 500", 50_000)
        yield* outbox.attemptFailed("dlv_2", 1_100, 500, "HTTP 500", 50_000)
        yield* endpoints.update("whe_1", { paused: { at: 1_200, reason: "by the operator" } }, 1_200)
        yield* outbox.enqueue([delivery("dlv_3", "whe_1", 3, { createdAt: 1_300 })])
        yield* outbox.claimDue(10, "w1", 1_400, 60_000)
        assert.isNull((yield* outbox.get("dlv_3"))!.nextAttemptAt)
        yield* endpoints.update("whe_1", { paused: null }, 2_000)
        assert.strictEqual(yield* outbox.resume("whe_1", 2_000, 99_000), 2)
        const d1 = (yield* outbox.get("dlv_1"))!
        assert.deepStrictEqual([d1.nextAttemptAt, d1.deadline], [2_000, 99_000])
        const d3 = (yield* outbox.get("dlv_3"))!
        assert.deepStrictEqual([d3.nextAttemptAt, d3.deadline], [2_000, 99_000])
        assert.strictEqual((yield* outbox.get("dlv_2"))!.nextAttemptAt, 50_000)
      })))

    it.effect("health per endpoint, and an endpoint removed takes its deliveries with it", () =>
      run(Effect.gen(function*() {
        const outbox = yield* withEndpoints("whe_1", "whe_2")
        const endpoints = yield* WebhookEndpoints
        yield* outbox.enqueue([delivery("dlv_1", "whe_1", 1), delivery("dlv_2", "whe_1", 2), delivery("dlv_3", "whe_2", 3)])
        yield* outbox.claimDue(10, "w1", 1_000, 60_000)
        yield* outbox.delivered("dlv_1", 1_200, 200)
        yield* outbox.attemptFailed("dlv_2", 1_300, null, "timed out after 10 s", null)
        const health = yield* outbox.health(["whe_1", "whe_2", "whe_9"])
        assert.deepStrictEqual([...health].sort((a, b) => a.endpointId.localeCompare(b.endpointId)), [
          { endpointId: "whe_1", pending: 0, failed: 1, lastDeliveredAt: 1_200, lastError: "timed out after 10 s" },
          { endpointId: "whe_2", pending: 1, failed: 0, lastDeliveredAt: null, lastError: null },
          { endpointId: "whe_9", pending: 0, failed: 0, lastDeliveredAt: null, lastError: null }
        ])
        assert.isTrue(yield* endpoints.remove("whe_1"))
        assert.isNull(yield* outbox.get("dlv_1"))
        assert.strictEqual((yield* outbox.summary(0)).failed, 0)
        assert.strictEqual((yield* outbox.get("dlv_3"))?.endpointId, "whe_2")
      })))

    it.effect("summary: latency percentiles over what was delivered since the time asked", () =>
      run(Effect.gen(function*() {
        const outbox = yield* withEndpoints("whe_1")
        const made = Array.from({ length: 100 }, (_, i) => delivery(`dlv_${String(i).padStart(3, "0")}`, "whe_1", i, { receivedAt: 0 }))
        yield* outbox.enqueue(made)
        yield* outbox.claimDue(100, "w1", 1_000, 60_000)
        for (const [i, d] of made.entries()) yield* outbox.delivered(d.id, 10 * (i + 1), 200)
        const all = yield* outbox.summary(0)
        assert.deepStrictEqual(all.latency, { count: 100, p50: 500, p99: 990 })
        const recent = yield* outbox.summary(901)
        assert.deepStrictEqual(recent.latency, { count: 10, p50: 950, p99: 1_000 })
        assert.deepStrictEqual((yield* outbox.summary(5_000)).latency, { count: 0, p50: null, p99: null })
      })))
  })
}
