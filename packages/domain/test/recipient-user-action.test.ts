import { assert, describe, it } from "@effect/vitest"
import { Decider, Recipient, UserAction } from "../src/index.js"
import { DAY_MS } from "../src/shared/time.js"
import { deciderSpec } from "../testing/index.js"
import { PHONE, TO, WABA } from "./fixtures.js"

describe("Recipient decider", () => {
  const spec = deciderSpec(Recipient.RecipientDecider)
  const key = { wabaId: WABA, recipient: TO }
  const stop = { _tag: "RecordMarketingPreference", ...key, optedOut: true, source: "user_preferences", occurredAt: 1_000, at: 2_000 } as const
  const optedOut = Recipient.RecipientOptedOut.make({ ...key, source: "user_preferences", occurredAt: 1_000, at: 2_000 })
  it("opts out on a marketing stop", () => spec.given([]).when(stop).then([optedOut]))
  it("opts out on a 131050 failure", () =>
    spec.given([]).when({ ...stop, source: "error_131050" }).then([
      Recipient.RecipientOptedOut.make({ ...key, source: "error_131050", occurredAt: 1_000, at: 2_000 })
    ]))
  it("does nothing when repeated", () => spec.given([optedOut]).when(stop).thenNothing())
  it("opts back in on a resume", () =>
    spec.given([optedOut]).when({ ...stop, optedOut: false, occurredAt: 3_000, at: 3_000 }).then([
      Recipient.RecipientOptedIn.make({ ...key, source: "user_preferences", occurredAt: 3_000, at: 3_000 })
    ]))
  it("ignores a resume older than the stop", () =>
    spec.given([optedOut]).when({ ...stop, optedOut: false, occurredAt: 500 }).thenNothing())
  it("records a newer preference that says the same, so that an older opposite one arriving later does not win", () => {
    const resumed = Recipient.RecipientOptedIn.make({ ...key, source: "user_preferences", occurredAt: 1_000, at: 2_000 })
    const resumedAgain = Recipient.RecipientOptedIn.make({ ...key, source: "user_preferences", occurredAt: 3_000, at: 3_000 })
    spec.given([resumed]).when({ ...stop, optedOut: false, occurredAt: 3_000, at: 3_000 }).then([resumedAgain])
    spec.given([resumed, resumedAgain]).when({ ...stop, occurredAt: 2_000 }).thenNothing()
    spec.given([optedOut]).when({ ...stop, occurredAt: 3_000, at: 3_000 }).then([
      Recipient.RecipientOptedOut.make({ ...key, source: "user_preferences", occurredAt: 3_000, at: 3_000 })
    ])
  })
  it("a stop and a resume of the same time: the stop wins, whatever the order", () => {
    const resumed = Recipient.RecipientOptedIn.make({ ...key, source: "user_preferences", occurredAt: 1_000, at: 2_000 })
    spec.given([resumed]).when(stop).then([optedOut])
    spec.given([optedOut]).when({ ...stop, optedOut: false }).thenNothing()
  })
  it("records a first resume, so that an older stop arriving later does not win", () => {
    const resumed = Recipient.RecipientOptedIn.make({ ...key, source: "user_preferences", occurredAt: 1_000, at: 2_000 })
    spec.given([]).when({ ...stop, optedOut: false }).then([resumed])
    spec.given([resumed]).when({ ...stop, occurredAt: 500 }).thenNothing()
  })

  const cooldown = { _tag: "StartMarketingCooldown", ...key, failedAt: 10_000, at: 11_000 } as const
  const started = Recipient.MarketingCooldownStarted.make({ ...key, from: 10_000, until: 10_000 + DAY_MS, at: 11_000 })
  it("starts a 24 h cooldown from the failure's time after 131049", () => spec.given([]).when(cooldown).then([started]))
  it("does nothing when repeated", () => spec.given([started]).when(cooldown).thenNothing())
  it("extends the cooldown after a later 131049", () =>
    spec.given([started]).when({ ...cooldown, failedAt: 20_000 }).then([
      Recipient.MarketingCooldownStarted.make({ ...key, from: 20_000, until: 20_000 + DAY_MS, at: 11_000 })
    ]))
  it("is in cooldown until exactly 24 h later", () => {
    const state = Decider.fold(Recipient.RecipientDecider, [started])
    assert.isTrue(Recipient.isInMarketingCooldown(state, 10_000 + DAY_MS - 1))
    assert.isFalse(Recipient.isInMarketingCooldown(state, 10_000 + DAY_MS))
  })
})

describe("UserAction decider (clicks)", () => {
  const spec = deciderSpec(UserAction.UserActionDecider)
  const click = {
    _tag: "RecordUserAction",
    channel: PHONE,
    actionType: "marketing_messages_link_click",
    clickId: "IwAR0exampleclickid",
    trackingToken: "AI@AQJexampletoken",
    component: "CTA",
    productId: null,
    occurredAt: 1_764_000_300_000,
    at: 1_764_000_301_000
  } as const
  const fieldsOf = ({ _tag: _, ...fields }: typeof click) => fields
  it("records a link click with the component lower-cased", () =>
    spec.given([]).when(click).then([
      UserAction.UserActionRecorded.make({ ...fieldsOf(click), kind: "link_click", component: "cta" })
    ]))
  it("does nothing when the same click arrives again", () => {
    const events = spec.given([]).when(click).events()
    spec.given(events).when(click).thenNothing()
  })
  it("keeps other action types as their own kind", () =>
    spec.given([]).when({ ...click, actionType: "landing_page_view", component: null }).then([
      UserAction.UserActionRecorded.make({ ...fieldsOf(click), actionType: "landing_page_view", kind: "other", component: null })
    ]))
  it("keys clicks by action type and click_id, falling back to tracking_token", () => {
    const k = (a: string, c: string | null, t: string | null) => UserAction.userActionKey(PHONE, a, c, t, 1)
    assert.strictEqual(k("marketing_messages_link_click", "c1", "t1"), k("marketing_messages_link_click", "c1", "t2"))
    assert.notStrictEqual(k("marketing_messages_link_click", "c1", "t1"), k("landing_page_view", "c1", "t1"))
    assert.strictEqual(k("marketing_messages_link_click", null, "t1"), k("marketing_messages_link_click", null, "t1"))
    assert.notStrictEqual(k("marketing_messages_link_click", null, "t1"), k("marketing_messages_link_click", null, "t2"))
  })
})
