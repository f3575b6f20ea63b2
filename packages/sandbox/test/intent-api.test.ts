import { assert, describe, it } from "@effect/vitest"
import { requestIdFor } from "../src/index.js"
import { withSandbox } from "./support.js"

const ask = (sandbox: { url: string }, businessId: string, options: { token?: string; body?: string; version?: string } = {}) =>
  fetch(`${sandbox.url}/${options.version ?? "v25.0/"}${businessId}/onboard_partners_to_mm_lite`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(options.token === "" ? {} : { authorization: options.token ?? "Bearer system-user-token" }) },
    ...(options.body === undefined ? {} : { body: options.body })
  }).then(async (r) => ({ status: r.status, body: await r.json() as any }))

describe("Intent API: POST /{END_BUSINESS_ID}/onboard_partners_to_mm_lite (intent-api.ts)", () => {
  it("takes a request with a request_id; a second one for the same business is Meta's duplicate 1752041", () =>
    withSandbox({}, async (sandbox) => {
      const first = await ask(sandbox, "271828182845904", { body: JSON.stringify({ solution_id: "1234567890" }) })
      assert.strictEqual(first.status, 200)
      assert.deepStrictEqual(Object.keys(first.body), ["request_id"])
      assert.match(first.body.request_id, /^\d{15}$/)
      assert.strictEqual(first.body.request_id, requestIdFor("271828182845904", 1))
      const again = await ask(sandbox, "271828182845904", { version: "" })
      assert.deepStrictEqual([again.status, again.body.error.code, again.body.error.message], [400, 1752041, "(#1752041) Duplicate Request"])
      // Another business is a request of its own.
      assert.strictEqual((await ask(sandbox, "271828182845905")).status, 200)
      assert.deepStrictEqual(sandbox.intentRequests().map((r) => [r.businessId, r.solutionId, r.requestId !== null, r.errorCode]), [
        ["271828182845904", "1234567890", true, null],
        ["271828182845904", null, false, 1752041],
        ["271828182845905", null, true, null]
      ])
      const listed = await fetch(`${sandbox.url}/sandbox/intent-requests`).then((r) => r.json() as Promise<any>)
      assert.deepStrictEqual(listed.items, sandbox.intentRequests())
      // A reset forgets who was invited.
      sandbox.reset()
      assert.deepStrictEqual(sandbox.intentRequests(), [])
      assert.strictEqual((await ask(sandbox, "271828182845904")).status, 200)
    }))

  it("the business id's ending scripts the documented refusals and two undocumented answers", () =>
    withSandbox({}, async (sandbox) => {
      const expected: ReadonlyArray<readonly [string, number, number, RegExp]> = [
        ["1001", 400, 100, /already accepted/],
        ["1002", 400, 100, /country/],
        ["1003", 400, 100, /no eligible WhatsApp Business Account shared/],
        ["1004", 400, 100, /already sent this request/],
        ["1005", 403, 10, /sufficient permissions/],
        ["1006", 400, 1752041, /Duplicate Request/],
        ["1007", 500, 1, /unknown error/]
      ]
      for (const [ending, status, code, text] of expected) {
        const answer = await ask(sandbox, `27182818284${ending}`)
        assert.deepStrictEqual([answer.status, answer.body.error.code], [status, code], ending)
        assert.match(`${answer.body.error.message} ${answer.body.error.error_user_msg ?? ""}`, text, ending)
        if (ending <= "1003") assert.strictEqual(answer.body.error.message, "Invalid recipient type")
      }
      // 1008 answers nothing: the connection is destroyed.
      const dropped = await fetch(`${sandbox.url}/v25.0/271828182841008/onboard_partners_to_mm_lite`, { method: "POST", headers: { authorization: "Bearer t" } })
        .then(() => "answered", () => "no answer")
      assert.strictEqual(dropped, "no answer")
      assert.strictEqual(sandbox.intentRequests().length, expected.length + 1)
    }))

  it("needs a bearer token (401, Graph's 190) and reads solution_id from a JSON body", () =>
    withSandbox({}, async (sandbox) => {
      const missing = await ask(sandbox, "271828182845904", { token: "" })
      assert.deepStrictEqual([missing.status, missing.body.error.code, missing.body.error.type], [401, 190, "OAuthException"])
      const bad = await ask(sandbox, "271828182845904", { body: "{\"solution_id\": 12}" })
      assert.deepStrictEqual([bad.status, bad.body.error.code], [400, 100])
      assert.match(bad.body.error.message, /solution_id/)
      assert.deepStrictEqual(sandbox.intentRequests(), [])
    }))
})
