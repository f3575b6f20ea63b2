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

const withStore = <A, E>(effect: Effect.Effect<A, E, ReadModels | EventStore | SqliteDatabase>) =>
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
      const store = yield* EventStore
      yield* all([requestMessage("m1", { at: 1 }), startDispatch("m1", 1, 2)])
      const read = yield* store.readStream("Message-m1")
      assert.deepStrictEqual(read.events.map((e) => e.event._tag), ["MessageRequested", "MessageRouted", "DispatchStarted"])
    })))

  it.effect("the worker's look-ups: ready to dispatch, by dispatch phase, TTL expiry due, by recipient and time window", () =>
    withStore(Effect.gen(function*() {
      const read = yield* ReadModels
      const ttlMessage = requestMessage("ttl", { at: 5, to: "16505550001" })
      const withTtl: typeof ttlMessage = ttlMessage.stream === "Message" && ttlMessage.command._tag === "RequestMessage"
        ? { stream: "Message", command: { ...ttlMessage.command, template: { name: "sale", language: "en", category: "MARKETING", ttlSeconds: 43_200 } } }
        : ttlMessage
      yield* all([
        requestMessage("ready", { at: 1 }),
        requestMessage("backoff", { at: 2 }),
        startDispatch("backoff", 1, 3),
        dispatchFailed("backoff", 1, 130429, false, 4),
        requestMessage("unknown", { at: 3 }),
        startDispatch("unknown", 1, 4),
        dispatchOutcomeUnknown("unknown", 1, 7),
        withTtl,
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
