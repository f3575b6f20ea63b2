import { assert, describe, it } from "@effect/vitest"
import { EventStore } from "@mm-gateway/domain"
import { Effect } from "effect"
import { SqliteDatabase } from "../src/database.js"
import { layer } from "../src/layers.js"
import { ReadModels } from "../src/read-models.js"
import {
  attributeClick,
  businessTermsSigned,
  changeRouting,
  dispatchFailed,
  dispatchOutcomeUnknown,
  dispatchSucceeded,
  ids,
  markDispatchUnknown,
  observe,
  recordTemplate,
  registerBm,
  registerChannel,
  registerWaba,
  requestMessage,
  run,
  startDispatch,
  suspend,
  userAction,
  wabaTermsSigned
} from "./support.js"

const withStore = <A, E>(effect: Effect.Effect<A, E, ReadModels | EventStore.EventStore | SqliteDatabase>) =>
  Effect.provide(effect, layer({ path: ":memory:" }))

const all = (commands: ReadonlyArray<Parameters<typeof run>[0]>) =>
  Effect.forEach(commands, (c) => run(c), { discard: true })

describe("read models (inline: visible as soon as the append returns)", () => {
  it.effect("business manager with its WABAs; business-level terms onboard every WABA, later ones too", () =>
    withStore(Effect.gen(function*() {
      const read = yield* ReadModels
      yield* all([registerBm(1, 10, "Acme"), registerWaba(10, 1, 11), registerWaba(11, 1, 12)])
      const before = yield* read.waba("10", 100)
      assert.strictEqual(before?.mmApi.status, "not_onboarded")
      yield* all([businessTermsSigned(1, 50), registerWaba(12, 1, 60)])
      const bm = yield* read.businessManager("1", 100)
      assert.strictEqual(bm?.name, "Acme")
      assert.deepStrictEqual(bm?.mmApi, { termsSigned: true, signedAt: 50, invitedAt: null })
      assert.deepStrictEqual(bm?.wabas.map((w) => [w.id, w.mmApi.status, w.mmApi.source]), [
        ["10", "onboarded", "business_webhook"],
        ["11", "onboarded", "business_webhook"],
        ["12", "onboarded", "business_webhook"]
      ])
    })))

  it.effect("a restriction with an expiration suspends until then; readers recompute with their own now", () =>
    withStore(Effect.gen(function*() {
      const read = yield* ReadModels
      const { db } = yield* SqliteDatabase
      yield* all([registerBm(1, 1), registerWaba(10, 1, 2), wabaTermsSigned(10, 3), suspend(10, 100, 500)])
      const row = db.prepare("SELECT mm_status, suspended_until FROM wabas WHERE id = '10'").get()
      assert.deepStrictEqual(row, { mm_status: "suspended", suspended_until: 500 })
      assert.strictEqual((yield* read.waba("10", 200))?.mmApi.status, "suspended")
      assert.strictEqual((yield* read.waba("10", 600))?.mmApi.status, "onboarded")
      const suspendedAt200 = yield* read.wabas({ status: "suspended", now: 200 })
      assert.deepStrictEqual(suspendedAt200.items.map((w) => w.id), ["10"])
      const onboardedAt600 = yield* read.wabas({ status: "onboarded", now: 600 })
      assert.deepStrictEqual(onboardedAt600.items.map((w) => w.id), ["10"])
      assert.deepStrictEqual((yield* read.wabas({ status: "suspended", now: 600 })).items, [])
    })))

  it.effect("the WABA list filtered by status agrees with each WABA's own view, even for a now before the row's last fact", () =>
    withStore(Effect.gen(function*() {
      const read = yield* ReadModels
      // Stored as of 300, when the restriction (100 → 300) had already ended: the row says not onboarded.
      yield* all([
        registerBm(1, 1),
        registerWaba(10, 1, 2),
        suspend(10, 100, 300),
        { stream: "Waba", command: { _tag: "RecordTermsNotAccepted", wabaId: ids.waba(10), errorCode: 131055, details: null, at: 300 } }
      ])
      assert.strictEqual((yield* read.waba("10", 200))?.mmApi.status, "suspended")
      assert.deepStrictEqual((yield* read.wabas({ status: "suspended", now: 200 })).items.map((w) => w.id), ["10"])
      assert.deepStrictEqual((yield* read.wabas({ status: "not_onboarded", now: 200 })).items, [])
      assert.deepStrictEqual((yield* read.wabas({ status: "not_onboarded", now: 400 })).items.map((w) => w.id), ["10"])
    })))

  it.effect("WABA list pages with a cursor", () =>
    withStore(Effect.gen(function*() {
      const read = yield* ReadModels
      yield* all([registerBm(1, 1), ...[10, 11, 12, 13, 14].map((w) => registerWaba(w, 1, 2))])
      const first = yield* read.wabas({ now: 10, limit: 2 })
      const second = yield* read.wabas({ now: 10, limit: 2, cursor: first.nextCursor })
      const third = yield* read.wabas({ now: 10, limit: 2, cursor: second.nextCursor })
      assert.deepStrictEqual([...first.items, ...second.items, ...third.items].map((w) => w.id), ["10", "11", "12", "13", "14"])
      assert.strictEqual(third.nextCursor, null)
    })))

  it.effect("channels never carry a secret; the dispatcher view has only the credentials reference", () =>
    withStore(Effect.gen(function*() {
      const read = yield* ReadModels
      yield* all([registerBm(1, 1), registerWaba(10, 1, 2), registerChannel(100, 10, 3), registerChannel(100, 10, 4, "cloud_api")])
      const channel = yield* read.channel("100")
      assert.deepStrictEqual(channel, {
        phoneNumberId: "100",
        wabaId: "10",
        displayPhoneNumber: "+1 555 100",
        provider: "sandbox",
        routing: "cloud_api",
        throughputMps: 80,
        registeredAt: 3,
        updatedAt: 4
      })
      assert.strictEqual((yield* read.channelForDispatch("100"))?.credentialsRef, "cred-100")
      assert.isNull(yield* read.channel("999"))
    })))

  it.effect("routing settings default until changed, then read back at once", () =>
    withStore(Effect.gen(function*() {
      const read = yield* ReadModels
      assert.deepStrictEqual(yield* read.routingSettings(), { marketingViaMmApi: true, ttlOnCloudFallback: "warn" })
      yield* run(changeRouting(false, "reject", 5))
      assert.deepStrictEqual(yield* read.routingSettings(), { marketingViaMmApi: false, ttlOnCloudFallback: "reject" })
    })))

  it.effect("templates with category, TTL and status, listed per WABA", () =>
    withStore(Effect.gen(function*() {
      const read = yield* ReadModels
      yield* all([recordTemplate(10, "spring_sale", "MARKETING", 86_400, 5), recordTemplate(10, "receipt", "UTILITY", null, 6)])
      yield* run({
        stream: "Template",
        command: {
          _tag: "RecordTemplateStatus",
          wabaId: "10" as never,
          name: "spring_sale",
          language: "en",
          status: "PAUSED",
          reason: "low quality",
          category: null,
          occurredAt: 7,
          at: 7
        }
      })
      const page = yield* read.templates("10")
      assert.deepStrictEqual(page.items.map((t) => [t.name, t.category, t.ttlSeconds, t.status, t.statusReason]), [
        ["receipt", "UTILITY", null, null, null],
        ["spring_sale", "MARKETING", 86_400, "PAUSED", "low quality"]
      ])
      assert.strictEqual(page.nextCursor, null)
    })))

  it.effect("a message shows route decided and observed, status, wamid, timestamps, errors and pricing; found by wamid", () =>
    withStore(Effect.gen(function*() {
      const read = yield* ReadModels
      yield* all([
        requestMessage("m1", { at: 1000 }),
        startDispatch("m1", 1, 1100),
        dispatchSucceeded("m1", 1, "wamid.1", 1200),
        observe("m1", "wamid.1", "read", 1400, "marketing"),
        observe("m1", "wamid.1", "sent", 1300, "marketing")
      ])
      const m = yield* read.message("m1")
      assert.strictEqual(m?.status, "read")
      assert.strictEqual(m?.wamid, "wamid.1")
      assert.deepStrictEqual(m?.route, {
        decided: "marketing_messages",
        reasons: ["mm_api_eligible"],
        warnings: [],
        observed: "cloud_api",
        rerouted: []
      })
      assert.isTrue(m?.routeMismatch)
      assert.deepStrictEqual(m?.timestamps, {
        acceptedAt: 1000,
        submittedAt: 1200,
        sentAt: 1300,
        deliveredAt: 1400,
        readAt: 1400,
        failedAt: null,
        expiredAt: null
      })
      assert.deepStrictEqual(m?.pricing, { category: "marketing", pricingModel: "PMP", type: "regular", billable: true })
      assert.deepStrictEqual(m?.template, { name: "spring_sale", language: "en", category: "MARKETING" })
      assert.deepStrictEqual((yield* read.messagesByWamid("wamid.1")).map((x) => x.id), ["m1"])
      assert.deepStrictEqual(yield* read.messagesByWamid("wamid.none"), [])
      assert.isNull(yield* read.message("nope"))
    })))

  it.effect("campaign stats: the funnel counts messages that reached at least each stage", () =>
    withStore(Effect.gen(function*() {
      const read = yield* ReadModels
      const sent = (id: string, wamid: string, at: number) => [
        requestMessage(id, { at }),
        startDispatch(id, 1, at + 1),
        dispatchSucceeded(id, 1, wamid, at + 2)
      ]
      yield* all([
        ...sent("a", "w.a", 10),
        observe("a", "w.a", "read", 20, "marketing_lite"),
        attributeClick("a", "click-1", 30),
        ...sent("b", "w.b", 10),
        observe("b", "w.b", "delivered", 20, "marketing_lite"),
        ...sent("c", "w.c", 10),
        observe("c", "w.c", "sent", 15, "marketing"),
        observe("c", "w.c", "failed", 20, null, 131049),
        requestMessage("d", { at: 10 }),
        startDispatch("d", 1, 11),
        dispatchFailed("d", 1, 131026, true, 12),
        requestMessage("e", { at: 10, route: "cloud_api" }),
        startDispatch("e", 1, 11),
        dispatchOutcomeUnknown("e", 1, 12),
        markDispatchUnknown("e", 1000),
        requestMessage("other", { at: 10, campaign: "c2" })
      ])
      const stats = yield* read.campaignStats("c1")
      assert.deepStrictEqual(stats, {
        campaignId: "c1",
        funnel: { accepted: 5, submitted: 3, sent: 3, delivered: 2, read: 1, clicked: 1 },
        routed: { marketing_messages: 4, cloud_api: 1 },
        observedRoute: { marketing_messages: 2, cloud_api: 1, unknown: 2 },
        queued: 0,
        failed: 2,
        expired: 0,
        dispatchUnknown: 1,
        routeMismatch: 1,
        failuresByCode: { "131026": 1, "131049": 1 }
      })
      const empty = yield* read.campaignStats("none")
      assert.strictEqual(empty.funnel.accepted, 0)
      assert.deepStrictEqual(empty.failuresByCode, {})
    })))

  it.effect("campaign stats: queued counts the messages still accepted (waiting, backing off, in flight, outcome unknown), nothing the provider took or that is final", () =>
    withStore(Effect.gen(function*() {
      const read = yield* ReadModels
      yield* all([
        requestMessage("waiting", { at: 10 }),
        requestMessage("backing-off", { at: 10 }),
        startDispatch("backing-off", 1, 11),
        dispatchFailed("backing-off", 1, 130429, false, 12),
        requestMessage("in-flight", { at: 10 }),
        startDispatch("in-flight", 1, 11),
        requestMessage("unknown", { at: 10 }),
        startDispatch("unknown", 1, 11),
        dispatchOutcomeUnknown("unknown", 1, 12),
        requestMessage("submitted", { at: 10 }),
        startDispatch("submitted", 1, 11),
        dispatchSucceeded("submitted", 1, "w.submitted", 12),
        requestMessage("failed", { at: 10 }),
        startDispatch("failed", 1, 11),
        dispatchFailed("failed", 1, 131026, true, 12),
        requestMessage("marked-unknown", { at: 10 }),
        startDispatch("marked-unknown", 1, 11),
        dispatchOutcomeUnknown("marked-unknown", 1, 12),
        markDispatchUnknown("marked-unknown", 1000),
        // A status webhook proves the provider took it, even with the dispatch result still unknown.
        requestMessage("seen", { at: 10 }),
        startDispatch("seen", 1, 11),
        dispatchOutcomeUnknown("seen", 1, 12),
        observe("seen", "w.seen", "sent", 13),
        requestMessage("elsewhere", { at: 10, campaign: "c2" })
      ])
      const stats = yield* read.campaignStats("c1")
      assert.strictEqual(stats.funnel.accepted, 8)
      assert.strictEqual(stats.queued, 4)
      assert.deepStrictEqual([stats.funnel.submitted, stats.failed, stats.dispatchUnknown], [2, 1, 1])
      assert.strictEqual((yield* read.campaignStats("c2")).queued, 1)
      assert.strictEqual((yield* read.campaignStats("none")).queued, 0)
      // Each of them is `accepted` in its own view: queued is that status, counted.
      for (const id of ["waiting", "backing-off", "in-flight", "unknown"]) assert.strictEqual((yield* read.message(id))?.status, "accepted")
    })))

  it.effect("campaign stats scoped to Business Managers: two tenants sharing a campaign id see only their own messages", () =>
    withStore(Effect.gen(function*() {
      const read = yield* ReadModels
      yield* all([
        registerBm(1, 1),
        registerBm(2, 1),
        registerWaba(10, 1, 2),
        registerWaba(20, 2, 2),
        // Tenant 1: one read, one failed with 131049, one queued.
        requestMessage("a1", { at: 10, waba: 10 }),
        startDispatch("a1", 1, 11),
        dispatchSucceeded("a1", 1, "w.a1", 12),
        observe("a1", "w.a1", "read", 13, "marketing_lite"),
        requestMessage("a2", { at: 10, waba: 10 }),
        startDispatch("a2", 1, 11),
        dispatchSucceeded("a2", 1, "w.a2", 12),
        observe("a2", "w.a2", "failed", 13, null, 131049),
        requestMessage("a3", { at: 10, waba: 10 }),
        // Tenant 2, same campaign id "c1": one delivered on the Cloud API, one failed at dispatch with 131026.
        requestMessage("b1", { at: 10, waba: 20, channel: 200, route: "cloud_api" }),
        startDispatch("b1", 1, 11),
        dispatchSucceeded("b1", 1, "w.b1", 12),
        observe("b1", "w.b1", "delivered", 13, "marketing"),
        requestMessage("b2", { at: 10, waba: 20, channel: 200 }),
        startDispatch("b2", 1, 11),
        dispatchFailed("b2", 1, 131026, true, 12)
      ])
      const all1 = yield* read.campaignStats("c1")
      const bm1 = yield* read.campaignStats("c1", ["1"])
      const bm2 = yield* read.campaignStats("c1", ["2"])
      const both = yield* read.campaignStats("c1", ["1", "2"])
      const none = yield* read.campaignStats("c1", [])
      assert.deepStrictEqual(
        [all1, bm1, bm2].map((s) => [s.funnel.accepted, s.funnel.submitted, s.funnel.delivered, s.funnel.read, s.queued, s.failed]),
        [[5, 3, 2, 1, 1, 2], [3, 2, 1, 1, 1, 1], [2, 1, 1, 0, 0, 1]]
      )
      assert.deepStrictEqual(
        [all1, bm1, bm2].map((s) => [s.routed, s.observedRoute]),
        [
          [{ marketing_messages: 4, cloud_api: 1 }, { marketing_messages: 1, cloud_api: 1, unknown: 3 }],
          [{ marketing_messages: 3, cloud_api: 0 }, { marketing_messages: 1, cloud_api: 0, unknown: 2 }],
          [{ marketing_messages: 1, cloud_api: 1 }, { marketing_messages: 0, cloud_api: 1, unknown: 1 }]
        ]
      )
      assert.deepStrictEqual([all1.failuresByCode, bm1.failuresByCode, bm2.failuresByCode], [
        { "131026": 1, "131049": 1 },
        { "131049": 1 },
        { "131026": 1 }
      ])
      assert.deepStrictEqual(both, all1)
      assert.strictEqual(none.funnel.accepted, 0)
      assert.strictEqual((yield* read.campaignStats("c1", ["3"])).funnel.accepted, 0)
    })))

  it.effect("WABA list scoped to Business Managers, with the status filter and pages", () =>
    withStore(Effect.gen(function*() {
      const read = yield* ReadModels
      yield* all([
        registerBm(1, 1),
        registerBm(2, 1),
        registerWaba(10, 1, 2),
        registerWaba(11, 1, 2),
        registerWaba(12, 1, 2),
        registerWaba(20, 2, 2),
        registerWaba(21, 2, 2),
        wabaTermsSigned(11, 3),
        wabaTermsSigned(21, 3)
      ])
      const ids = (page: { readonly items: ReadonlyArray<{ readonly id: string }> }) => page.items.map((w) => w.id)
      assert.deepStrictEqual(ids(yield* read.wabas({ now: 10 })), ["10", "11", "12", "20", "21"])
      assert.deepStrictEqual(ids(yield* read.wabas({ now: 10, businessManagerIds: ["1"] })), ["10", "11", "12"])
      assert.deepStrictEqual(ids(yield* read.wabas({ now: 10, businessManagerIds: ["2"] })), ["20", "21"])
      assert.deepStrictEqual(ids(yield* read.wabas({ now: 10, businessManagerIds: ["1", "2"] })), ["10", "11", "12", "20", "21"])
      assert.deepStrictEqual(ids(yield* read.wabas({ now: 10, businessManagerIds: [] })), [])
      assert.deepStrictEqual(ids(yield* read.wabas({ now: 10, businessManagerIds: ["2"], status: "onboarded" })), ["21"])
      const first = yield* read.wabas({ now: 10, businessManagerIds: ["1"], limit: 2 })
      const second = yield* read.wabas({ now: 10, businessManagerIds: ["1"], limit: 2, cursor: first.nextCursor })
      assert.deepStrictEqual([ids(first), ids(second), second.nextCursor], [["10", "11"], ["12"], null])
    })))

  it.effect("click attribution: the message a click id was attributed to first, before or after the click itself arrived", () =>
    withStore(Effect.gen(function*() {
      const read = yield* ReadModels
      yield* all([requestMessage("m1", { at: 1 }), requestMessage("m2", { at: 1 })])
      assert.isNull(yield* read.clickAttribution("k1", "100"))
      yield* all([attributeClick("m2", "k1", 5), attributeClick("m1", "k1", 6), userAction(100, "k1", 7)])
      assert.strictEqual(yield* read.clickAttribution("k1", "100"), "m2")
      yield* all([userAction(100, "k2", 8), attributeClick("m1", "k2", 9)])
      assert.strictEqual(yield* read.clickAttribution("k2", "100"), "m1")
      assert.isNull(yield* read.clickAttribution("k3", "100"))
    })))

  it.effect("click attribution is per channel: an attribution to a message of another channel neither ties nor blocks this channel's click", () =>
    withStore(Effect.gen(function*() {
      const read = yield* ReadModels
      yield* all([requestMessage("elsewhere", { at: 1, channel: 101 }), requestMessage("here", { at: 1 })])
      // The other channel's message claims the id first, before and after this channel's click arrives.
      yield* all([attributeClick("elsewhere", "k1", 5), userAction(100, "k1", 6), userAction(100, "k2", 7), attributeClick("elsewhere", "k2", 8)])
      assert.deepStrictEqual([yield* read.clickAttribution("k1", "101"), yield* read.clickAttribution("k1", "100")], ["elsewhere", null])
      assert.deepStrictEqual((yield* read.clicks("100")).items.map((c) => [c.clickId, c.messageId]), [["k1", null], ["k2", null]])
      yield* all([attributeClick("here", "k1", 9)])
      assert.deepStrictEqual([yield* read.clickAttribution("k1", "101"), yield* read.clickAttribution("k1", "100")], ["elsewhere", "here"])
      assert.deepStrictEqual((yield* read.clicks("100")).items.map((c) => [c.clickId, c.messageId]), [["k1", "here"], ["k2", null]])
    })))

  it.effect("click channels: where a click id was recorded by webhook, none before", () =>
    withStore(Effect.gen(function*() {
      const read = yield* ReadModels
      assert.deepStrictEqual(yield* read.clickChannels("k1"), [])
      yield* all([userAction(101, "k1", 7), userAction(100, "k1", 8), userAction(100, "k1", 8, "landing_page_view"), userAction(100, "k2", 9)])
      assert.deepStrictEqual(yield* read.clickChannels("k1"), [ids.phone(100), ids.phone(101)].sort())
      assert.deepStrictEqual(yield* read.clickChannels("k2"), [ids.phone(100)])
    })))

  it.effect("clicks per channel, tied to a message whichever of click and attribution comes first", () =>
    withStore(Effect.gen(function*() {
      const read = yield* ReadModels
      yield* all([
        requestMessage("m1", { at: 1 }),
        requestMessage("m2", { at: 1 }),
        userAction(100, "k1", 10),
        userAction(100, "k1", 11, "landing_page_view"),
        attributeClick("m1", "k1", 12),
        attributeClick("m2", "k2", 13),
        userAction(100, "k2", 14),
        userAction(101, "k3", 15)
      ])
      const page = yield* read.clicks("100", { limit: 2 })
      const rest = yield* read.clicks("100", { limit: 2, cursor: page.nextCursor })
      assert.deepStrictEqual([...page.items, ...rest.items].map((c) => [c.actionType, c.kind, c.clickId, c.component, c.messageId]), [
        ["marketing_messages_link_click", "link_click", "k1", "cta", "m1"],
        ["landing_page_view", "other", "k1", "cta", "m1"],
        ["marketing_messages_link_click", "link_click", "k2", "cta", "m2"]
      ])
      assert.strictEqual(rest.nextCursor, null)
    })))

  it.effect("the event store is what the API reads for a message's audit trail", () =>
    withStore(Effect.gen(function*() {
      const store = yield* EventStore.EventStore
      yield* all([requestMessage("m1", { at: 1 }), startDispatch("m1", 1, 2)])
      const read = yield* store.readStream("Message-m1")
      assert.deepStrictEqual(read.events.map((e) => e.event._tag), ["MessageRequested", "MessageRouted", "DispatchStarted"])
    })))

  it.effect("the worker's look-ups: ready to dispatch, by dispatch phase, TTL expiry due, by recipient and time window", () =>
    withStore(Effect.gen(function*() {
      const read = yield* ReadModels
      yield* all([
        requestMessage("ready", { at: 1 }),
        requestMessage("backoff", { at: 2 }),
        startDispatch("backoff", 1, 3),
        dispatchFailed("backoff", 1, 130429, false, 4),
        requestMessage("unknown", { at: 3 }),
        startDispatch("unknown", 1, 4),
        dispatchOutcomeUnknown("unknown", 1, 7),
        requestMessage("ttl", { at: 5, to: "16505550001", ttlSeconds: 43_200 }),
        startDispatch("ttl", 1, 6),
        dispatchSucceeded("ttl", 1, "w.ttl", 10)
      ])
      assert.deepStrictEqual((yield* read.dispatchable(100, 10)).map((w) => [w.id, w.attempt]), [["ready", 1]])
      assert.deepStrictEqual((yield* read.dispatchable(10_000, 10)).map((w) => [w.id, w.attempt]), [["ready", 1], ["backoff", 2]])
      // Paged: the next page starts after the last message of the previous one.
      const [first] = yield* read.dispatchable(10_000, 1)
      assert.deepStrictEqual([first?.id, first?.acceptedAt], ["ready", 1])
      assert.deepStrictEqual((yield* read.dispatchable(10_000, 10, first)).map((w) => w.id), ["backoff"])
      assert.deepStrictEqual(yield* read.dispatchable(10_000, 10, { acceptedAt: 2, id: "backoff" }), [])
      const unknown = yield* read.inDispatchPhase("OutcomeUnknown")
      assert.deepStrictEqual(unknown.items.map((w) => [w.id, w.phaseSince]), [["unknown", 7]])
      assert.deepStrictEqual(yield* read.expiryDue(10 + 43_200_000 - 1, 10), [])
      assert.deepStrictEqual((yield* read.expiryDue(10 + 43_200_000, 10)).map((w) => [w.id, w.expiryDeadline]), [["ttl", 10 + 43_200_000]])
      assert.deepStrictEqual((yield* read.messagesToRecipient("100", "16505550001", 0, 100)).map((m) => m.id), ["ttl"])
      assert.deepStrictEqual(yield* read.messagesToRecipient("100", "16505550001", 6, 100), [])
    })))
})
