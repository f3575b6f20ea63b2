import { assert, describe, it } from "vitest"
import { withSandbox } from "./support.js"

/** `GET /{version}/{WABA_ID}/message_templates` (template-list.ts): the templates the sandbox was told about, in Graph's shape. */

const FIELDS = "name,language,category,status,message_send_ttl_seconds,id"

const get = (url: string, token = "Bearer any") =>
  fetch(url, { headers: token === "" ? {} : { authorization: token } }).then(async (r) => ({ status: r.status, body: await r.json() as any }))

const put = (sandboxUrl: string, name: string, language: string, body: unknown) =>
  fetch(`${sandboxUrl}/sandbox/templates/${encodeURIComponent(name)}/${encodeURIComponent(language)}`, {
    method: "PUT",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body)
  }).then(async (r) => ({ status: r.status, body: await r.json() as any }))

/** Every page from `first`, following `paging.next` as Graph gives it. */
const walk = async (first: string) => {
  const pages: Array<any> = []
  let url: string | undefined = first
  while (url !== undefined) {
    const page = await get(url)
    assert.strictEqual(page.status, 200, JSON.stringify(page.body))
    pages.push(page.body)
    url = page.body.paging?.next
  }
  return pages
}

describe("the template list (GET /{WABA_ID}/message_templates)", () => {
  it("answers the templates it was told about, with status and TTL, in Meta's shape; a WABA-bound one only under its WABA", () =>
    withSandbox({}, async (sandbox) => {
      assert.deepStrictEqual(await get(`${sandbox.url}/v25.0/102290129340398/message_templates?fields=${FIELDS}`), { status: 200, body: { data: [] } })
      const told = await put(sandbox.url, "spring sale", "en_US", { category: "MARKETING", ttlSeconds: 86_400 })
      assert.deepStrictEqual([told.status, told.body.status, told.body.ttlSeconds, told.body.wabaId], [200, "APPROVED", 86_400, null])
      sandbox.setTemplateCategory("receipt", "en", "UTILITY")
      sandbox.setTemplate("win_back", "de", { category: "MARKETING", status: "PAUSED", wabaId: "102290129349999" })
      const { body } = await get(`${sandbox.url}/v25.0/102290129340398/message_templates?fields=${FIELDS}`)
      assert.deepStrictEqual(body.data, [
        { name: "spring sale", language: "en_US", category: "MARKETING", status: "APPROVED", message_send_ttl_seconds: 86_400, id: told.body.id },
        { name: "receipt", language: "en", category: "UTILITY", status: "APPROVED", id: body.data[1].id }
      ])
      assert.match(body.data[1].id, /^\d+$/)
      assert.isUndefined(body.paging.next)
      const other = await get(`${sandbox.url}/102290129349999/message_templates?fields=name,status`)
      assert.deepStrictEqual(other.body.data.map((t: any) => [t.name, t.status]), [["spring sale", "APPROVED"], ["receipt", "APPROVED"], ["win_back", "PAUSED"]])
      // Telling again changes what is listed, under the same id.
      const again = await put(sandbox.url, "spring sale", "en_US", { category: "UTILITY", ttlSeconds: null, status: "PAUSED" })
      assert.deepStrictEqual([again.body.id, again.body.category, again.body.ttlSeconds, again.body.status], [told.body.id, "UTILITY", null, "PAUSED"])
    }))

  it("pages by cursors: limit, the configured largest page, paging.next until the last page", () =>
    withSandbox({ templatePageSize: 2 }, async (sandbox) => {
      for (const name of ["a", "b", "c", "d", "e"]) sandbox.setTemplateCategory(name, "en", "MARKETING")
      const pages = await walk(`${sandbox.url}/v25.0/102290129340398/message_templates?fields=name&limit=100`)
      assert.deepStrictEqual(pages.map((p) => p.data.map((t: any) => t.name)), [["a", "b"], ["c", "d"], ["e"]])
      assert.isString(pages[0].paging.cursors.after)
      assert.isTrue(pages[0].paging.next.startsWith(`${sandbox.url}/v25.0/102290129340398/message_templates?`))
      const one = await walk(`${sandbox.url}/v25.0/102290129340398/message_templates?fields=name&limit=1`)
      assert.strictEqual(one.length, 5)
      const bad = await get(`${sandbox.url}/v25.0/102290129340398/message_templates?after=not-a-cursor`)
      assert.deepStrictEqual([bad.status, bad.body.error.code], [400, 100])
    }))

  it("scripted WABA endings: 0100 answers Graph's error 100, 0101 fails after the first page; no token is 401", () =>
    withSandbox({ templatePageSize: 1 }, async (sandbox) => {
      sandbox.setTemplateCategory("a", "en", "MARKETING")
      sandbox.setTemplateCategory("b", "en", "MARKETING")
      const unreadable = await get(`${sandbox.url}/v25.0/102290129340100/message_templates?fields=${FIELDS}`)
      assert.deepStrictEqual([unreadable.status, unreadable.body.error.code], [400, 100])
      const first = await get(`${sandbox.url}/v25.0/102290129340101/message_templates?fields=${FIELDS}`)
      assert.deepStrictEqual([first.status, first.body.data.length], [200, 1])
      const second = await get(first.body.paging.next)
      assert.deepStrictEqual([second.status, second.body.error.code], [500, 2])
      assert.strictEqual((await get(`${sandbox.url}/v25.0/102290129340398/message_templates`, "")).status, 401)
    }))

  it("a bad PUT names its field", () =>
    withSandbox({}, async (sandbox) => {
      assert.match((await put(sandbox.url, "x", "en", { category: "MARKETING", status: 3 })).body.error.message, /status/)
      assert.match((await put(sandbox.url, "x", "en", { category: "MARKETING", ttlSeconds: "1h" })).body.error.message, /ttlSeconds/)
      assert.match((await put(sandbox.url, "x", "en", { category: "MARKETING", wabaId: "abc" })).body.error.message, /wabaId/)
    }))
})
