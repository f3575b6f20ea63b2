import { ADMIN, BM, eventually, ok, PHONE, registerChannel, removeBundles, send, WABA } from "@mm-gateway/worker-test-stack"
import type { Browser, Page } from "puppeteer-core"
import { readFileSync } from "node:fs"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import { type ConsoleStack, launchBrowser, openView, postMetaWebhook, signIn, startConsoleStack, waitForText, watchErrors } from "./support.js"

/**
 * The operator console in a real Chromium, against the real api (serving the built page), the
 * sandbox and a worker process on one database: what an operator sees and does, end to end.
 */
const TERMS_SIGNED = JSON.parse(readFileSync(new URL("./fixtures/account-update-mm-lite-terms-signed-waba.json", import.meta.url), "utf8"))
const OTHER = { bm: "620000000000001", waba: "620000000000002", phone: "620000000000003" }

let stack: ConsoleStack
let browser: Browser
let page: Page
let errors: Array<string>

beforeAll(async () => {
  stack = await startConsoleStack()
  // Ours, not yet onboarded (the webhook onboards it), and another tenant's Business Manager.
  await registerChannel(stack.api, { onboarded: false })
  ok(await stack.api.request("PUT", `/v1/business-managers/${OTHER.bm}`, { name: "Globex" }), "other bm")
  ok(await stack.api.request("PUT", `/v1/wabas/${OTHER.waba}`, { businessManagerId: OTHER.bm, name: "Globex WABA" }), "other waba")
  ok(await stack.api.request("PUT", `/v1/channels/${OTHER.phone}`, {
    wabaId: OTHER.waba,
    displayPhoneNumber: "+15550199",
    provider: "sandbox",
    credentials: { apiKey: "key-other" }
  }), "other channel")
  ok(await stack.api.request("PUT", `/v1/wabas/${OTHER.waba}/templates/spring_sale/en`, { category: "MARKETING" }), "other template")
  browser = await launchBrowser()
  page = await browser.newPage()
  errors = watchErrors(page)
})

afterAll(async () => {
  await browser?.close()
  await stack?.close()
  removeBundles()
})

const lookUpMessage = async (id: string) => {
  await openView(page, "messages")
  await page.select("section[aria-labelledby=messages-title] select", "id")
  const input = await page.$("section[aria-labelledby=messages-title] input")
  await input!.click({ clickCount: 3 })
  await input!.type(id)
  await page.click("section[aria-labelledby=messages-title] button[type=submit]")
  await waitForText(page, "#message-title", new RegExp(id))
}

describe("the operator console in a browser", () => {
  it("is served with a CSP without inline scripts, nosniff and frame denial, and signs in with the admin token kept in session storage", async () => {
    const response = await page.goto(`${stack.api.url}/console`)
    const headers = response!.headers()
    assert.match(headers["content-security-policy"] ?? "", /(^|; )script-src 'self'(;|$)/)
    assert.include(headers["content-security-policy"], "frame-ancestors 'none'")
    assert.notInclude(headers["content-security-policy"], "unsafe-inline")
    assert.strictEqual(headers["x-content-type-options"], "nosniff")
    assert.strictEqual(headers["x-frame-options"], "DENY")
    assert.strictEqual(await page.$$eval("script:not([src])", (s) => s.length), 0)
    await signIn(page, stack.api.url, ADMIN)
    await waitForText(page, ".who", /Signed in as admin/)
    assert.strictEqual(await page.evaluate(() => sessionStorage.getItem("mmgw.console.token")), ADMIN)
    assert.strictEqual(await page.evaluate(() => document.cookie), "")
    assert.notInclude(page.url(), ADMIN)
  })

  it("shows a WABA turn onboarded after an MM_LITE_TERMS_SIGNED webhook, without a reload", async () => {
    await openView(page, "onboarding")
    const row = `tr[data-waba="${WABA}"]`
    await waitForText(page, `${row} .badge`, /^not onboarded$/)
    await postMetaWebhook(stack, TERMS_SIGNED)
    await waitForText(page, `${row} .badge`, /^onboarded$/)
    assert.match(await page.$eval(row, (r) => r.textContent ?? ""), /waba webhook/)
    await waitForText(page, ".changes", new RegExp(WABA))
  })

  it("asks Meta to email a Business Manager's admins and shows Meta's request id, then 'already invited' on Meta's duplicate", async () => {
    await openView(page, "onboarding")
    const card = `article[aria-label="Business Manager ${BM}"]`
    await waitForText(page, `${card} .meta-email button`, /^Ask Meta to email the admins$/)
    await page.click(`${card} .meta-email button`)
    await waitForText(page, `${card} .meta-email .outcome`, /Meta is emailing the admins \(request \d{15}\)/)
    const [sent] = stack.sandbox.intentRequests()
    assert.strictEqual(sent?.businessId, BM)
    await waitForText(page, `${card} .meta-request`, new RegExp(`Meta request ${sent?.requestId}`))
    await page.click(`${card} .meta-email button`)
    await waitForText(page, `${card} .meta-email .outcome`, /already invited/)
    await waitForText(page, `${card} .meta-request`, /Meta: already invited/)
    assert.deepStrictEqual(stack.sandbox.intentRequests().map((r) => r.errorCode), [null, 1752041])
  })

  it("flips a channel's routing: the next message takes the other route, and back", async () => {
    for (const [routing, expected, to] of [["cloud_api", "cloud_api", "4915112341111"], ["inherit", "marketing_messages", "4915112342222"]] as const) {
      await openView(page, "routing")
      const select = `#channel-${PHONE}-routing`
      await page.waitForSelector(select)
      await page.select(select, routing)
      await page.click(`tr[data-channel="${PHONE}"] button`)
      await waitForText(page, `tr[data-channel="${PHONE}"]`, /saved/)
      await waitForText(page, "[data-changes] li:first-child", new RegExp(`admin · \\+15550100: routing ${routing.replace(/_/g, " ")}`))
      const id = await send(stack.api, to)
      await lookUpMessage(id)
      await waitForText(page, "[data-route-decided]", new RegExp(`^${expected}$`))
      // The same message found by its recipient.
      await page.select("section[aria-labelledby=messages-title] select", "to")
      const input = await page.$("section[aria-labelledby=messages-title] input")
      await input!.click({ clickCount: 3 })
      await input!.type(to)
      await page.click("section[aria-labelledby=messages-title] button[type=submit]")
      await waitForText(page, "#message-title", new RegExp(id))
    }
  })

  it("follows a running campaign's funnel live: a second wave shows up without a reload", async () => {
    const wave = (from: number) =>
      stack.api.request("POST", `/v1/channels/${PHONE}/message-batches`, {
        campaignId: "spring-2026",
        endpoint: "marketing_messages",
        messages: Array.from({ length: 5 }, (_, i) => ({
          messaging_product: "whatsapp",
          // The first wave's last number ends in 0001: the sandbox fails it with 131049.
          to: from === 100 && i === 4 ? "4915112390001" : `49151123${String(from + i).padStart(5, "0")}`,
          type: "template",
          template: { name: "spring_sale", language: { code: "en" } }
        }))
      })
    ok(await wave(100), "first wave")
    await openView(page, "campaigns")
    await page.waitForSelector("nav[aria-label='Campaigns, newest first'] button")
    await waitForText(page, "tr[data-stage=delivered]", /^delivered4 messages/, 90_000)
    await waitForText(page, "table[data-failures]", /131049.*1 message.*per-user marketing limit/, 90_000)
    ok(await wave(200), "second wave")
    await waitForText(page, "tr[data-stage=accepted]", /10 messages/)
    await waitForText(page, "tr[data-stage=delivered]", /^delivered9 messages/, 90_000)
    assert.match(await page.$eval("td[data-decided=marketing_messages]", (e) => e.textContent ?? ""), /10 messages/)
    assert.isAbove(await page.$$eval(".chart canvas", (c) => c.length), 0)
  })

  it("shows a quarantined webhook's body as text, never as HTML, and replays it", async () => {
    const body = {
      object: "whatsapp_business_account",
      entry: [{
        id: WABA,
        time: 1_764_000_100,
        changes: [{ field: "template_category_update", value: { message_template_name: "broken", message_template_language: "en", new_category: "<b id=injected>PROMO</b>" } }]
      }]
    }
    await postMetaWebhook(stack, body)
    const quarantined = await eventually("the body quarantined", async () => {
      const items = ok(await stack.api.request("GET", "/v1/webhook-inbox?state=quarantined"), "inbox").items as Array<{ id: number }>
      return items.length === 1 ? items[0]! : undefined
    })
    await openView(page, "operations")
    const item = `li[data-inbox="${quarantined.id}"]`
    await waitForText(page, `${item} pre`, /<b id=injected>PROMO<\/b>/)
    assert.strictEqual(await page.$$eval("#injected", (e) => e.length), 0)
    await page.click(`${item} button`)
    await waitForText(page, "[data-replayed]", new RegExp(`#${quarantined.id} sent back to the worker \\(now pending\\)`))
    await waitForText(page, "[data-backlog]", /stored and not yet processed/)
  })

  it("shows a tenant's forwarding endpoint with its recent deliveries; replays one, pauses and resumes the endpoint", async () => {
    const received: Array<string> = []
    const app = createServer((req, res) => {
      req.resume()
      req.on("end", () => {
        received.push(String(req.headers["x-mmgw-delivery-id"]))
        res.writeHead(200).end()
      })
    })
    await new Promise<void>((resolve) => app.listen(0, "127.0.0.1", resolve))
    try {
      const url = `http://127.0.0.1:${(app.address() as AddressInfo).port}/hook`
      const endpoint = ok(await stack.api.request("POST", "/v1/webhook-endpoints", { url, secret: "console-test-secret-01", businessManagerIds: [BM], events: ["templates"] }), "endpoint")
      await postMetaWebhook(stack, {
        object: "whatsapp_business_account",
        entry: [{ id: WABA, changes: [{ field: "message_template_status_update", value: { event: "APPROVED", message_template_id: 77, message_template_name: "spring_sale", message_template_language: "en" } }] }]
      })
      await openView(page, "operations")
      const card = `li[data-endpoint="${endpoint.id}"]`
      await waitForText(page, `${card} [data-delivery-state]`, /^delivered$/)
      const deliveryId = await page.$eval(`${card} tr[data-delivery]`, (r) => r.getAttribute("data-delivery"))
      assert.include(received, deliveryId)
      await page.click(`${card} tr[data-delivery] button`)
      await eventually("the replayed delivery arrived again", () => received.filter((d) => d === deliveryId).length >= 2)
      await page.click(`${card} > button`)
      await waitForText(page, `${card} [data-endpoint-state]`, /^Paused .*: paused by the operator$/)
      assert.strictEqual(ok(await stack.api.request("GET", `/v1/webhook-endpoints/${endpoint.id}`), "endpoint").state, "paused")
      await page.click(`${card} > button`)
      await waitForText(page, `${card} [data-endpoint-state]`, /^Active$/)
    } finally {
      app.closeAllConnections()
      await new Promise<void>((resolve) => app.close(() => resolve()))
    }
  })

  it("works at phone width: nothing wider than the screen", async () => {
    await page.setViewport({ width: 390, height: 844 })
    try {
      for (const view of ["onboarding", "routing", "campaigns", "operations"]) {
        await openView(page, view)
        await new Promise((r) => setTimeout(r, 300))
        const [scroll, width, widest] = await page.evaluate(() => {
          const wide = [...document.querySelectorAll("main *")].filter((e) => e.closest(".scroll") === null && e.getBoundingClientRect().right > window.innerWidth)
            .map((e) => `${e.tagName}.${e.className}`).slice(0, 5).join(" ")
          return [document.documentElement.scrollWidth, window.innerWidth, wide] as const
        })
        assert.isAtMost(scroll, width, `${view}: ${widest}`)
      }
    } finally {
      await page.setViewport({ width: 1280, height: 900 })
    }
  })

  it("shows a tenant's key nothing of another tenant", async () => {
    const key = ok(await stack.api.request("POST", "/v1/api-keys", { name: "acme", businessManagerIds: [BM] }), "key").secret as string
    const theirs = await send(stack.api, "4915112340009", { phone: OTHER.phone, extra: {} })
    // A tab of its own: session storage is per tab, so it signs in on its own.
    const tenant = await browser.newPage()
    try {
      const tenantErrors = watchErrors(tenant)
      await signIn(tenant, stack.api.url, key)
      await waitForText(tenant, ".who", /Signed in as API key/)
      await waitForText(tenant, `tr[data-waba="${WABA}"] .badge`, /^onboarded$/)
      await tenant.click(`nav[aria-label=Views] a[href="#/routing"]`)
      await tenant.waitForSelector(`tr[data-channel="${PHONE}"]`)
      await tenant.click(`nav[aria-label=Views] a[href="#/campaigns"]`)
      await waitForText(tenant, "nav[aria-label='Campaigns, newest first']", /spring-2026/)
      for (const view of ["onboarding", "routing", "campaigns", "operations"]) {
        await tenant.click(`nav[aria-label=Views] a[href="#/${view}"]`)
        await tenant.waitForSelector(`section[aria-labelledby="${view}-title"]`)
        await new Promise((r) => setTimeout(r, 300))
        const text = await tenant.$eval("main", (m) => m.textContent ?? "")
        for (const id of [OTHER.bm, OTHER.waba, OTHER.phone, "Globex"]) assert.notInclude(text, id, view)
      }
      // What the page's own token may read of the other tenant: nothing (404, as for a missing one).
      const answers = await tenant.evaluate(async (paths: Array<string>) => {
        const token = sessionStorage.getItem("mmgw.console.token")!
        return Promise.all(paths.map(async (p) => (await fetch(p, { headers: { authorization: `Bearer ${token}` } })).status))
      }, [`/v1/business-managers/${OTHER.bm}`, `/v1/wabas/${OTHER.waba}`, `/v1/channels/${OTHER.phone}`, `/v1/messages/${theirs}`])
      assert.deepStrictEqual(answers, [404, 404, 404, 404])
      // Those four 404s are the page's only errors.
      assert.deepStrictEqual(tenantErrors.filter((e) => !/status of 404/.test(e)), [])
    } finally {
      await tenant.close()
    }
  })

  it("is usable from the keyboard: the skip link first, the views by their links, focus on each view's heading; every control has a name", async () => {
    // A reload signs in again from the tab's session storage and starts the focus at the top.
    await page.evaluate(() => void (location.hash = "#/onboarding"))
    await page.reload()
    await page.waitForSelector("nav[aria-label=Views]")
    await page.keyboard.press("Tab")
    assert.strictEqual(await page.evaluate(() => document.activeElement?.textContent), "Skip to content")
    await page.keyboard.press("Tab")
    assert.strictEqual(await page.evaluate(() => document.activeElement?.getAttribute("href")), "#/onboarding")
    await page.keyboard.press("Tab")
    await page.keyboard.press("Enter")
    await page.waitForSelector("section[aria-labelledby=routing-title]")
    await page.waitForFunction(() => document.activeElement?.id === "routing-title")
    for (const view of ["onboarding", "routing", "campaigns", "messages", "operations"]) {
      await openView(page, view)
      await new Promise((r) => setTimeout(r, 300))
      const unnamed = await page.$$eval("main input, main select, main button, main textarea", (controls) =>
        controls.filter((c) => {
          const own = (c.getAttribute("aria-label") ?? "").trim() !== "" || (c.tagName === "BUTTON" && (c.textContent ?? "").trim() !== "")
          const labels = (c as HTMLInputElement).labels
          return !own && (labels === null || labels.length === 0)
        }).map((c) => c.outerHTML.slice(0, 80)))
      assert.deepStrictEqual(unnamed, [], view)
    }
  })

  it("reported no error in the admin's page all along: no CSP violation, no exception, no failed request", () => {
    assert.deepStrictEqual(errors, [])
  })
})
