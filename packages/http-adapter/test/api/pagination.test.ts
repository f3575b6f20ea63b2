import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { collectPages, startApi, type TestApi } from "./support.js"

/**
 * Lists take `limit` and `cursor` and answer `{items, nextCursor}`: paging with a small limit yields
 * every item once, in the order of one big page, and the last page says `nextCursor: null`. (Clicks,
 * messages by wamid and the inbox are paged in their own test files.)
 */

let api: TestApi
const BM = "610000000000001"
const OTHER_BM = "610000000000002"
const WABAS = ["610000000000011", "610000000000012", "610000000000013", "610000000000014", "610000000000015"]

beforeAll(async () => {
  api = await startApi()
  for (const bm of [BM, OTHER_BM]) expect((await api.request("PUT", `/v1/business-managers/${bm}`, { body: {} })).status).toBe(200)
  for (const waba of WABAS) expect((await api.request("PUT", `/v1/wabas/${waba}`, { body: { businessManagerId: BM } })).status).toBe(200)
  for (const waba of WABAS.slice(0, 3)) {
    const r = await api.request("POST", `/v1/wabas/${waba}/mm-api-status`, { body: { status: "onboarded", reason: "confirmed" } })
    expect(r.status).toBe(200)
  }
  for (const name of ["a_one", "b_two", "c_three"]) {
    for (const language of ["en", "pt_BR"]) {
      expect((await api.request("PUT", `/v1/wabas/${WABAS[0]}/templates/${name}/${language}`, { body: { category: "MARKETING" } })).status).toBe(200)
    }
  }
  for (let i = 0; i < 5; i++) expect((await api.request("POST", "/v1/api-keys", { body: { name: `key ${i}`, businessManagerIds: [BM] } })).status).toBe(201)
})
afterAll(async () => {
  await api.close()
})

const pagedEqualsWhole = async (path: string, limit: number) => {
  const whole = await api.request("GET", `${path}${path.includes("?") ? "&" : "?"}limit=500`)
  expect(whole.json.nextCursor).toBeNull()
  const paged = await collectPages(api, path, limit)
  expect(paged.items).toEqual(whole.json.items)
  expect(paged.pages).toBeGreaterThan(1)
  return paged.items
}

describe("pagination", () => {
  it("GET /v1/api-keys", async () => {
    const items = await pagedEqualsWhole("/v1/api-keys", 2)
    expect(items).toHaveLength(5)
  })
  it("GET /v1/onboarding", async () => {
    const items = await pagedEqualsWhole("/v1/onboarding", 2)
    expect(items.map((w) => w.id)).toEqual(WABAS)
  })
  it("GET /v1/onboarding?status= filters, and pages the filtered list", async () => {
    const onboarded = await pagedEqualsWhole("/v1/onboarding?status=onboarded", 2)
    expect(onboarded.map((w) => [w.id, w.mmApi.status])).toEqual(WABAS.slice(0, 3).map((id) => [id, "onboarded"]))
    const not = await pagedEqualsWhole("/v1/onboarding?status=not_onboarded", 1)
    expect(not.map((w) => w.id)).toEqual(WABAS.slice(3))
    const suspended = await api.request("GET", "/v1/onboarding?status=suspended")
    expect(suspended.json).toEqual({ items: [], nextCursor: null })
    const bad = await api.request("GET", "/v1/onboarding?status=maybe")
    expect(bad.status).toBe(400)
    expect(bad.json.error.details.field).toBe("status")
  })
  it("GET /v1/wabas/{wabaId}/templates", async () => {
    const items = await pagedEqualsWhole(`/v1/wabas/${WABAS[0]}/templates`, 4)
    expect(items.map((t) => `${t.name}/${t.language}`)).toEqual(["a_one/en", "a_one/pt_BR", "b_two/en", "b_two/pt_BR", "c_three/en", "c_three/pt_BR"])
  })
  it("a limit outside 1..500 is a 400 naming limit", async () => {
    for (const limit of ["0", "501", "ten"]) {
      const r = await api.request("GET", `/v1/onboarding?limit=${limit}`)
      expect([limit, r.status, r.json.error.details.field]).toEqual([limit, 400, "limit"])
    }
  })
})
