import { createHash } from "node:crypto"
import { request as httpRequest } from "node:http"
import fc from "fast-check"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { MAX_DRAIN_BYTES, MAX_WEBHOOK_BYTES } from "../../src/api/webhook-ingress.js"
import { type Backdoor, backdoor, D360_SECRET, postWebhook, sign, startApi, type TestApi } from "./support.js"
import { PROPERTY_TEST, propertySettings } from "@mm-gateway/domain/testing"
import { sign360dialogWebhook } from "@mm-gateway/webhook-adapter"

/**
 * The webhook endpoints (docs/webhooks.md): nothing answered 200 is missing from the inbox, nothing refused is in
 * it, oversized bodies get their 413, and no input makes them answer 5xx or stop answering (invariant 8,
 * docs/invariants.md#invariant-8, at the HTTP level).
 */

const PLATFORM_SECRET = "test-360-platform-secret"

let api: TestApi
let db: Backdoor

beforeAll(async () => {
  api = await startApi({ MMGW_360DIALOG_PLATFORM_SECRET: PLATFORM_SECRET })
  db = await backdoor(api)
})
afterAll(async () => {
  await db.close()
  await api.close()
})

const sha256 = (body: string | Uint8Array) => createHash("sha256").update(body).digest("hex")

const stored = (source: "meta" | "360dialog", body: string | Uint8Array): boolean =>
  db.inboxDb.prepare("SELECT 1 FROM inbox WHERE source = ? AND body_sha256 = ?").get(source, sha256(body)) !== undefined

const rowCount = (): number => (db.inboxDb.prepare("SELECT COUNT(*) AS n FROM inbox").get() as { n: number }).n

const statusBody = (n: number) =>
  JSON.stringify({
    object: "whatsapp_business_account",
    entry: [{ id: "102290129340398", changes: [{ field: "messages", value: { statuses: [{ id: `wamid.${n}`, status: "delivered", timestamp: "1700000000" }] } }] }]
  })

/** Both 360dialog checks are configured on this server: the shared header and the platform signature. */
const headers360 = (body: string | Uint8Array) => ({
  "x-mmgw-webhook-secret": D360_SECRET,
  "x-360dialog-signature": sign360dialogWebhook(body, PLATFORM_SECRET)
})

/** A raw request through node:http, for what fetch will not send (chunked bodies, a lying content-length). */
const rawPost = (
  path: string,
  headers: Record<string, string | number>,
  write: (req: ReturnType<typeof httpRequest>) => void
): Promise<{ status: number; body: string }> =>
  new Promise((resolve, reject) => {
    let answered = false
    const req = httpRequest(`${api.url}${path}`, { method: "POST", headers }, (res) => {
      answered = true
      const chunks: Array<Buffer> = []
      res.on("data", (c: Buffer) => chunks.push(c))
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }))
      res.on("error", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }))
    })
    // The server may close the connection while the body is still going out: the answer is what counts.
    req.on("error", (e) => (answered ? undefined : reject(e)))
    write(req)
  })

describe("every webhook answered 200 is in the inbox", () => {
  it("under many concurrent signed deliveries to both endpoints", async () => {
    const bodies = Array.from({ length: 300 }, (_, i) => statusBody(1_000 + i))
    const answers = await Promise.all(bodies.map((body, i) =>
      i % 2 === 0
        ? postWebhook(api, body, { "x-hub-signature-256": sign(body) })
        : postWebhook(api, body, headers360(body), "/webhooks/360dialog")
    ))
    expect(answers.map((a) => a.status)).toEqual(bodies.map(() => 200))
    bodies.forEach((body, i) => expect(stored(i % 2 === 0 ? "meta" : "360dialog", body), `delivery ${i}`).toBe(true))
  })

  it("with MMGW_DURABILITY=full (group commit: one transaction for the deliveries of one turn)", async () => {
    const full = await startApi({ MMGW_DURABILITY: "full" })
    const fullDb = await backdoor(full)
    try {
      const bodies = Array.from({ length: 100 }, (_, i) => statusBody(5_000 + i))
      const answers = await Promise.all(bodies.map((body) => postWebhook(full, body, { "x-hub-signature-256": sign(body) })))
      expect(answers.map((a) => a.status)).toEqual(bodies.map(() => 200))
      for (const body of bodies) {
        expect(fullDb.inboxDb.prepare("SELECT 1 FROM inbox WHERE body_sha256 = ?").get(sha256(body))).toBeDefined()
      }
    } finally {
      await fullDb.close()
      await full.close()
    }
  })

  it("a redelivered body is answered 200 again and stored once", async () => {
    const body = statusBody(9_001)
    const before = rowCount()
    for (let i = 0; i < 3; i++) expect((await postWebhook(api, body, { "x-hub-signature-256": sign(body) })).status).toBe(200)
    expect(rowCount()).toBe(before + 1)
  })
})

describe("verification", () => {
  it("360dialog: both configured checks must pass; a failure is 401 and stores nothing", async () => {
    const body = statusBody(9_100)
    const before = rowCount()
    const onlyHeader = await postWebhook(api, body, { "x-mmgw-webhook-secret": D360_SECRET }, "/webhooks/360dialog")
    expect(onlyHeader.status).toBe(401)
    expect(JSON.parse(onlyHeader.text).error.code).toBe("invalid_signature")
    const wrongSignature = await postWebhook(api, body, { ...headers360(body), "x-360dialog-signature": "0".repeat(64) }, "/webhooks/360dialog")
    expect(wrongSignature.status).toBe(401)
    expect(rowCount()).toBe(before)
    expect((await postWebhook(api, body, headers360(body), "/webhooks/360dialog")).status).toBe(200)
  })

  it("Meta: a signature of other bytes is 401 and stores nothing", async () => {
    const body = statusBody(9_200)
    const before = rowCount()
    const r = await postWebhook(api, body, { "x-hub-signature-256": sign(`${body} `) })
    expect(r.status).toBe(401)
    expect(rowCount()).toBe(before)
    expect(stored("meta", body)).toBe(false)
  })

  it("the GET handshake answers the challenge as text; a missing challenge or mode is 403", async () => {
    const ok = await api.request("GET", "/webhooks/meta?hub.mode=subscribe&hub.verify_token=test-verify-token&hub.challenge=abc123", { token: null })
    expect([ok.status, ok.text, ok.headers.get("content-type")?.startsWith("text/plain")]).toEqual([200, "abc123", true])
    for (const query of ["hub.mode=subscribe&hub.verify_token=test-verify-token", "hub.verify_token=test-verify-token&hub.challenge=1", ""]) {
      const r = await api.request("GET", `/webhooks/meta?${query}`, { token: null })
      expect([query, r.status, r.json?.error?.code]).toEqual([query, 403, "forbidden"])
    }
  })
})

describe("413 for bodies over 3 MB", () => {
  it("a chunked body (no content-length) over the limit is read to its end, answered 413, and not stored", async () => {
    const before = rowCount()
    const chunk = Buffer.alloc(256 * 1024, 0x20)
    const r = await rawPost("/webhooks/meta", { "content-type": "application/json", "x-hub-signature-256": "sha256=00" }, (req) => {
      for (let sent = 0; sent <= MAX_WEBHOOK_BYTES; sent += chunk.length) req.write(chunk)
      req.end()
    })
    expect(r.status).toBe(413)
    expect(JSON.parse(r.body).error.code).toBe("payload_too_large")
    expect(rowCount()).toBe(before)
  })

  it("a declared length beyond what is drained is answered 413 before the connection is closed", async () => {
    const r = await rawPost("/webhooks/360dialog", { "content-type": "application/json", "content-length": MAX_DRAIN_BYTES + 1 }, (req) => {
      req.write(Buffer.alloc(1024, 0x20))
    })
    expect(r.status).toBe(413)
    expect((await api.request("GET", "/healthz", { token: null })).status).toBe(200)
  })

  it("exactly 3 MB is accepted", async () => {
    const body = Buffer.alloc(MAX_WEBHOOK_BYTES, 0x20)
    const r = await postWebhook(api, body, { "x-hub-signature-256": sign(body) })
    expect(r.status).toBe(200)
    expect(stored("meta", body)).toBe(true)
  })
})

describe("invariant 8 over HTTP", () => {
  const printable = fc.stringMatching(/^[\x21-\x7e]{0,80}$/)
  const bodies = fc.oneof(
    fc.uint8Array({ maxLength: 2048 }).map((b) => Buffer.from(b)),
    fc.json({ maxDepth: 5 }).map((text) => Buffer.from(text)),
    fc.jsonValue({ maxDepth: 4 }).map((v) => Buffer.from(JSON.stringify({ object: "whatsapp_business_account", entry: v })))
  )
  const auth = fc.oneof(
    fc.constant({ kind: "signed" as const }),
    fc.constant({ kind: "unsigned" as const }),
    printable.map((value) => ({ kind: "garbage" as const, value }))
  )

  it("arbitrary bytes and JSON, signed or not, on both endpoints: 200 when verified, 401 otherwise, never 5xx", PROPERTY_TEST, async () => {
    const accepted: Array<{ source: "meta" | "360dialog"; body: Buffer }> = []
    await fc.assert(
      fc.asyncProperty(fc.constantFrom("meta" as const, "360dialog" as const), bodies, auth, async (source, body, a) => {
        const headers: Record<string, string> = a.kind === "unsigned"
          ? {}
          : source === "meta"
          ? { "x-hub-signature-256": a.kind === "signed" ? sign(body) : a.value }
          : a.kind === "signed"
          ? headers360(body)
          : { "x-mmgw-webhook-secret": a.value, "x-360dialog-signature": a.value }
        const r = await postWebhook(api, body, headers, `/webhooks/${source}`)
        expect(r.status).toBe(a.kind === "signed" ? 200 : 401)
        expect(JSON.parse(r.text)).toBeTypeOf("object")
        if (a.kind === "signed") accepted.push({ source, body })
      }),
      { ...propertySettings(60) }
    )
    expect((await api.request("GET", "/healthz", { token: null })).status).toBe(200)
    for (const { source, body } of accepted) expect(stored(source, body)).toBe(true)
  })

  it("arbitrary bytes on a JSON endpoint of the API are a 4xx in the envelope, never 5xx", PROPERTY_TEST, async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.uint8Array({ maxLength: 1024 }).map((b) => Buffer.from(b).toString("latin1")), fc.json({ maxDepth: 4 })), async (raw) => {
        const r = await api.request("POST", "/v1/business-managers/123/onboarding-invitations", { raw })
        const s = await api.request("POST", "/v1/channels/123/messages", { raw })
        for (const answer of [r, s]) {
          expect(answer.status).toBeGreaterThanOrEqual(400)
          expect(answer.status).toBeLessThan(500)
          expect(answer.json.error.code).toBeTypeOf("string")
        }
      }),
      { ...propertySettings(60) }
    )
  })
})
