import { assert, describe, it } from "@effect/vitest"
import { Effect, type Layer } from "effect"
import { encodeCursor } from "../src/pagination.js"
import { OnboardingQueries } from "../src/queries.js"
import {
  caughtUp,
  inviteBusinessManager,
  type ReadSide,
  readMetaStatus,
  requestMetaOnboarding,
  requestMetaSync,
  requestTemplateSync,
  recordTermsNotAccepted,
  registerBusinessManager,
  registerWaba,
  restrictWaba,
  signBusinessTerms,
  signWabaTerms
} from "./facts.js"
import { walkPages } from "./pages.js"

const ids = (items: ReadonlyArray<{ readonly id: string }>) => items.map((w) => w.id)

/**
 * The `OnboardingQueries` contract: Business Managers and WABAs with their MM API status as of the
 * caller's `now`, the WABA list by id with its status filter, its pages and its scope (a scoped API
 * key's Business Managers). `makeStore` must give a fresh, empty store each time it is built.
 */
export const onboardingQueriesContract = (name: string, makeStore: () => Layer.Layer<ReadSide<OnboardingQueries>>) => {
  const run = <A, E>(effect: Effect.Effect<A, E, ReadSide<OnboardingQueries>>) => Effect.provide(effect, makeStore())

  describe(`OnboardingQueries contract: ${name}`, () => {
    it.effect("Business Managers by id, page by page, each as businessManager shows it; a scope keeps its own", () =>
      run(Effect.gen(function*() {
        const read = yield* OnboardingQueries
        yield* registerBusinessManager("3", 10, "Umbrella")
        yield* registerBusinessManager("1", 10, "Acme")
        yield* registerBusinessManager("2", 10)
        yield* registerWaba("10", "1", 11)
        yield* registerWaba("11", "1", 12)
        yield* signWabaTerms("10", 13)
        yield* inviteBusinessManager("2", "https://example.test/onboard", 14)
        yield* caughtUp
        const all = yield* walkPages(2, (cursor) => read.businessManagers({ limit: 2, cursor, now: 100 }))
        assert.deepStrictEqual(ids(all), ["1", "2", "3"])
        for (const bm of all) assert.deepStrictEqual(bm, yield* read.businessManager(bm.id, 100))
        assert.deepStrictEqual(ids(all[0]!.wabas), ["10", "11"])
        assert.deepStrictEqual(all[1]!.wabas, [])
        assert.deepStrictEqual(ids((yield* read.businessManagers({ now: 100, businessManagerIds: ["3", "2", "9"] })).items), ["2", "3"])
        assert.deepStrictEqual((yield* read.businessManagers({ now: 100, businessManagerIds: [] })).items, [])
      })))

    it.effect("an unknown Business Manager or WABA is not found", () =>
      run(Effect.gen(function*() {
        const read = yield* OnboardingQueries
        yield* registerBusinessManager("1", 10)
        yield* registerWaba("10", "1", 11)
        yield* caughtUp
        assert.isNull(yield* read.businessManager("2", 100))
        assert.isNull(yield* read.waba("11", 100))
        assert.deepStrictEqual(yield* read.wabas({ now: 100, businessManagerIds: ["2"] }), { items: [], nextCursor: null })
      })))

    it.effect("a Business Manager with its name, its WABAs by id, and the link of its latest invitation", () =>
      run(Effect.gen(function*() {
        const read = yield* OnboardingQueries
        yield* registerBusinessManager("1", 10, "Acme")
        yield* registerWaba("12", "1", 11, "Acme marketing")
        yield* registerWaba("10", "1", 12)
        yield* registerBusinessManager("2", 10)
        yield* registerWaba("20", "2", 13)
        yield* caughtUp
        const fresh = yield* read.businessManager("1", 100)
        assert.deepStrictEqual([fresh?.id, fresh?.name, fresh?.mmApi, fresh?.invitationLink], [
          "1",
          "Acme",
          { termsSigned: false, signedAt: null, invitedAt: null },
          null
        ])
        assert.deepStrictEqual(fresh?.wabas.map((w) => [w.id, w.businessManagerId, w.name, w.mmApi.status]), [
          ["10", "1", null, "not_onboarded"],
          ["12", "1", "Acme marketing", "not_onboarded"]
        ])
        yield* inviteBusinessManager("1", "https://example.test/first", 50)
        yield* inviteBusinessManager("1", "https://example.test/second", 60)
        yield* caughtUp
        const invited = yield* read.businessManager("1", 100)
        assert.deepStrictEqual([invited?.mmApi.invitedAt, invited?.invitationLink], [60, "https://example.test/second"])
        assert.deepStrictEqual(ids((yield* read.businessManager("2", 100))?.wabas ?? []), ["20"])
      })))

    it.effect("a request through Meta's Intent API is shown with its request id, counts as an invitation, and a duplicate answer as already invited", () =>
      run(Effect.gen(function*() {
        const read = yield* OnboardingQueries
        yield* registerBusinessManager("1", 10)
        yield* registerBusinessManager("2", 10)
        yield* caughtUp
        assert.isNull((yield* read.businessManager("1", 100))?.metaRequest)
        yield* inviteBusinessManager("1", "https://example.test/onboard", 20)
        yield* requestMetaOnboarding("1", "893436979557695", 30, "5550001")
        yield* requestMetaOnboarding("2", null, 40)
        yield* caughtUp
        const one = yield* read.businessManager("1", 100)
        assert.deepStrictEqual([one?.metaRequest, one?.mmApi.invitedAt, one?.invitationLink], [
          { requestId: "893436979557695", alreadyInvited: false, solutionId: "5550001", at: 30 },
          30,
          "https://example.test/onboard"
        ])
        const two = yield* read.businessManager("2", 100)
        assert.deepStrictEqual([two?.metaRequest, two?.mmApi.invitedAt, two?.invitationLink], [
          { requestId: null, alreadyInvited: true, solutionId: null, at: 40 },
          40,
          null
        ])
        assert.deepStrictEqual((yield* read.businessManagers({ now: 100 })).items.map((b) => b.metaRequest?.requestId ?? null), ["893436979557695", null])
      })))

    it.effect("business-level terms onboard every WABA of the Business Manager, later ones too, and no other", () =>
      run(Effect.gen(function*() {
        const read = yield* OnboardingQueries
        yield* registerBusinessManager("1", 10)
        yield* registerWaba("10", "1", 11)
        yield* registerBusinessManager("2", 10)
        yield* registerWaba("20", "2", 11)
        yield* signBusinessTerms("1", 50)
        yield* registerWaba("11", "1", 60)
        yield* caughtUp
        const bm = yield* read.businessManager("1", 100)
        assert.deepStrictEqual(bm?.mmApi, { termsSigned: true, signedAt: 50, invitedAt: null })
        assert.deepStrictEqual(bm?.wabas.map((w) => [w.id, w.mmApi.status, w.mmApi.source]), [
          ["10", "onboarded", "business_webhook"],
          ["11", "onboarded", "business_webhook"]
        ])
        assert.strictEqual((yield* read.waba("20", 100))?.mmApi.status, "not_onboarded")
      })))

    it.effect("the status read from Meta is shown beside the derived one, also where they disagree; a sync request is shown", () =>
      run(Effect.gen(function*() {
        const read = yield* OnboardingQueries
        yield* registerBusinessManager("1", 10)
        yield* registerWaba("10", "1", 11)
        yield* registerWaba("11", "1", 11)
        yield* caughtUp
        assert.deepStrictEqual([(yield* read.waba("10", 100))?.meta, (yield* read.waba("10", 100))?.metaSyncRequestedAt], [null, null])
        yield* readMetaStatus("10", "ELIGIBLE", 20, "NOT_STARTED")
        yield* signWabaTerms("10", 30)
        yield* readMetaStatus("11", "ONBOARDED", 40, "TERM_OF_SERVICE_SIGNED")
        yield* requestMetaSync("11", 45)
        yield* caughtUp
        const ten = yield* read.waba("10", 100)
        assert.deepStrictEqual([ten?.mmApi.status, ten?.mmApi.source, ten?.meta], [
          "onboarded",
          "waba_webhook",
          { status: "ELIGIBLE", businessStatus: "NOT_STARTED", readAt: 20, agrees: false }
        ])
        const eleven = yield* read.waba("11", 100)
        assert.deepStrictEqual([eleven?.mmApi.status, eleven?.mmApi.source, eleven?.meta?.agrees, eleven?.metaSyncRequestedAt], ["onboarded", "meta_api", true, 45])
        assert.deepStrictEqual((yield* read.wabas({ now: 100, status: "onboarded" })).items.map((w) => w.id), ["10", "11"])
      })))

    it.effect("a request to read the WABA's template list from Meta is shown, apart from the status sync's", () =>
      run(Effect.gen(function*() {
        const read = yield* OnboardingQueries
        yield* registerBusinessManager("1", 10)
        yield* registerWaba("10", "1", 11)
        yield* caughtUp
        assert.strictEqual((yield* read.waba("10", 100))?.templateSyncRequestedAt, null)
        yield* requestTemplateSync("10", 40)
        yield* requestTemplateSync("10", 50)
        yield* caughtUp
        const waba = yield* read.waba("10", 100)
        assert.deepStrictEqual([waba?.templateSyncRequestedAt, waba?.metaSyncRequestedAt], [50, null])
        assert.deepStrictEqual((yield* read.businessManager("1", 100))?.wabas.map((w) => w.templateSyncRequestedAt), [50])
      })))

    it.effect("a WABA's status is as of the caller's now: a restriction ends by itself at its expiration", () =>
      run(Effect.gen(function*() {
        const read = yield* OnboardingQueries
        yield* registerBusinessManager("1", 1)
        yield* registerWaba("10", "1", 2)
        yield* signWabaTerms("10", 3)
        yield* restrictWaba("10", 100, 500)
        yield* caughtUp
        const during = yield* read.waba("10", 200)
        assert.deepStrictEqual([during?.mmApi.status, during?.mmApi.suspendedUntil], ["suspended", 500])
        assert.strictEqual((yield* read.waba("10", 499))?.mmApi.status, "suspended")
        assert.strictEqual((yield* read.waba("10", 600))?.mmApi.status, "onboarded")
        assert.deepStrictEqual(ids((yield* read.wabas({ status: "suspended", now: 200 })).items), ["10"])
        assert.deepStrictEqual(ids((yield* read.wabas({ status: "onboarded", now: 600 })).items), ["10"])
        assert.deepStrictEqual((yield* read.wabas({ status: "suspended", now: 600 })).items, [])
      })))

    it.effect("the list filtered by status agrees with each WABA's own view, also for a now before its last fact", () =>
      run(Effect.gen(function*() {
        const read = yield* OnboardingQueries
        // The last fact (at 300) comes when the restriction (100 → 300) has already ended.
        yield* registerBusinessManager("1", 1)
        yield* registerWaba("10", "1", 2)
        yield* restrictWaba("10", 100, 300)
        yield* recordTermsNotAccepted("10", 300)
        yield* registerWaba("11", "1", 2)
        yield* signWabaTerms("11", 5)
        yield* caughtUp
        for (const now of [50, 200, 400]) {
          const all = (yield* read.wabas({ now })).items
          for (const status of ["onboarded", "not_onboarded", "suspended"] as const) {
            const filtered = (yield* read.wabas({ now, status })).items
            assert.deepStrictEqual(filtered, all.filter((w) => w.mmApi.status === status), `${status} at ${now}`)
          }
          for (const w of all) assert.deepStrictEqual(yield* read.waba(w.id, now), w)
        }
        assert.deepStrictEqual(ids((yield* read.wabas({ status: "suspended", now: 200 })).items), ["10"])
        assert.deepStrictEqual(ids((yield* read.wabas({ status: "not_onboarded", now: 400 })).items), ["10"])
      })))

    it.effect("the WABA list is by id, page by page; a cursor that does not decode starts from the beginning", () =>
      run(Effect.gen(function*() {
        const read = yield* OnboardingQueries
        yield* registerBusinessManager("1", 1)
        for (const w of ["14", "10", "13", "11", "12"]) yield* registerWaba(w, "1", 2)
        yield* caughtUp
        const walked = yield* walkPages(2, (cursor) => read.wabas({ now: 10, limit: 2, cursor }))
        assert.deepStrictEqual(ids(walked), ["10", "11", "12", "13", "14"])
        const exact = yield* walkPages(5, (cursor) => read.wabas({ now: 10, limit: 5, cursor }))
        assert.deepStrictEqual(ids(exact), ["10", "11", "12", "13", "14"])
        assert.deepStrictEqual(yield* read.wabas({ now: 10, limit: 2, cursor: "not a cursor" }), yield* read.wabas({ now: 10, limit: 2 }))
        assert.deepStrictEqual(ids((yield* read.wabas({ now: 10, limit: 10, cursor: encodeCursor(["12"]) })).items), ["13", "14"])
      })))

    it.effect("the status filter pages by what the WABAs are at now: every page but the last is full", () =>
      run(Effect.gen(function*() {
        const read = yield* OnboardingQueries
        yield* registerBusinessManager("1", 1)
        for (const w of ["10", "11", "12", "13", "14", "15"]) yield* registerWaba(w, "1", 2)
        // Restricted until 300: suspended before, not after. 13 and 15 stay restricted.
        for (const w of ["10", "11", "12"]) yield* restrictWaba(w, 100, 300)
        for (const w of ["13", "15"]) yield* restrictWaba(w, 100, null)
        yield* caughtUp
        const walk = (status: "suspended" | "not_onboarded", now: number) =>
          Effect.map(walkPages(2, (cursor) => read.wabas({ now, status, limit: 2, cursor })), ids)
        assert.deepStrictEqual(yield* walk("suspended", 400), ["13", "15"])
        assert.deepStrictEqual(yield* walk("suspended", 200), ["10", "11", "12", "13", "15"])
        assert.deepStrictEqual(yield* walk("not_onboarded", 400), ["10", "11", "12", "14"])
      })))

    it.effect("the WABA list scoped to Business Managers shows only theirs, with the status filter and pages", () =>
      run(Effect.gen(function*() {
        const read = yield* OnboardingQueries
        yield* registerBusinessManager("1", 1)
        yield* registerBusinessManager("2", 1)
        for (const w of ["10", "11", "12"]) yield* registerWaba(w, "1", 2)
        for (const w of ["20", "21"]) yield* registerWaba(w, "2", 2)
        // Known only from a webhook that named no Business Manager: in no tenant's scope.
        yield* signWabaTerms("30", 3)
        yield* signWabaTerms("11", 3)
        yield* signWabaTerms("21", 3)
        yield* caughtUp
        const list = (options: { readonly businessManagerIds?: ReadonlyArray<string>; readonly status?: "onboarded" }) =>
          Effect.map(read.wabas({ now: 10, ...options }), (page) => ids(page.items))
        assert.deepStrictEqual(yield* list({}), ["10", "11", "12", "20", "21", "30"])
        assert.deepStrictEqual(yield* list({ businessManagerIds: ["1"] }), ["10", "11", "12"])
        assert.deepStrictEqual(yield* list({ businessManagerIds: ["2"] }), ["20", "21"])
        assert.deepStrictEqual(yield* list({ businessManagerIds: ["2", "1"] }), ["10", "11", "12", "20", "21"])
        assert.deepStrictEqual(yield* list({ businessManagerIds: [] }), [])
        assert.deepStrictEqual(yield* list({ businessManagerIds: ["3"] }), [])
        assert.deepStrictEqual(yield* list({ businessManagerIds: ["2"], status: "onboarded" }), ["21"])
        assert.deepStrictEqual(yield* list({ status: "onboarded" }), ["11", "21", "30"])
        const walked = yield* walkPages(2, (cursor) => read.wabas({ now: 10, businessManagerIds: ["1"], limit: 2, cursor }))
        assert.deepStrictEqual(ids(walked), ["10", "11", "12"])
        assert.isNull((yield* read.waba("30", 10))?.businessManagerId)
      })))
  })
}
