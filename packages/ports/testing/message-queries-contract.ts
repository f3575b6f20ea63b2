import { assert, describe, it } from "@effect/vitest"
import { CommandHandler, Streams } from "@mm-gateway/domain"
import { Effect, type Layer } from "effect"
import { MessageQueries, type TenantScope } from "../src/queries.js"
import * as ReadViews from "../src/views.js"
import {
  accepted,
  attributeClick,
  begin,
  caughtUp,
  dispatch,
  markDispatchUnknown,
  noAnswer,
  type ReadSide,
  refused,
  send,
  settle,
  status,
  twoTenants
} from "./facts.js"

const businessManagers = (...businessManagerIds: Array<string>): TenantScope => ({ businessManagerIds, channelIds: [] })

/** JSON, as every store but the in-memory one keeps its views: compare like with like. */
const plain = <A>(a: A): A => JSON.parse(JSON.stringify(a)) as A

/** The message as the fold of its own stream shows it: what the read model must answer. */
const folded = (id: string) =>
  Effect.map(CommandHandler.loadState(Streams.MessageStream, Streams.streamId.message(id)), ({ state }) =>
    state._tag === "Requested" ? plain(ReadViews.messageResource(state.message)) : null)

/**
 * The `MessageQueries` contract: one message as the API shows it (docs/api.md#resources), messages by
 * wamid, and a campaign's funnel, also scoped to a tenant's Business Managers. Facts come through the
 * domain's use cases. `makeStore` must give a fresh, empty store each time it is built.
 */
export const messageQueriesContract = (name: string, makeStore: () => Layer.Layer<ReadSide<MessageQueries>>) => {
  const run = <A, E>(effect: Effect.Effect<A, E, ReadSide<MessageQueries>>) => Effect.provide(effect, makeStore())

  describe(`MessageQueries contract: ${name}`, () => {
    it.effect("an accepted message as the API shows it: channel, WABA, recipient, campaign, callback data, template, route, dispatch", () =>
      run(Effect.gen(function*() {
        const read = yield* MessageQueries
        yield* twoTenants
        yield* send({ id: "m1", channel: "100", at: 1_000, to: "16505550001", campaign: "spring", callbackData: "client-7" })
        yield* caughtUp
        const m = yield* read.message("m1")
        assert.deepStrictEqual(
          [m?.id, m?.channel, m?.wabaId, m?.to, m?.campaignId, m?.clientCallbackData, m?.template, m?.status, m?.wamid, m?.dispatch],
          ["m1", "100", "10", "16505550001", "spring", "client-7", { name: "spring_sale", language: "en", category: "MARKETING" }, "accepted", null, {
            phase: "Ready",
            attempt: 1
          }]
        )
        assert.deepStrictEqual([m?.route.decided, m?.route.observed, m?.route.rerouted], ["marketing_messages", null, []])
        assert.isAbove(m?.route.reasons.length ?? 0, 0)
        assert.strictEqual(m?.timestamps.acceptedAt, 1_000)
        assert.deepStrictEqual(plain(m), yield* folded("m1"))
        assert.isNull(yield* read.message("m2"))
      })))

    it.effect("a message followed to read: wamid, statuses joined whatever their order, pricing and the route observed", () =>
      run(Effect.gen(function*() {
        const read = yield* MessageQueries
        yield* twoTenants
        yield* send({ id: "m1", channel: "100", at: 1_000 })
        const ticket = yield* begin("m1", 1, 1_100)
        yield* caughtUp
        assert.deepStrictEqual((yield* read.message("m1"))?.dispatch, { phase: "InFlight", attempt: 1 })
        yield* settle(ticket, accepted("wamid.1"), 1_200)
        yield* status({ channel: "100", wamid: "wamid.1", status: "read", timestamp: 1_400, pricingCategory: "marketing_lite" })
        yield* status({ channel: "100", wamid: "wamid.1", status: "sent", timestamp: 1_300, pricingCategory: "marketing_lite" })
        yield* caughtUp
        const m = yield* read.message("m1")
        assert.deepStrictEqual([m?.status, m?.wamid, m?.route.observed, m?.routeMismatch, m?.dispatch.phase], ["read", "wamid.1", "marketing_messages", false, "Submitted"])
        assert.deepStrictEqual(m?.timestamps, {
          acceptedAt: 1_000,
          submittedAt: 1_200,
          sentAt: 1_300,
          deliveredAt: 1_400,
          readAt: 1_400,
          failedAt: null,
          expiredAt: null
        })
        assert.deepStrictEqual(m?.pricing, { category: "marketing_lite", pricingModel: "PMP", type: "regular", billable: true })
        assert.deepStrictEqual(plain(m), yield* folded("m1"))
      })))

    it.effect("a route mismatch, a failure after delivery and the provider's errors are shown", () =>
      run(Effect.gen(function*() {
        const read = yield* MessageQueries
        yield* twoTenants
        yield* send({ id: "m1", channel: "100", at: 1_000 })
        yield* dispatch("m1", 1, 1_100, accepted("wamid.1"))
        yield* status({ channel: "100", wamid: "wamid.1", status: "delivered", timestamp: 1_300, pricingCategory: "marketing" })
        yield* status({ channel: "100", wamid: "wamid.1", status: "failed", timestamp: 1_400, errorCode: 131026 })
        yield* send({ id: "m2", channel: "100", at: 1_000, to: "16505550002" })
        yield* dispatch("m2", 1, 1_100, refused(131026))
        yield* caughtUp
        const m1 = yield* read.message("m1")
        assert.deepStrictEqual([m1?.status, m1?.route.observed, m1?.routeMismatch, m1?.failedAfterDelivery], ["delivered", "cloud_api", true, true])
        const m2 = yield* read.message("m2")
        assert.deepStrictEqual([m2?.status, m2?.errors.map((e) => e.code), m2?.dispatch.phase], ["failed", [131026], "Failed"])
        assert.deepStrictEqual([plain(m1), plain(m2)], [yield* folded("m1"), yield* folded("m2")])
      })))

    it.effect("messages by wamid: the messages carrying it, none for an unknown one", () =>
      run(Effect.gen(function*() {
        const read = yield* MessageQueries
        yield* twoTenants
        yield* send({ id: "m1", channel: "100", at: 1_000 })
        yield* send({ id: "m2", channel: "100", at: 1_000, to: "16505550002" })
        yield* dispatch("m1", 1, 1_100, accepted("wamid.1"))
        yield* dispatch("m2", 1, 1_100, accepted("wamid.2"))
        yield* caughtUp
        assert.deepStrictEqual((yield* read.messagesByWamid("wamid.2")).map((m) => [m.id, m.wamid]), [["m2", "wamid.2"]])
        assert.deepStrictEqual(yield* read.messagesByWamid("wamid.3"), [])
      })))

    it.effect("campaign stats: the funnel counts the messages that reached at least each stage, with routes, failures and codes", () =>
      run(Effect.gen(function*() {
        const read = yield* MessageQueries
        yield* twoTenants
        for (const [id, to] of [["a", "16505550001"], ["b", "16505550002"], ["c", "16505550003"], ["d", "16505550004"]] as const) {
          yield* send({ id, channel: "100", at: 10, to })
        }
        yield* send({ id: "e", channel: "101", at: 10, to: "16505550005" })
        yield* send({ id: "other", channel: "100", at: 10, to: "16505550006", campaign: "c2" })
        yield* dispatch("a", 1, 11, accepted("w.a"))
        yield* dispatch("b", 1, 11, accepted("w.b"))
        yield* dispatch("c", 1, 11, accepted("w.c"))
        yield* dispatch("d", 1, 11, refused(131026))
        yield* dispatch("e", 1, 11, noAnswer)
        yield* markDispatchUnknown("e", 1_000)
        yield* status({ channel: "100", wamid: "w.a", status: "read", timestamp: 20, pricingCategory: "marketing_lite", recipient: "16505550001" })
        yield* attributeClick("a", "click-1", 30)
        yield* status({ channel: "100", wamid: "w.b", status: "delivered", timestamp: 20, pricingCategory: "marketing_lite", recipient: "16505550002" })
        yield* status({ channel: "100", wamid: "w.c", status: "sent", timestamp: 15, pricingCategory: "marketing", recipient: "16505550003" })
        yield* status({ channel: "100", wamid: "w.c", status: "failed", timestamp: 20, errorCode: 131049, recipient: "16505550003" })
        yield* caughtUp
        assert.deepStrictEqual(yield* read.campaignStats("c1"), {
          campaignId: "c1",
          funnel: { accepted: 5, submitted: 3, sent: 3, delivered: 2, read: 1, clicked: 1, landingPageViews: 0 },
          routed: { marketing_messages: 4, cloud_api: 1 },
          observedRoute: { marketing_messages: 2, cloud_api: 1, unknown: 2 },
          queued: 0,
          failed: 2,
          expired: 0,
          dispatchUnknown: 1,
          routeMismatch: 1,
          failuresByCode: { "131026": 1, "131049": 1 }
        })
        const other = yield* read.campaignStats("c2")
        assert.deepStrictEqual([other.funnel.accepted, other.queued], [1, 1])
      })))

    it.effect("campaign stats of a campaign without messages are zeros", () =>
      run(Effect.gen(function*() {
        const read = yield* MessageQueries
        yield* caughtUp
        assert.deepStrictEqual(yield* read.campaignStats("none"), {
          campaignId: "none",
          funnel: { accepted: 0, submitted: 0, sent: 0, delivered: 0, read: 0, clicked: 0, landingPageViews: 0 },
          routed: { marketing_messages: 0, cloud_api: 0 },
          observedRoute: { marketing_messages: 0, cloud_api: 0, unknown: 0 },
          queued: 0,
          failed: 0,
          expired: 0,
          dispatchUnknown: 0,
          routeMismatch: 0,
          failuresByCode: {}
        })
      })))

    it.effect("campaign stats: queued counts the messages still accepted (waiting, backing off, in flight, outcome unknown), nothing the provider took or that is final", () =>
      run(Effect.gen(function*() {
        const read = yield* MessageQueries
        yield* twoTenants
        const ids = ["waiting", "backing-off", "in-flight", "unknown", "submitted", "failed", "marked-unknown", "seen"]
        for (const [i, id] of ids.entries()) yield* send({ id, channel: "100", at: 10, to: `1650555100${i}` })
        yield* send({ id: "elsewhere", channel: "100", at: 10, to: "16505551009", campaign: "c2" })
        yield* dispatch("backing-off", 1, 11, refused(130429))
        yield* begin("in-flight", 1, 11)
        yield* dispatch("unknown", 1, 11, noAnswer)
        yield* dispatch("submitted", 1, 11, accepted("w.submitted"))
        yield* dispatch("failed", 1, 11, refused(131026))
        yield* dispatch("marked-unknown", 1, 11, noAnswer)
        yield* markDispatchUnknown("marked-unknown", 1_000)
        // A status webhook proves the provider took it, even with the dispatch result still unknown.
        yield* dispatch("seen", 1, 11, noAnswer)
        yield* status({ channel: "100", wamid: "w.seen", status: "sent", timestamp: 13, callbackData: "seen", recipient: "16505551007" })
        yield* caughtUp
        const stats = yield* read.campaignStats("c1")
        assert.deepStrictEqual([stats.funnel.accepted, stats.queued, stats.funnel.submitted, stats.failed, stats.dispatchUnknown], [8, 4, 2, 1, 1])
        assert.strictEqual((yield* read.campaignStats("c2")).queued, 1)
        for (const id of ["waiting", "backing-off", "in-flight", "unknown"]) assert.strictEqual((yield* read.message(id))?.status, "accepted")
      })))

    it.effect("campaign stats scoped to Business Managers: two tenants sharing a campaign id see only their own messages", () =>
      run(Effect.gen(function*() {
        const read = yield* MessageQueries
        yield* twoTenants
        // Tenant 1 (onboarded): one read, one failed with 131049, one queued.
        yield* send({ id: "a1", channel: "100", at: 10, to: "16505550001" })
        yield* send({ id: "a2", channel: "100", at: 10, to: "16505550002" })
        yield* send({ id: "a3", channel: "100", at: 10, to: "16505550003" })
        // Tenant 2 (not onboarded: the Cloud API), same campaign id: one delivered, one failed at dispatch.
        yield* send({ id: "b1", channel: "200", at: 10, to: "16505550001" })
        yield* send({ id: "b2", channel: "200", at: 10, to: "16505550002" })
        yield* dispatch("a1", 1, 11, accepted("w.a1"))
        yield* dispatch("a2", 1, 11, accepted("w.a2"))
        yield* dispatch("b1", 1, 11, accepted("w.b1"))
        yield* dispatch("b2", 1, 11, refused(131026))
        yield* status({ channel: "100", wamid: "w.a1", status: "read", timestamp: 13, pricingCategory: "marketing_lite", recipient: "16505550001" })
        yield* status({ channel: "100", wamid: "w.a2", status: "failed", timestamp: 13, errorCode: 131049, recipient: "16505550002" })
        yield* status({ channel: "200", wamid: "w.b1", status: "delivered", timestamp: 13, pricingCategory: "marketing", recipient: "16505550001" })
        yield* caughtUp
        const everyone = yield* read.campaignStats("c1")
        const tenant1 = yield* read.campaignStats("c1", businessManagers("1"))
        const tenant2 = yield* read.campaignStats("c1", businessManagers("2"))
        assert.deepStrictEqual(
          [everyone, tenant1, tenant2].map((s) => [s.funnel.accepted, s.funnel.submitted, s.funnel.delivered, s.funnel.read, s.queued, s.failed]),
          [[5, 3, 2, 1, 1, 2], [3, 2, 1, 1, 1, 1], [2, 1, 1, 0, 0, 1]]
        )
        assert.deepStrictEqual([everyone, tenant1, tenant2].map((s) => [s.routed, s.observedRoute]), [
          [{ marketing_messages: 3, cloud_api: 2 }, { marketing_messages: 1, cloud_api: 1, unknown: 3 }],
          [{ marketing_messages: 3, cloud_api: 0 }, { marketing_messages: 1, cloud_api: 0, unknown: 2 }],
          [{ marketing_messages: 0, cloud_api: 2 }, { marketing_messages: 0, cloud_api: 1, unknown: 1 }]
        ])
        assert.deepStrictEqual([everyone.failuresByCode, tenant1.failuresByCode, tenant2.failuresByCode], [
          { "131026": 1, "131049": 1 },
          { "131049": 1 },
          { "131026": 1 }
        ])
        assert.deepStrictEqual(yield* read.campaignStats("c1", businessManagers("1", "2")), everyone)
        assert.deepStrictEqual(yield* read.campaignStats("c1", null), everyone)
        assert.strictEqual((yield* read.campaignStats("c1", businessManagers())).funnel.accepted, 0)
        assert.strictEqual((yield* read.campaignStats("c1", businessManagers("3"))).funnel.accepted, 0)
      })))

    it.effect("campaign stats scoped to channels: a channel's messages only, added to its Business Managers' without counting one twice", () =>
      run(Effect.gen(function*() {
        const read = yield* MessageQueries
        yield* twoTenants
        yield* send({ id: "a1", channel: "100", at: 10, to: "16505550001" })
        yield* send({ id: "a2", channel: "101", at: 10, to: "16505550002" })
        yield* send({ id: "a3", channel: "101", at: 10, to: "16505550003" })
        yield* send({ id: "b1", channel: "200", at: 10, to: "16505550001" })
        yield* dispatch("a2", 1, 11, refused(131026))
        yield* caughtUp
        const counted = (scope: TenantScope) =>
          Effect.map(read.campaignStats("c1", scope), (s) => [s.funnel.accepted, s.failed, s.failuresByCode])
        assert.deepStrictEqual(yield* counted({ businessManagerIds: [], channelIds: ["101"] }), [2, 1, { "131026": 1 }])
        assert.deepStrictEqual(yield* counted({ businessManagerIds: [], channelIds: ["100"] }), [1, 0, {}])
        assert.deepStrictEqual(yield* counted({ businessManagerIds: [], channelIds: ["200", "999"] }), [1, 0, {}])
        assert.deepStrictEqual(yield* counted({ businessManagerIds: ["2"], channelIds: ["100"] }), [2, 0, {}])
        assert.deepStrictEqual(yield* counted({ businessManagerIds: ["1"], channelIds: ["100", "101"] }), [3, 1, { "131026": 1 }])
        assert.deepStrictEqual(yield* counted({ businessManagerIds: [], channelIds: [] }), [0, 0, {}])
      })))
  })
}
