import type { ProviderGateway } from "@mm-gateway/domain"
import { makeProviderClientConfig } from "@mm-gateway/http-adapter"
import { BM, eventually, message, ok, postSignedWebhook, templateBody } from "@mm-gateway/worker-test-stack"
import { Effect } from "effect"
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import { type Stack, startStack, type WorkerHandle, type WorkerOptions } from "./support.js"

/**
 * The templates read from Meta (docs/worker.md#templates-from-meta): Meta channels' Graph base URL is
 * the sandbox, which plays `GET /{WABA_ID}/message_templates` in pages of two. The provider port is
 * wrapped to keep each read's answer: a read seen to end means the pass before it has recorded
 * everything (a pass reads one WABA after the other, and records a read before it asks for the next).
 */

const reading = () => {
  const reads: Array<{ readonly wabaId: string; readonly result: ProviderGateway.TemplateListResult }> = []
  const decorateProvider: NonNullable<WorkerOptions["decorateProvider"]> = (gateway) => ({
    ...gateway,
    listTemplates: (request) => Effect.tap(gateway.listTemplates(request), (result) => Effect.sync(() => reads.push({ wabaId: request.wabaId, result })))
  })
  return { readsOf: (wabaId: string) => reads.filter((r) => r.wabaId === wabaId), all: () => reads, decorateProvider }
}

const start = async (intervalMs: number) => {
  const stack = await startStack({ sandbox: { templatePageSize: 2 } })
  const recorder = reading()
  const worker = stack.startWorker({
    metaTemplateSyncIntervalMs: intervalMs,
    metaStatusSyncIntervalMs: 3_600_000,
    provider: makeProviderClientConfig({ sandboxBaseUrl: stack.sandbox.url, graphBaseUrl: stack.sandbox.url, requestTimeoutMs: 5_000, connectTimeoutMs: 1_000 })
  }, { decorateProvider: recorder.decorateProvider })
  ok(await stack.api.request("PUT", `/v1/business-managers/${BM}`, { name: "Acme" }), "bm")
  return { stack, worker, recorder }
}

const register = async (stack: Stack, waba: string, phone: string, provider: "meta" | "sandbox" = "meta") => {
  ok(await stack.api.request("PUT", `/v1/wabas/${waba}`, { businessManagerId: BM }), "waba")
  ok(await stack.api.request("PUT", `/v1/channels/${phone}`, {
    wabaId: waba,
    displayPhoneNumber: "+15550100",
    provider,
    credentials: provider === "meta" ? { accessToken: `EAAG-token-${phone}` } : { apiKey: `key-${phone}` }
  }), "channel")
}

const templatesOf = async (stack: Stack, waba: string): Promise<Record<string, any>> => {
  const page = ok(await stack.api.request("GET", `/v1/wabas/${waba}/templates?limit=100`), `templates of ${waba}`)
  return Object.fromEntries(page.items.map((t: any) => [`${t.name}/${t.language}`, t]))
}

const categoryUpdate = (waba: string, name: string, time: number, value: Record<string, unknown>) => ({
  object: "whatsapp_business_account",
  entry: [{ id: waba, time, changes: [{ field: "template_category_update", value: { message_template_id: 1, message_template_name: name, message_template_language: "en", ...value } }] }]
})

describe("templates from Meta, on start, on demand and in order with the webhooks", () => {
  const WABA = "102290129340398"
  let stack: Stack
  let worker: WorkerHandle
  let recorder: ReturnType<typeof reading>

  beforeAll(async () => {
    // The schedule is an hour: every read seen here is the one at once after registration or one asked for.
    ;({ stack, worker, recorder } = await start(3_600_000))
    const told = [
      ["spring_sale", "en", { category: "MARKETING", ttlSeconds: 86_400 }],
      ["receipt", "en_US", { category: "UTILITY", status: "PAUSED" }],
      ["login_code", "de", { category: "AUTHENTICATION", ttlSeconds: 300 }],
      ["flip", "en", { category: "UTILITY" }],
      ["novel", "en", { category: "NEW_KIND" as "MARKETING", status: "IN_REVIEW_SOMEDAY" }]
    ] as const
    for (const [name, language, template] of told) stack.sandbox.setTemplate(name, language, { ...template, wabaId: WABA })
  })
  afterAll(async () => {
    await worker.stop()
    await stack.close()
  })

  /** Asks for a sync and waits until the read it caused has been recorded. */
  const syncAndWait = async () => {
    const before = recorder.readsOf(WABA).length
    assert.strictEqual((await stack.api.request("POST", `/v1/wabas/${WABA}/templates/sync`)).status, 202)
    await eventually("the read asked for", () => recorder.readsOf(WABA).length > before)
    // A second read ends only after the first one's templates were recorded.
    assert.strictEqual((await stack.api.request("POST", `/v1/wabas/${WABA}/templates/sync`)).status, 202)
    await eventually("the read after it", () => recorder.readsOf(WABA).length > before + 1)
  }

  it("a WABA on a Meta channel is read at once after registration, every page: category (meta_api), status and TTL as Meta has them", async () => {
    await register(stack, WABA, "106540352240011")
    const templates = await eventually("the list recorded", async () => {
      const t = await templatesOf(stack, WABA)
      return Object.keys(t).length === 5 && t
    })
    const shown = Object.values(templates).map((t: any) => [t.name, t.language, t.category, t.categorySource, t.status, t.ttlSeconds])
    assert.sameDeepMembers(shown, [
      ["spring_sale", "en", "MARKETING", "meta_api", "APPROVED", 86_400],
      ["receipt", "en_US", "UTILITY", "meta_api", "PAUSED", null],
      ["login_code", "de", "AUTHENTICATION", "meta_api", "APPROVED", 300],
      ["flip", "en", "UTILITY", "meta_api", "APPROVED", null],
      // A category the gateway does not know is left out (logged); the status is kept as Meta wrote it.
      ["novel", "en", null, null, "IN_REVIEW_SOMEDAY", null]
    ])
    const read = recorder.readsOf(WABA)[0]!.result
    assert.deepStrictEqual(read._tag === "Read" ? read.pages : read, 3)
  })

  it("a pass over an unchanged list records nothing; a sync asked for reads again and records only what changed", async () => {
    const before = await templatesOf(stack, WABA)
    await syncAndWait()
    assert.deepStrictEqual(await templatesOf(stack, WABA), before)
    stack.sandbox.setTemplate("receipt", "en_US", { category: "UTILITY", status: "APPROVED", ttlSeconds: 3_600, wabaId: WABA })
    stack.sandbox.setTemplate("spring_sale", "en", { category: "MARKETING", ttlSeconds: null, wabaId: WABA })
    await syncAndWait()
    const after = await templatesOf(stack, WABA)
    assert.deepStrictEqual([after["receipt/en_US"].status, after["receipt/en_US"].ttlSeconds], ["APPROVED", 3_600])
    assert.deepStrictEqual([after["spring_sale/en"].category, after["spring_sale/en"].ttlSeconds], ["MARKETING", null])
    assert.notStrictEqual(after["receipt/en_US"].updatedAt, before["receipt/en_US"].updatedAt)
    for (const key of ["login_code/de", "flip/en", "novel/en"]) assert.deepStrictEqual(after[key], before[key], key)
  })

  it("a webhook older than the list read does not undo it, a newer one does, and a later read older than that webhook does not undo the webhook", async () => {
    const now = Math.floor(Date.now() / 1000)
    // Completed before the list was read (an hour ago): the list's UTILITY stands.
    await postSignedWebhook(stack.api, categoryUpdate(WABA, "flip", now - 3_600, { previous_category: "MARKETING", new_category: "MARKETING" }))
    await postSignedWebhook(stack.api, categoryUpdate(WABA, "marker_old", now - 3_600, { previous_category: "UTILITY", new_category: "UTILITY" }))
    await eventually("the older webhook applied", async () => (await templatesOf(stack, WABA))["marker_old/en"] !== undefined)
    assert.deepStrictEqual([(await templatesOf(stack, WABA))["flip/en"].category, (await templatesOf(stack, WABA))["flip/en"].categorySource], ["UTILITY", "meta_api"])

    // Completed after the next read will have been asked for: it wins over the read, whichever is recorded first.
    await postSignedWebhook(stack.api, categoryUpdate(WABA, "flip", now + 3_600, { previous_category: "UTILITY", new_category: "MARKETING" }))
    await eventually("the newer webhook applied", async () => (await templatesOf(stack, WABA))["flip/en"].category === "MARKETING")
    // Meta's list still says UTILITY (the sandbox was not told otherwise): the read is older than the webhook.
    await syncAndWait()
    const flip = (await templatesOf(stack, WABA))["flip/en"]
    assert.deepStrictEqual([flip.category, flip.categorySource], ["MARKETING", "category_update"])
  })

  it("an impending recategorization is shown and changes no category, nor routing; a list naming the current category leaves it shown; the completed update routes on its new_category", async () => {
    const now = Math.floor(Date.now() / 1000)
    await postSignedWebhook(stack.api, categoryUpdate(WABA, "spring_sale", now + 7_200, { new_category: "MARKETING", correct_category: "UTILITY", category_update_timestamp: now + 90_000 }))
    const impending = await eventually("the impending change shown", async () => (await templatesOf(stack, WABA))["spring_sale/en"].impendingCategory ?? undefined)
    assert.deepStrictEqual(impending, { correctCategory: "UTILITY", effectiveAt: new Date((now + 90_000) * 1000).toISOString() })
    const routedOn = async (to: string) => {
      const sent = ok(await stack.api.request("POST", `/v1/channels/106540352240011/messages`, templateBody(to, "spring_sale")), `send to ${to}`)
      return [(await message(stack.api, sent.messages[0].id)).template.category, sent.route.reasons.includes("template_not_marketing")]
    }
    assert.deepStrictEqual(await routedOn("16505550701"), ["MARKETING", false])
    await syncAndWait()
    const template = (await templatesOf(stack, WABA))["spring_sale/en"]
    assert.deepStrictEqual([template.category, template.impendingCategory?.correctCategory], ["MARKETING", "UTILITY"])
    // The change completes: routing follows its new_category, and the notice is done with.
    await postSignedWebhook(stack.api, categoryUpdate(WABA, "spring_sale", now + 90_000, { previous_category: "MARKETING", new_category: "UTILITY" }))
    const completed = await eventually("the completed change", async () => {
      const t = (await templatesOf(stack, WABA))["spring_sale/en"]
      return t.category === "UTILITY" && t
    })
    assert.deepStrictEqual([completed.categorySource, completed.impendingCategory], ["category_update", null])
    assert.deepStrictEqual(await routedOn("16505550702"), ["UTILITY", true])
  })

  it("another tenant's key cannot ask for a sync (404); the WABA's own key can", async () => {
    const own = ok(await stack.api.request("POST", "/v1/api-keys", { name: "acme", businessManagerIds: [BM] }), "key").secret
    const other = ok(await stack.api.request("POST", "/v1/api-keys", { name: "other", businessManagerIds: ["271828182840777"] }), "key").secret
    const syncWith = (key: string) => fetch(`${stack.api.url}/v1/wabas/${WABA}/templates/sync`, { method: "POST", headers: { authorization: `Bearer ${key}` } })
    assert.strictEqual((await syncWith(other)).status, 404)
    const before = recorder.readsOf(WABA).length
    assert.strictEqual((await syncWith(own)).status, 202)
    await eventually("the read asked for by the tenant", () => recorder.readsOf(WABA).length > before)
  })
})

describe("templates from Meta: failures and the schedule", () => {
  let stack: Stack
  let worker: WorkerHandle
  let recorder: ReturnType<typeof reading>

  beforeAll(async () => {
    ;({ stack, worker, recorder } = await start(1_000))
    stack.sandbox.setTemplate("first", "en", { category: "MARKETING" })
    stack.sandbox.setTemplate("second", "en", { category: "MARKETING" })
    stack.sandbox.setTemplate("third", "en", { category: "MARKETING" })
  })
  afterAll(async () => {
    await worker.stop()
    await stack.close()
  })

  it("a read that fails records nothing, not even the pages read before the failure, and is tried again on the schedule; a WABA with no Meta channel is not read", async () => {
    await register(stack, "102290129340100", "106540352240021")
    await register(stack, "102290129340101", "106540352240022")
    await register(stack, "102290129340002", "106540352240023", "sandbox")
    await register(stack, "102290129340003", "106540352240024")
    await eventually("two reads of each failing WABA", () =>
      recorder.readsOf("102290129340100").length >= 2 && recorder.readsOf("102290129340101").length >= 2)
    assert.deepStrictEqual(recorder.readsOf("102290129340100").map((r) => r.result), recorder.readsOf("102290129340100").map(() => ({ _tag: "Failed" as const, reason: "http_400_code_100" })))
    assert.deepStrictEqual(recorder.readsOf("102290129340101").map((r) => r.result), recorder.readsOf("102290129340101").map(() => ({ _tag: "Failed" as const, reason: "http_500_code_2" })))
    assert.deepStrictEqual(await templatesOf(stack, "102290129340100"), {})
    assert.deepStrictEqual(await templatesOf(stack, "102290129340101"), {})
    await eventually("the Meta WABA's list", async () => Object.keys(await templatesOf(stack, "102290129340003")).length === 3)
    assert.deepStrictEqual(recorder.readsOf("102290129340002"), [])
    assert.deepStrictEqual(await templatesOf(stack, "102290129340002"), {})
    assert.notInclude(JSON.stringify(recorder.all()), "EAAG-token")
  })
})
