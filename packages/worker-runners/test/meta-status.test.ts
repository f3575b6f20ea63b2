import { makeProviderClientConfig } from "@mm-gateway/http-adapter"
import { BM, eventually, ok } from "@mm-gateway/worker-test-stack"
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import { type Stack, startStack, type WorkerHandle } from "./support.js"

/**
 * The MM API onboarding status read from Meta (docs/worker.md#onboarding-status-from-meta): Meta
 * channels' Graph base URL is the sandbox, which plays `GET /{id}?fields=marketing_messages_onboarding_status`.
 * The schedule is an hour, so every read seen here is the one at once after registration or one asked for.
 */

let stack: Stack
let worker: WorkerHandle

beforeAll(async () => {
  stack = await startStack()
  worker = stack.startWorker({
    metaStatusSyncIntervalMs: 3_600_000,
    provider: makeProviderClientConfig({ sandboxBaseUrl: stack.sandbox.url, graphBaseUrl: stack.sandbox.url, requestTimeoutMs: 5_000, connectTimeoutMs: 1_000 })
  })
  ok(await stack.api.request("PUT", `/v1/business-managers/${BM}`, { name: "Acme" }), "bm")
  // The sandbox knows the Business Manager as a portfolio by a number it owns.
  stack.sandbox.setNumber("106540352240010", { wabaId: "102290129340398", ownerBusinessId: BM })
})
afterAll(async () => {
  await worker.stop()
  await stack.close()
})

const register = async (waba: string, phone: string, provider: "meta" | "sandbox" = "meta") => {
  ok(await stack.api.request("PUT", `/v1/wabas/${waba}`, { businessManagerId: BM }), "waba")
  ok(await stack.api.request("PUT", `/v1/channels/${phone}`, {
    wabaId: waba,
    displayPhoneNumber: "+15550100",
    provider,
    credentials: provider === "meta" ? { accessToken: `EAAG-token-${phone}` } : { apiKey: `key-${phone}` }
  }), "channel")
}

const wabaOf = async (waba: string) => ok(await stack.api.request("GET", `/v1/wabas/${waba}`), `waba ${waba}`)

describe("onboarding status from Meta", () => {
  it("a WABA on a Meta channel is read at once after registration: ONBOARDED is a fact with source meta_api", async () => {
    await register("102290129340398", "106540352240011")
    const waba = await eventually("read from Meta", async () => {
      const w = await wabaOf("102290129340398")
      return w.mmApi.meta !== null && w
    })
    assert.deepStrictEqual(
      [waba.mmApi.status, waba.mmApi.source, waba.mmApi.meta.status, waba.mmApi.meta.businessStatus, waba.mmApi.meta.agrees],
      ["onboarded", "meta_api", "ONBOARDED", "TERM_OF_SERVICE_SIGNED", true]
    )
    assert.isString(waba.mmApi.meta.readAt)
  })

  it("a status from Meta that disagrees with a webhook is shown beside the derived status; a sync asked for reads again", async () => {
    const waba = "102290129340001"
    await register(waba, "106540352240012")
    await eventually("ELIGIBLE read", async () => (await wabaOf(waba)).mmApi.meta?.status === "ELIGIBLE")
    assert.strictEqual((await wabaOf(waba)).mmApi.status, "not_onboarded")
    // The operator says onboarded; Meta still says ELIGIBLE: both are shown.
    ok(await stack.api.request("POST", `/v1/wabas/${waba}/mm-api-status`, { status: "onboarded", reason: "signed on paper" }), "manual")
    const disagreeing = await wabaOf(waba)
    assert.deepStrictEqual([disagreeing.mmApi.status, disagreeing.mmApi.meta.status, disagreeing.mmApi.meta.agrees], ["onboarded", "ELIGIBLE", false])
    // Meta changes its answer (the sandbox's number of this WABA is onboarded now): read when asked.
    stack.sandbox.setNumber("106540352240013", { wabaId: "102290129349999", onboarded: false })
    const synced = await stack.api.request("POST", `/v1/wabas/102290129349999/mm-api-status/sync`)
    assert.strictEqual(synced.status, 404)
    await register("102290129349999", "106540352240013")
    await eventually("ELIGIBLE read", async () => (await wabaOf("102290129349999")).mmApi.meta?.status === "ELIGIBLE")
    stack.sandbox.setNumber("106540352240013", { onboarded: true })
    const asked = await stack.api.request("POST", `/v1/wabas/102290129349999/mm-api-status/sync`)
    assert.strictEqual(asked.status, 202)
    const after = await eventually("ONBOARDED read after the sync", async () => {
      const w = await wabaOf("102290129349999")
      return w.mmApi.meta?.status === "ONBOARDED" && w
    })
    assert.deepStrictEqual([after.mmApi.status, after.mmApi.source], ["onboarded", "meta_api"])
  })

  it("a WABA with only sandbox or 360dialog channels is not read; a read that fails is retried on the schedule, nothing recorded", async () => {
    await register("102290129340002", "106540352240014", "sandbox")
    await register("102290129340100", "106540352240015")
    // The Meta WABA read after both registrations: by then the other two were seen too.
    await register("102290129340003", "106540352240016")
    await eventually("PENDING read", async () => (await wabaOf("102290129340003")).mmApi.meta?.status === "PENDING_INTERNAL_SETUP")
    assert.strictEqual((await wabaOf("102290129340002")).mmApi.meta, null)
    assert.strictEqual((await wabaOf("102290129340100")).mmApi.meta, null)
  })
})
