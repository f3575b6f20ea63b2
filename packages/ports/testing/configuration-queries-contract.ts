import { assert, describe, it } from "@effect/vitest"
import { Effect, type Layer } from "effect"
import { ConfigurationQueries } from "../src/queries.js"
import {
  caughtUp,
  changeRoutingSettings,
  type ReadSide,
  readMetaTemplate,
  recordCategoryChange,
  recordImpendingRecategorization,
  recordRefusedAsNotMarketing,
  recordTemplate,
  recordTemplateStatus,
  registerBusinessManager,
  registerChannel,
  registerWaba
} from "./facts.js"
import { walkPages } from "./pages.js"

/**
 * The `ConfigurationQueries` contract: channels as the API shows them (never a secret, not even the
 * credentials reference), the partner-wide routing setting, templates by key and per WABA.
 * `makeStore` must give a fresh, empty store each time it is built.
 */
export const configurationQueriesContract = (name: string, makeStore: () => Layer.Layer<ReadSide<ConfigurationQueries>>) => {
  const run = <A, E>(effect: Effect.Effect<A, E, ReadSide<ConfigurationQueries>>) => Effect.provide(effect, makeStore())

  describe(`ConfigurationQueries contract: ${name}`, () => {
    it.effect("a channel as registered and reconfigured, without its credentials reference; an unknown one is not found", () =>
      run(Effect.gen(function*() {
        const read = yield* ConfigurationQueries
        yield* registerBusinessManager("1", 1)
        yield* registerWaba("10", "1", 2)
        yield* registerChannel("100", "10", 3)
        yield* registerChannel("100", "10", 4, { routing: "cloud_api" })
        yield* registerChannel("100", "10", 5, { routing: "cloud_api", throughputMps: 200 })
        yield* caughtUp
        const channel = yield* read.channel("100")
        assert.deepStrictEqual(channel, {
          phoneNumberId: "100",
          wabaId: "10",
          displayPhoneNumber: "+1 555 100",
          provider: "sandbox",
          routing: "cloud_api",
          throughputMps: 200,
          registeredAt: 3,
          updatedAt: 5
        })
        assert.notProperty(channel, "credentialsRef")
        assert.isNull(yield* read.channel("101"))
      })))

    it.effect("channels by phone number id, page by page; a scope keeps its Business Managers' channels and its own", () =>
      run(Effect.gen(function*() {
        const read = yield* ConfigurationQueries
        yield* registerBusinessManager("1", 1)
        yield* registerWaba("10", "1", 1)
        yield* registerBusinessManager("2", 1)
        yield* registerWaba("20", "2", 1)
        yield* registerChannel("102", "10", 2)
        yield* registerChannel("100", "10", 3, { routing: "cloud_api" })
        yield* registerChannel("200", "20", 4)
        yield* registerChannel("101", "10", 5, { throughputMps: 20 })
        yield* caughtUp
        const all = yield* walkPages(2, (cursor) => read.listChannels({ limit: 2, cursor }))
        assert.deepStrictEqual(all.map((c) => c.phoneNumberId), ["100", "101", "102", "200"])
        assert.deepStrictEqual(all[0], yield* read.channel("100"))
        assert.deepStrictEqual([all[0]!.routing, all[1]!.throughputMps], ["cloud_api", 20])
        for (const c of all) assert.notProperty(c, "credentialsRef")
        const ids = (scope: { businessManagerIds: Array<string>; channelIds: Array<string> }) =>
          Effect.map(read.listChannels({ scope }), (p) => p.items.map((c) => c.phoneNumberId))
        assert.deepStrictEqual(yield* ids({ businessManagerIds: ["1"], channelIds: [] }), ["100", "101", "102"])
        assert.deepStrictEqual(yield* ids({ businessManagerIds: [], channelIds: ["200", "999"] }), ["200"])
        assert.deepStrictEqual(yield* ids({ businessManagerIds: ["2"], channelIds: ["101"] }), ["101", "200"])
        assert.deepStrictEqual(yield* ids({ businessManagerIds: ["3"], channelIds: [] }), [])
      })))

    it.effect("routing settings are the defaults until changed, then what was changed last", () =>
      run(Effect.gen(function*() {
        const read = yield* ConfigurationQueries
        yield* caughtUp
        assert.deepStrictEqual(yield* read.routingSettings(), { marketingViaMmApi: true, ttlOnCloudFallback: "warn" })
        yield* changeRoutingSettings(false, "reject", 5)
        yield* caughtUp
        assert.deepStrictEqual(yield* read.routingSettings(), { marketingViaMmApi: false, ttlOnCloudFallback: "reject" })
        yield* changeRoutingSettings(true, "reject", 6)
        yield* caughtUp
        assert.deepStrictEqual(yield* read.routingSettings(), { marketingViaMmApi: true, ttlOnCloudFallback: "reject" })
      })))

    it.effect("a template by its key: category, TTL, status with its reason, impending recategorization, a refusal as not marketing", () =>
      run(Effect.gen(function*() {
        const read = yield* ConfigurationQueries
        yield* recordTemplate("10", "spring_sale", "MARKETING", 5, { ttlSeconds: 86_400 })
        yield* recordTemplateStatus("10", "spring_sale", "PAUSED", "low quality", 7)
        yield* recordImpendingRecategorization("10", "spring_sale", "UTILITY", 100_000, 8)
        yield* recordRefusedAsNotMarketing("10", "spring_sale", 134100, 5, 9)
        yield* caughtUp
        assert.deepStrictEqual(yield* read.template("10", "spring_sale", "en"), {
          wabaId: "10",
          name: "spring_sale",
          language: "en",
          category: "MARKETING",
          categorySource: "operator",
          ttlSeconds: 86_400,
          status: "PAUSED",
          statusReason: "low quality",
          impending: { correctCategory: "UTILITY", effectiveAt: 100_000, occurredAt: 8 },
          refusedAsNotMarketing: { errorCode: 134100, occurredAt: 9 },
          updatedAt: 9
        })
        assert.isNull(yield* read.template("10", "spring_sale", "de"))
        assert.isNull(yield* read.template("11", "spring_sale", "en"))
        assert.isNull(yield* read.template("10", "summer_sale", "en"))
      })))

    it.effect("a template read from Meta's list: category with source meta_api, status, TTL; an unchanged list changes nothing, a newer webhook wins over it", () =>
      run(Effect.gen(function*() {
        const read = yield* ConfigurationQueries
        yield* readMetaTemplate("10", "spring_sale", { category: "UTILITY", status: "APPROVED", ttlSeconds: 3_600 }, 5)
        yield* caughtUp
        const listed = yield* read.template("10", "spring_sale", "en")
        assert.deepStrictEqual(
          [listed?.category, listed?.categorySource, listed?.status, listed?.statusReason, listed?.ttlSeconds, listed?.updatedAt],
          ["UTILITY", "meta_api", "APPROVED", null, 3_600, 5]
        )
        yield* readMetaTemplate("10", "spring_sale", { category: "UTILITY", status: "APPROVED", ttlSeconds: 3_600 }, 6)
        yield* caughtUp
        assert.strictEqual((yield* read.template("10", "spring_sale", "en"))?.updatedAt, 5)
        yield* recordCategoryChange("10", "spring_sale", "MARKETING", 7)
        yield* readMetaTemplate("10", "spring_sale", { category: "UTILITY", status: "APPROVED", ttlSeconds: null }, 6)
        yield* caughtUp
        const after = yield* read.template("10", "spring_sale", "en")
        assert.deepStrictEqual([after?.category, after?.categorySource, after?.ttlSeconds], ["MARKETING", "category_update", null])
      })))

    it.effect("a template's status reason is the last status change's", () =>
      run(Effect.gen(function*() {
        const read = yield* ConfigurationQueries
        yield* recordTemplate("10", "receipt", "UTILITY", 5)
        yield* caughtUp
        const recorded = yield* read.template("10", "receipt", "en")
        assert.deepStrictEqual([recorded?.category, recorded?.ttlSeconds, recorded?.status, recorded?.statusReason, recorded?.impending, recorded?.refusedAsNotMarketing], [
          "UTILITY",
          null,
          null,
          null,
          null,
          null
        ])
        yield* recordTemplateStatus("10", "receipt", "PAUSED", "low quality", 7)
        yield* recordTemplateStatus("10", "receipt", "APPROVED", null, 8)
        yield* caughtUp
        const approved = yield* read.template("10", "receipt", "en")
        assert.deepStrictEqual([approved?.status, approved?.statusReason, approved?.updatedAt], ["APPROVED", null, 8])
      })))

    it.effect("a WABA's templates by name and language, page by page, and no other WABA's", () =>
      run(Effect.gen(function*() {
        const read = yield* ConfigurationQueries
        yield* recordTemplate("10", "spring_sale", "MARKETING", 5)
        yield* recordTemplate("10", "receipt", "UTILITY", 6)
        yield* recordTemplate("10", "spring_sale", "MARKETING", 7, { language: "de" })
        yield* recordTemplate("10", "autumn", "MARKETING", 8)
        yield* recordTemplate("11", "other_tenant", "MARKETING", 9)
        yield* caughtUp
        const walked = yield* walkPages(2, (cursor) => read.templates("10", { limit: 2, cursor }))
        assert.deepStrictEqual(walked.map((t) => [t.wabaId, t.name, t.language]), [
          ["10", "autumn", "en"],
          ["10", "receipt", "en"],
          ["10", "spring_sale", "de"],
          ["10", "spring_sale", "en"]
        ])
        assert.deepStrictEqual((yield* read.templates("11")).items.map((t) => t.name), ["other_tenant"])
        assert.deepStrictEqual(yield* read.templates("12"), { items: [], nextCursor: null })
      })))
  })
}
