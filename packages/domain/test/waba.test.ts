import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { BusinessManager, CommandHandler, Decider, Errors, EventStore, InMemoryEventStore, Streams, Waba } from "../src/index.js"
import { deciderSpec } from "../testing/index.js"
import { BM, BM2, WABA, WABA2 } from "./fixtures.js"

const spec = deciderSpec(Waba.WabaDecider)
const registered = Waba.WabaRegistered.make({ wabaId: WABA, businessManagerId: BM, name: "Main", via: "operator", at: 1 })
const statusOf = (events: ReadonlyArray<Waba.WabaEvent>, now = 10_000_000, bm: BusinessManager.BusinessManagerState | null = null) =>
  Waba.mmApiStatus(Decider.fold(Waba.WabaDecider, events), bm, now)

describe("Waba decider", () => {
  describe("RegisterWaba", () => {
    const cmd = { _tag: "RegisterWaba", wabaId: WABA, businessManagerId: BM, name: "Main", at: 1 } as const
    it("registers a WABA under its Business Manager", () => spec.given([]).when(cmd).then([registered]))
    it("does nothing when repeated", () => spec.given([registered]).when({ ...cmd, at: 2 }).thenNothing())
    it("renames", () =>
      spec.given([registered]).when({ ...cmd, name: "Renamed", at: 2 }).then([
        Waba.WabaDetailsChanged.make({ wabaId: WABA, businessManagerId: BM, name: "Renamed", at: 2 })
      ]))
    it("assigns a WABA first seen in a webhook to its Business Manager", () =>
      spec.given([Waba.WabaRegistered.make({ wabaId: WABA, businessManagerId: null, name: null, via: "webhook", at: 1 })])
        .when(cmd).then([Waba.WabaDetailsChanged.make({ wabaId: WABA, businessManagerId: BM, name: "Main", at: 1 })]))
    it("refuses to move a WABA to another Business Manager", () =>
      spec.given([registered]).when({ ...cmd, businessManagerId: BM2 }).thenFails(
        new Errors.WabaOwnedByAnotherBusinessManager({ wabaId: WABA, businessManagerId: BM, requestedBusinessManagerId: BM2 })
      ))
  })

  describe("RecordMetaOnboardingStatus (marketing_messages_onboarding_status read from Meta)", () => {
    const read = (status: string | null, readAt: number, businessStatus: string | null = null) =>
      ({ _tag: "RecordMetaOnboardingStatus", wabaId: WABA, status, businessStatus, readAt, at: readAt + 1 }) as const
    const recorded = (status: string | null, readAt: number, businessStatus: string | null = null) =>
      Waba.WabaMetaStatusRead.make({ wabaId: WABA, status, businessStatus, readAt, at: readAt + 1 })
    it("records the first read, and then only what changed", () => {
      spec.given([registered]).when(read("ELIGIBLE", 100)).then([recorded("ELIGIBLE", 100)])
      spec.given([registered, recorded("ELIGIBLE", 100)]).when(read("ELIGIBLE", 200)).thenNothing()
      spec.given([registered, recorded("ELIGIBLE", 100)]).when(read("ELIGIBLE", 200, "REQUEST_SENT")).then([recorded("ELIGIBLE", 200, "REQUEST_SENT")])
      spec.given([registered, recorded("ELIGIBLE", 100)]).when(read("ONBOARDED", 300)).then([recorded("ONBOARDED", 300)])
    })
    it("an older read arriving late changes nothing", () =>
      spec.given([registered, recorded("ONBOARDED", 300)]).when(read("ELIGIBLE", 200)).thenNothing())
    it("refuses a WABA it does not know", () =>
      spec.given([]).when(read("ONBOARDED", 1)).thenFails(new Errors.NotRegistered({ entity: "waba", id: WABA })))
    it("ONBOARDED is an onboarding fact (source meta_api); ELIGIBLE, INELIGIBLE_* and PENDING_* are not-onboarded facts; others only shown", () => {
      assert.deepStrictEqual([statusOf([registered, recorded("ONBOARDED", 300)]).status, statusOf([registered, recorded("ONBOARDED", 300)]).source], ["onboarded", "meta_api"])
      for (const value of ["ELIGIBLE", "INELIGIBLE_COUNTRY_NOT_SUPPORTED", "PENDING_INTERNAL_SETUP"]) {
        const signed = Waba.WabaTermsSigned.make({ wabaId: WABA, signedAt: 100, at: 100 })
        assert.deepStrictEqual(statusOf([registered, signed, recorded(value, 300)]).status, "not_onboarded", value)
      }
      const state = Decider.fold(Waba.WabaDecider, [registered, Waba.WabaTermsSigned.make({ wabaId: WABA, signedAt: 100, at: 100 }), recorded("SOMETHING_NEW", 300)])
      assert.deepStrictEqual([Waba.mmApiStatus(state, null, 1_000).status, state.meta], ["onboarded", { status: "SOMETHING_NEW", businessStatus: null, readAt: 300 }])
    })
    it("the latest fact wins: a webhook after an older read decides, and the read is still there to show", () => {
      const state = Decider.fold(Waba.WabaDecider, [registered, recorded("ELIGIBLE", 100), Waba.WabaTermsSigned.make({ wabaId: WABA, signedAt: 200, at: 200 })])
      assert.deepStrictEqual([Waba.mmApiStatus(state, null, 1_000).status, state.meta?.status], ["onboarded", "ELIGIBLE"])
    })
  })

  describe("RequestMetaStatusSync", () => {
    it("records when a read was asked for", () => {
      spec.given([registered]).when({ _tag: "RequestMetaStatusSync", wabaId: WABA, requestedBy: "admin", at: 50 }).then([
        Waba.WabaMetaSyncRequested.make({ wabaId: WABA, requestedBy: "admin", at: 50 })
      ])
      assert.strictEqual(Decider.fold(Waba.WabaDecider, [registered, Waba.WabaMetaSyncRequested.make({ wabaId: WABA, requestedBy: "admin", at: 50 })]).metaSyncRequestedAt, 50)
    })
    it("refuses a WABA it does not know", () =>
      spec.given([]).when({ _tag: "RequestMetaStatusSync", wabaId: WABA, requestedBy: "admin", at: 50 }).thenFails(new Errors.NotRegistered({ entity: "waba", id: WABA })))
  })

  describe("RequestTemplateSync", () => {
    it("records when a read of the template list was asked for", () => {
      const requested = Waba.WabaTemplateSyncRequested.make({ wabaId: WABA, requestedBy: "key:k1", at: 70 })
      spec.given([registered]).when({ _tag: "RequestTemplateSync", wabaId: WABA, requestedBy: "key:k1", at: 70 }).then([requested])
      const state = Decider.fold(Waba.WabaDecider, [registered, requested])
      assert.deepStrictEqual([state.templateSyncRequestedAt, state.metaSyncRequestedAt], [70, null])
    })
    it("refuses a WABA it does not know", () =>
      spec.given([]).when({ _tag: "RequestTemplateSync", wabaId: WABA, requestedBy: "admin", at: 70 }).thenFails(new Errors.NotRegistered({ entity: "waba", id: WABA })))
  })

  describe("RecordWabaTermsSigned", () => {
    const cmd = { _tag: "RecordWabaTermsSigned", wabaId: WABA, ownerBusinessId: BM, signedAt: 5_000, at: 6_000 } as const
    const signed = Waba.WabaTermsSigned.make({ wabaId: WABA, signedAt: 5_000, at: 6_000 })
    it("signs the WABA", () => spec.given([registered]).when(cmd).then([signed]))
    it("does nothing when the same webhook arrives again", () => spec.given([registered, signed]).when(cmd).thenNothing())
    it("creates a WABA the gateway has never seen, under the owner business", () =>
      spec.given([]).when(cmd).then([
        Waba.WabaRegistered.make({ wabaId: WABA, businessManagerId: BM, name: null, via: "webhook", at: 6_000 }),
        signed
      ]))
    it("learns the Business Manager of a WABA first seen without one", () =>
      spec.given([Waba.WabaRegistered.make({ wabaId: WABA, businessManagerId: null, name: null, via: "webhook", at: 1 })]).when(cmd).then([
        Waba.WabaDetailsChanged.make({ wabaId: WABA, businessManagerId: BM, name: null, at: 6_000 }),
        signed
      ]))
    it("records an earlier signature arriving late (the status takes the facts by time)", () =>
      spec.given([registered, signed]).when({ ...cmd, signedAt: 4_000, at: 7_000 }).then([
        Waba.WabaTermsSigned.make({ wabaId: WABA, signedAt: 4_000, at: 7_000 })
      ]))
    it("makes the WABA onboarded with source waba_webhook", () => {
      const status = statusOf([registered, signed])
      assert.deepStrictEqual([status.status, status.source, status.since], ["onboarded", "waba_webhook", 5_000])
    })
    it.effect("does not sign the Business Manager: its other WABAs stay not onboarded", () =>
      Effect.gen(function*() {
        yield* CommandHandler.handleCommand(Streams.BusinessManagerStream, Streams.streamId.businessManager(BM), { _tag: "RegisterBusinessManager", businessManagerId: BM, name: null, at: 1 })
        for (const wabaId of [WABA, WABA2]) {
          yield* CommandHandler.handleCommand(Streams.WabaStream, Streams.streamId.waba(wabaId), { _tag: "RegisterWaba", wabaId, businessManagerId: BM, name: null, at: 1 })
        }
        // What the worker does with a WABA-level MM_LITE_TERMS_SIGNED that names its owner business.
        yield* CommandHandler.handleCommand(Streams.BusinessManagerStream, Streams.streamId.businessManager(BM), { _tag: "DiscoverBusinessManager", businessManagerId: BM, at: 6_000 })
        const signing = yield* CommandHandler.handleCommand(Streams.WabaStream, Streams.streamId.waba(WABA), cmd)
        assert.deepStrictEqual(signing.events, [signed])

        const bm = yield* CommandHandler.loadState(Streams.BusinessManagerStream, Streams.streamId.businessManager(BM))
        const store = yield* EventStore.EventStore
        assert.deepStrictEqual((yield* store.readStream(Streams.streamId.businessManager(BM))).events.map((e) => e.event._tag), ["BusinessManagerRegistered"])
        assert.isNull(bm.state.termsSignedAt)
        const status = (wabaId: string) =>
          CommandHandler.loadState(Streams.WabaStream, Streams.streamId.waba(wabaId)).pipe(Effect.map(({ state }) => Waba.mmApiStatus(state, bm.state, 10_000)))
        assert.deepStrictEqual(yield* status(WABA), { status: "onboarded", since: 5_000, source: "waba_webhook", reason: null, suspendedUntil: null })
        assert.deepStrictEqual(yield* status(WABA2), { status: "not_onboarded", since: null, source: null, reason: null, suspendedUntil: null })
      }).pipe(Effect.provide(InMemoryEventStore.layer)))
  })

  describe("business-level terms", () => {
    it("a Business Manager's signature onboards its WABAs, also ones registered later (source business_webhook)", () => {
      const bm = Decider.fold(BusinessManager.BusinessManagerDecider, [
        BusinessManager.BusinessManagerRegistered.make({ businessManagerId: BM, name: null, via: "webhook", at: 1 }),
        BusinessManager.BusinessTermsSigned.make({ businessManagerId: BM, signedAt: 2_000, at: 2_000 })
      ])
      const later = Waba.WabaRegistered.make({ wabaId: WABA, businessManagerId: BM, name: null, via: "operator", at: 9_000 })
      const status = statusOf([later], 10_000, bm)
      assert.deepStrictEqual([status.status, status.source], ["onboarded", "business_webhook"])
    })
  })

  describe("RecordSuspension / RecordReinstatement", () => {
    const suspend = { _tag: "RecordSuspension", wabaId: WABA, kind: "disabled", occurredAt: 3_000, expiresAt: null, at: 4_000 } as const
    const suspended = Waba.WabaSuspended.make({ wabaId: WABA, kind: "disabled", occurredAt: 3_000, expiresAt: null, at: 4_000 })
    const reinstate = { _tag: "RecordReinstatement", wabaId: WABA, kind: "disabled", occurredAt: 5_000, at: 6_000 } as const
    const reinstated = Waba.WabaReinstated.make({ wabaId: WABA, kind: "disabled", occurredAt: 5_000, at: 6_000 })
    it("suspends", () => spec.given([registered]).when(suspend).then([suspended]))
    it("does nothing when the suspension webhook repeats", () => spec.given([registered, suspended]).when(suspend).thenNothing())
    it("creates an unknown WABA named by a suspension webhook", () =>
      spec.given([]).when(suspend).then([
        Waba.WabaRegistered.make({ wabaId: WABA, businessManagerId: null, name: null, via: "webhook", at: 4_000 }),
        suspended
      ]))
    it("reinstates", () => spec.given([registered, suspended]).when(reinstate).then([reinstated]))
    it("creates an unknown WABA named by a reinstatement webhook", () =>
      spec.given([]).when(reinstate).then([
        Waba.WabaRegistered.make({ wabaId: WABA, businessManagerId: null, name: null, via: "webhook", at: 6_000 }),
        reinstated
      ]))
    it("records a restriction with its expiration; the same restriction with another expiration is another fact", () => {
      const restrict = { ...suspend, kind: "account_restriction", expiresAt: 90_000 } as const
      const restricted = Waba.WabaSuspended.make({ wabaId: WABA, kind: "account_restriction", occurredAt: 3_000, expiresAt: 90_000, at: 4_000 })
      spec.given([registered]).when(restrict).then([restricted])
      spec.given([registered, restricted]).when(restrict).thenNothing()
      spec.given([registered, restricted]).when({ ...restrict, expiresAt: 95_000 }).then([
        Waba.WabaSuspended.make({ wabaId: WABA, kind: "account_restriction", occurredAt: 3_000, expiresAt: 95_000, at: 4_000 })
      ])
    })
    it("does nothing when the reinstatement repeats", () => spec.given([registered, suspended, reinstated]).when(reinstate).thenNothing())
    it("is suspended while a suspension stands, with the kind as the reason", () => {
      const status = statusOf([registered, suspended])
      assert.deepStrictEqual([status.status, status.reason, status.since], ["suspended", "disabled", 3_000])
    })
    it("orders by webhook time, not arrival: a reinstatement older than the suspension does not end it", () => {
      const early = Waba.WabaReinstated.make({ wabaId: WABA, kind: "disabled", occurredAt: 1_000, at: 7_000 })
      assert.strictEqual(statusOf([registered, suspended, early]).status, "suspended")
      assert.strictEqual(statusOf([registered, early, suspended]).status, "suspended")
      assert.strictEqual(statusOf([registered, reinstated, suspended]).status, "not_onboarded")
    })
    it("a restriction ends by itself when its expiration passes", () => {
      const restricted = Waba.WabaSuspended.make({ wabaId: WABA, kind: "account_restriction", occurredAt: 1_000, expiresAt: 50_000, at: 1_000 })
      assert.strictEqual(statusOf([registered, restricted], 49_999).status, "suspended")
      assert.strictEqual(statusOf([registered, restricted], 49_999).suspendedUntil, 50_000)
      assert.strictEqual(statusOf([registered, restricted], 50_000).status, "not_onboarded")
    })
    it("PARTNER_ADDED ends a partner removal but not a disable", () => {
      const removed = Waba.WabaSuspended.make({ wabaId: WABA, kind: "partner_removed", occurredAt: 1_000, expiresAt: null, at: 1 })
      const added = Waba.WabaReinstated.make({ wabaId: WABA, kind: "partner_removed", occurredAt: 2_000, at: 2 })
      assert.strictEqual(statusOf([registered, removed, added]).status, "not_onboarded")
      assert.strictEqual(statusOf([registered, suspended, removed, added]).status, "suspended")
    })
  })

  describe("SetMmStatusManually", () => {
    const cmd = { _tag: "SetMmStatusManually", wabaId: WABA, status: "onboarded", reason: "confirmed by phone", at: 7_000 } as const
    const set = Waba.WabaMmStatusSetManually.make({ wabaId: WABA, status: "onboarded", reason: "confirmed by phone", at: 7_000 })
    it("records the operator's confirmation", () => spec.given([registered]).when(cmd).then([set]))
    it("does nothing when repeated", () => spec.given([registered, set]).when(cmd).thenNothing())
    it("rejects an unknown WABA", () => spec.given([]).when(cmd).thenFails("NotRegistered"))
    it("ends a suspension and shows source manual", () => {
      const suspended = Waba.WabaSuspended.make({ wabaId: WABA, kind: "disabled", occurredAt: 3_000, expiresAt: null, at: 4_000 })
      const status = statusOf([registered, suspended, set])
      assert.deepStrictEqual([status.status, status.source, status.reason], ["onboarded", "manual", "confirmed by phone"])
    })
    it("can suspend manually", () => {
      const manual = Waba.WabaMmStatusSetManually.make({ wabaId: WABA, status: "suspended", reason: "fraud check", at: 7_000 })
      const status = statusOf([registered, manual])
      assert.deepStrictEqual([status.status, status.source, status.reason], ["suspended", "manual", "fraud check"])
    })
  })

  describe("RecordTermsNotAccepted", () => {
    const cmd = { _tag: "RecordTermsNotAccepted", wabaId: WABA, errorCode: 131055, details: "You must accept the terms", at: 9_000 } as const
    const rejected = Waba.WabaTermsNotAccepted.make({ wabaId: WABA, errorCode: 131055, details: "You must accept the terms", at: 9_000 })
    const signed = Waba.WabaTermsSigned.make({ wabaId: WABA, signedAt: 5_000, at: 6_000 })
    it("marks a signed WABA not onboarded, source provider_error", () => {
      spec.given([registered, signed]).when(cmd).then([rejected])
      const status = statusOf([registered, signed, rejected])
      assert.deepStrictEqual([status.status, status.source], ["not_onboarded", "provider_error"])
    })
    it("does nothing while the provider's answer still stands (one campaign, many failures)", () =>
      spec.given([registered, signed, rejected]).when({ ...cmd, at: 9_500 }).thenNothing())
    it("does nothing when repeated after a newer signature", () => {
      const later = Waba.WabaTermsSigned.make({ wabaId: WABA, signedAt: 12_000, at: 12_000 })
      spec.given([registered, signed, later, rejected]).when(cmd).thenNothing()
    })
    it("a later signature onboards the WABA again", () => {
      const again = Waba.WabaTermsSigned.make({ wabaId: WABA, signedAt: 12_000, at: 12_000 })
      assert.strictEqual(statusOf([registered, signed, rejected, again]).status, "onboarded")
    })
    it("rejects an unknown WABA", () => spec.given([]).when(cmd).thenFails(new Errors.NotRegistered({ entity: "waba", id: WABA })))
  })
})
