import { assert, describe, it } from "@effect/vitest"
import { readFileSync } from "node:fs"
import { graphSend, post, settled, template, withSandbox } from "./support.js"

const fixture = (name: string): any =>
  JSON.parse(readFileSync(new URL(`./fixtures/seed/${name}.json`, import.meta.url), "utf8"))

/** Every JSON path of a value, array indices collapsed, so two payloads can be compared by shape. */
const paths = (value: unknown, prefix = ""): Set<string> => {
  const out = new Set<string>()
  const walk = (v: unknown, p: string) => {
    if (Array.isArray(v)) for (const item of v) walk(item, `${p}[]`)
    else if (typeof v === "object" && v !== null) for (const [key, child] of Object.entries(v)) walk(child, p === "" ? key : `${p}.${key}`)
    else out.add(p)
  }
  walk(value, prefix)
  return out
}

/**
 * The sandbox speaks Graph v24: `conversation` is gone and `pricing.type` is new (the fixtures are older
 * captures). Apart from those, its payloads must have exactly the fixtures' shape, so whatever decodes
 * the fixtures decodes the sandbox.
 */
const V24_ONLY = /pricing\.type$/
const PRE_V24_ONLY = /\.conversation\./

const assertSameShape = (ours: unknown, theirs: unknown) => {
  const a = [...paths(ours)].filter((p) => !V24_ONLY.test(p)).sort()
  const b = [...paths(theirs)].filter((p) => !PRE_V24_ONLY.test(p)).sort()
  assert.deepStrictEqual(a, b)
}

describe("payload shapes match the captured fixtures", () => {
  it("status webhooks: sent and delivered (with pricing), read (without)", () =>
    withSandbox({ webhookBatchSize: 1 }, async (sandbox, receiver) => {
      await graphSend(sandbox, template("16505551234"), "marketing_messages")
      await settled(sandbox)
      const byStatus = new Map(receiver.posts.map((post) => [post.body.entry[0].changes[0].value.statuses[0].status, post.body]))
      assertSameShape(byStatus.get("sent"), fixture("status-sent-marketing-lite"))
      assertSameShape(byStatus.get("delivered"), fixture("status-delivered-marketing-lite"))
      assertSameShape(byStatus.get("read"), fixture("status-read"))
      assert.strictEqual(byStatus.get("sent").entry[0].changes[0].value.statuses[0].pricing.category, "marketing_lite")
    }))

  it("link click user action", () =>
    withSandbox({ webhookBatchSize: 1 }, async (sandbox, receiver) => {
      await graphSend(sandbox, template("16505550005"), "marketing_messages")
      await settled(sandbox)
      const click = receiver.posts.find((post) => post.body.entry[0].changes[0].value.user_actions !== undefined)
      assertSameShape(click?.body, fixture("user-action-link-click"))
    }))

  it("MM_LITE_TERMS_SIGNED, WABA- and business-level", () =>
    withSandbox({}, async (sandbox, receiver) => {
      await post(`${sandbox.url}/sandbox/onboarding`, {}, { wabaId: "102290129340398", ownerBusinessId: "271828182845904" })
      await settled(sandbox)
      await post(`${sandbox.url}/sandbox/onboarding`, {}, { ownerBusinessId: "271828182845904" })
      await settled(sandbox)
      assertSameShape(receiver.posts[0]?.body, fixture("account-update-mm-lite-terms-signed-waba"))
      assertSameShape(receiver.posts[1]?.body, fixture("account-update-mm-lite-terms-signed-business"))
      assert.deepStrictEqual(receiver.posts[1]?.body.entry[0].changes[0].value, fixture("account-update-mm-lite-terms-signed-business").entry[0].changes[0].value)
    }))
})
