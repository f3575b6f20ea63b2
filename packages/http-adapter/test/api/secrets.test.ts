import { existsSync, readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { Layer, Logger, LogLevel } from "effect"
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest"
import { ADMIN, APP_SECRET, D360_SECRET, postWebhook, seed, sign, startApi, type TestApi, VERIFY_TOKEN } from "./support.js"

/**
 * Secrets — the configuration's, the API keys', the channels' provider credentials — never appear in a
 * response (but the key's secret in its one 201), in a log line, or in clear in the database files.
 */

const logged: Array<string> = []
const answered: Array<string> = []
let api: TestApi

const SANDBOX_KEY = "sk-sandbox-SECRET-9f8e7d"
const META_TOKEN = "EAAG-meta-SECRET-1a2b3c"
const TOO_LONG = "LEAKY-SECRET-".repeat(400)
const BM = "710000000000001"
const WABA = "710000000000002"

const capture = Logger.replace(Logger.defaultLogger, Logger.map(Logger.logfmtLogger, (line) => void logged.push(line)))

beforeAll(async () => {
  for (const method of ["log", "info", "warn", "error", "debug", "trace"] as const) {
    vi.spyOn(console, method).mockImplementation((...args: Array<unknown>) => void logged.push(args.map(String).join(" ")))
  }
  api = await startApi({}, Layer.merge(capture, Logger.minimumLogLevel(LogLevel.All)))
  await seed(api, { bm: BM, waba: WABA, phone: "710000000000003" })
})
afterAll(async () => {
  await api.close()
  vi.restoreAllMocks()
})

const request = async (...args: Parameters<TestApi["request"]>) => {
  const r = await api.request(...args)
  answered.push(`${r.status} ${[...r.headers].map(([k, v]) => `${k}: ${v}`).join("\n")}\n${r.text}`)
  return r
}

describe("secrets stay secret", () => {
  let keySecret = ""

  it("provider credentials are write-only", async () => {
    const sandbox = await request("PUT", "/v1/channels/710000000000004", {
      body: { wabaId: WABA, displayPhoneNumber: "+1 555 0104", provider: "sandbox", credentials: { apiKey: SANDBOX_KEY } }
    })
    expect(sandbox.status).toBe(200)
    const meta = await request("PUT", "/v1/channels/710000000000005", {
      body: { wabaId: WABA, displayPhoneNumber: "+1 555 0105", provider: "meta", credentials: { accessToken: META_TOKEN } }
    })
    expect(meta.status).toBe(200)
    const tooLong = await request("PUT", "/v1/channels/710000000000006", {
      body: { wabaId: WABA, displayPhoneNumber: "+1 555 0106", provider: "sandbox", credentials: { apiKey: TOO_LONG } }
    })
    expect(tooLong.status).toBe(400)
    expect(tooLong.json.error.details.field).toBe("credentials.apiKey")
    const wrongType = await request("PUT", "/v1/channels/710000000000006", {
      body: { wabaId: WABA, displayPhoneNumber: "+1 555 0106", provider: "meta", credentials: { accessToken: ["LEAKY-SECRET-in-an-array"] } }
    })
    expect(wrongType.status).toBe(400)
    for (const id of ["710000000000004", "710000000000005"]) expect((await request("GET", `/v1/channels/${id}`)).status).toBe(200)
    await request("GET", "/openapi.json", { token: null })
  })

  it("an API key's secret is shown once, then only used", async () => {
    const created = await request("POST", "/v1/api-keys", { body: { name: "tenant", businessManagerIds: [BM] } })
    expect(created.status).toBe(201)
    keySecret = created.json.secret
    answered.pop()
    await request("GET", "/v1/api-keys")
    expect((await request("GET", `/v1/wabas/${WABA}`, { token: keySecret })).status).toBe(200)
    expect((await request("DELETE", `/v1/api-keys/${created.json.id}`)).status).toBe(204)
    expect((await request("GET", `/v1/wabas/${WABA}`, { token: keySecret })).status).toBe(401)
    expect((await request("GET", `/v1/wabas/${WABA}`, { token: `${ADMIN}-but-wrong` })).status).toBe(401)
  })

  it("webhook secrets are checked, never echoed, and the shared header is not stored", async () => {
    const body = JSON.stringify({ object: "whatsapp_business_account", entry: [] })
    const bad360 = await postWebhook(api, body, { "x-mmgw-webhook-secret": `${D360_SECRET}-guess` }, "/webhooks/360dialog")
    expect(bad360.status).toBe(401)
    answered.push(bad360.text)
    const good360 = await postWebhook(api, body, { "x-mmgw-webhook-secret": D360_SECRET }, "/webhooks/360dialog")
    expect(good360.status).toBe(200)
    const badMeta = await postWebhook(api, body, { "x-hub-signature-256": sign(body, `${APP_SECRET}-guess`) })
    expect(badMeta.status).toBe(401)
    answered.push(badMeta.text)
    const handshake = await request("GET", `/webhooks/meta?hub.mode=subscribe&hub.verify_token=${VERIFY_TOKEN}-guess&hub.challenge=1`, { token: null })
    expect(handshake.status).toBe(403)
    await request("GET", "/metrics", { token: null })
  })

  it("appear in no response and no log line", () => {
    // Debug logging is on for this server: the requests above left access lines, the refused ones too.
    for (const route of ["/v1/channels/:phoneNumberId", "/v1/api-keys", "/v1/wabas/:wabaId", "/webhooks/meta"]) {
      expect(logged.some((line) => line.split(" ").includes(`route=${route}`)), `an access line for ${route}`).toBe(true)
    }
    const secrets = [ADMIN, APP_SECRET, VERIFY_TOKEN, D360_SECRET, "test-secret-key", SANDBOX_KEY, META_TOKEN, "LEAKY-SECRET", keySecret]
    for (const secret of secrets) {
      expect(secret.length).toBeGreaterThan(0)
      for (const text of answered) expect(text.includes(secret), `a response contains ${secret.slice(0, 12)}…`).toBe(false)
      for (const line of logged) expect(line.includes(secret), `a log line contains ${secret.slice(0, 12)}…`).toBe(false)
    }
  })

  it("are not in clear in the database files (credentials encrypted, key secrets hashed)", () => {
    const files = readdirSync(api.dir).map((f) => join(api.dir, f)).filter(existsSync)
    expect(files.some((f) => f.endsWith(".sqlite"))).toBe(true)
    for (const file of files) {
      const bytes = readFileSync(file)
      for (const secret of [SANDBOX_KEY, META_TOKEN, keySecret.slice(-40), D360_SECRET]) {
        expect(bytes.includes(Buffer.from(secret)), `${file} holds ${secret.slice(0, 12)}… in clear`).toBe(false)
      }
    }
  })
})
