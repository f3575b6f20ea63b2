import { assert, describe, it } from "@effect/vitest"
import { Effect, type Layer } from "effect"
import { ClickQueries, MessageQueries } from "../src/queries.js"
import { attributeClick, caughtUp, type ReadSide, send, twoTenants, userAction } from "./facts.js"
import { walkPages } from "./pages.js"

/**
 * The `ClickQueries` contract: user actions per channel in arrival order, and which message a click id
 * is tied to — the earliest attribution to a message of the click's own channel, whichever of click
 * and attribution came first; an attribution on another tenant's channel neither ties nor blocks it.
 * `makeStore` must give a fresh, empty store each time it is built.
 */
export const clickQueriesContract = (name: string, makeStore: () => Layer.Layer<ReadSide<ClickQueries | MessageQueries>>) => {
  const run = <A, E>(effect: Effect.Effect<A, E, ReadSide<ClickQueries | MessageQueries>>) => Effect.provide(effect, makeStore())

  describe(`ClickQueries contract: ${name}`, () => {
    it.effect("a click id is tied to the message it was attributed to first, before or after the click arrived", () =>
      run(Effect.gen(function*() {
        const read = yield* ClickQueries
        yield* twoTenants
        yield* send({ id: "m1", channel: "100", at: 1 })
        yield* send({ id: "m2", channel: "100", at: 1, to: "16505550002" })
        yield* caughtUp
        assert.isNull(yield* read.clickAttribution("k1", "100"))
        yield* attributeClick("m2", "k1", 5)
        yield* attributeClick("m1", "k1", 6)
        yield* userAction("100", "k1", 7)
        yield* userAction("100", "k2", 8)
        yield* attributeClick("m1", "k2", 9)
        yield* caughtUp
        assert.deepStrictEqual(
          [yield* read.clickAttribution("k1", "100"), yield* read.clickAttribution("k2", "100"), yield* read.clickAttribution("k3", "100")],
          ["m2", "m1", null]
        )
      })))

    it.effect("attribution is per channel: one to a message of another channel neither ties nor blocks this channel's click", () =>
      run(Effect.gen(function*() {
        const read = yield* ClickQueries
        yield* twoTenants
        yield* send({ id: "elsewhere", channel: "200", at: 1 })
        yield* send({ id: "here", channel: "100", at: 1 })
        yield* attributeClick("elsewhere", "k1", 5)
        yield* userAction("100", "k1", 6)
        yield* userAction("100", "k2", 7)
        yield* attributeClick("elsewhere", "k2", 8)
        yield* caughtUp
        assert.deepStrictEqual([yield* read.clickAttribution("k1", "200"), yield* read.clickAttribution("k1", "100")], ["elsewhere", null])
        assert.deepStrictEqual((yield* read.clicks("100")).items.map((c) => [c.clickId, c.messageId]), [["k1", null], ["k2", null]])
        yield* attributeClick("here", "k1", 9)
        yield* caughtUp
        assert.deepStrictEqual([yield* read.clickAttribution("k1", "200"), yield* read.clickAttribution("k1", "100")], ["elsewhere", "here"])
        assert.deepStrictEqual((yield* read.clicks("100")).items.map((c) => [c.clickId, c.messageId]), [["k1", "here"], ["k2", null]])
      })))

    it.effect("a landing page view joins its click by tracking_token, then by click_id, whichever arrived first; one without a click is kept", () =>
      run(Effect.gen(function*() {
        const read = yield* ClickQueries
        yield* twoTenants
        // View before its click, by tracking token (the view's click id differs from the click's).
        yield* userAction("100", "v-other", 10, "landing_page_view", "tt-a")
        // Click before its view, by click id (the view has no tracking token).
        yield* userAction("100", "kb", 11, "marketing_messages_link_click", "tt-b")
        yield* userAction("100", "kb", 12, "landing_page_view", null)
        // The tracking token wins over the click id: this view names kc's id but tt-a's token.
        yield* userAction("100", "kc", 13, "marketing_messages_link_click", "tt-c")
        yield* userAction("100", "kc", 14, "landing_page_view", "tt-a")
        // A view with no click at all, and one on another channel than its click.
        yield* userAction("100", "k-none", 15, "landing_page_view", "tt-none")
        yield* userAction("200", "kb", 16, "landing_page_view", "tt-b")
        yield* userAction("100", "ka", 17, "marketing_messages_link_click", "tt-a")
        yield* caughtUp
        const joined = (channel: string) =>
          Effect.map(read.clicks(channel), (page) => page.items.map((c) => [c.actionType, c.occurredAt, c.joinedClick?.clickId ?? null]))
        assert.deepStrictEqual(yield* joined("100"), [
          ["landing_page_view", 10, "ka"],
          ["marketing_messages_link_click", 11, null],
          ["landing_page_view", 12, "kb"],
          ["marketing_messages_link_click", 13, null],
          ["landing_page_view", 14, "ka"],
          ["landing_page_view", 15, null],
          ["marketing_messages_link_click", 17, null]
        ])
        assert.deepStrictEqual(yield* joined("200"), [["landing_page_view", 16, null]])
        assert.deepStrictEqual((yield* read.clicks("100")).items[0]!.joinedClick, { clickId: "ka", trackingToken: "tt-a", occurredAt: 17 })
      })))

    it.effect("the campaign funnel counts the messages a landing page view is tied to, through the click it joins", () =>
      run(Effect.gen(function*() {
        const read = yield* ClickQueries
        const messages = yield* MessageQueries
        yield* twoTenants
        yield* send({ id: "m1", channel: "100", at: 1 })
        yield* send({ id: "m2", channel: "100", at: 1, to: "16505550002" })
        yield* send({ id: "m3", channel: "100", at: 1, to: "16505550003" })
        yield* attributeClick("m1", "k1", 2)
        yield* attributeClick("m2", "k2", 2)
        // m1: its click and a view joined by tracking token (the view carries no click id).
        yield* userAction("100", null, 5, "landing_page_view", "tt-k1")
        yield* userAction("100", "k1", 6)
        // m2: clicked, never viewed. m3: a view whose click never came, and whose click id nobody attributed.
        yield* userAction("100", "k2", 7)
        yield* userAction("100", "k3", 8, "landing_page_view")
        yield* caughtUp
        const stats = yield* messages.campaignStats("c1")
        assert.deepStrictEqual([stats.funnel.clicked, stats.funnel.landingPageViews], [2, 1])
        assert.deepStrictEqual((yield* read.clicks("100")).items.map((c) => c.messageId), ["m1", "m1", "m2", null])
        // The view of m2 arrives late: counted from then on.
        yield* userAction("100", "k2", 9, "landing_page_view")
        yield* caughtUp
        assert.strictEqual((yield* messages.campaignStats("c1")).funnel.landingPageViews, 2)
      })))

    it.effect("the channels a click id was recorded on, none before its webhook", () =>
      run(Effect.gen(function*() {
        const read = yield* ClickQueries
        yield* caughtUp
        assert.deepStrictEqual(yield* read.clickChannels("k1"), [])
        yield* userAction("200", "k1", 7)
        yield* userAction("100", "k1", 8)
        yield* userAction("100", "k1", 8, "landing_page_view")
        yield* userAction("100", "k2", 9)
        yield* caughtUp
        assert.deepStrictEqual(yield* read.clickChannels("k1"), ["100", "200"])
        assert.deepStrictEqual(yield* read.clickChannels("k2"), ["100"])
        assert.deepStrictEqual(yield* read.clickChannels("k3"), [])
      })))

    it.effect("a channel's user actions in arrival order, page by page, each tied to its message; a repeated webhook is listed once", () =>
      run(Effect.gen(function*() {
        const read = yield* ClickQueries
        yield* twoTenants
        yield* send({ id: "m1", channel: "100", at: 1 })
        yield* send({ id: "m2", channel: "100", at: 1, to: "16505550002" })
        yield* userAction("100", "k1", 10)
        yield* userAction("100", "k1", 10)
        yield* userAction("100", "k1", 11, "landing_page_view")
        yield* attributeClick("m1", "k1", 12)
        yield* attributeClick("m2", "k2", 13)
        yield* userAction("100", "k2", 14)
        yield* userAction("200", "k3", 15)
        yield* userAction("100", null, 16)
        yield* caughtUp
        const walked = yield* walkPages(2, (cursor) => read.clicks("100", { limit: 2, cursor }))
        assert.deepStrictEqual(walked, [
          { actionType: "marketing_messages_link_click", kind: "link_click", clickId: "k1", trackingToken: "tt-k1", component: "cta", productId: null, occurredAt: 10, messageId: "m1", joinedClick: null },
          { actionType: "landing_page_view", kind: "other", clickId: "k1", trackingToken: "tt-k1", component: "cta", productId: null, occurredAt: 11, messageId: "m1", joinedClick: { clickId: "k1", trackingToken: "tt-k1", occurredAt: 10 } },
          { actionType: "marketing_messages_link_click", kind: "link_click", clickId: "k2", trackingToken: "tt-k2", component: "cta", productId: null, occurredAt: 14, messageId: "m2", joinedClick: null },
          { actionType: "marketing_messages_link_click", kind: "link_click", clickId: null, trackingToken: null, component: "cta", productId: null, occurredAt: 16, messageId: null, joinedClick: null }
        ])
        assert.deepStrictEqual((yield* read.clicks("200")).items.map((c) => c.clickId), ["k3"])
        assert.deepStrictEqual(yield* read.clicks("300"), { items: [], nextCursor: null })
      })))
  })
}
