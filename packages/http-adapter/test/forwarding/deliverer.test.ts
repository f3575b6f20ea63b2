import { createHmac } from "node:crypto"
import { createServer, type IncomingHttpHeaders, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { Effect } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { isPublicAddress, registrationProblem, urlProblem } from "../../src/forwarding/address-policy.js"
import { ENDPOINT_SECRET_PURPOSE, makeWebhookDeliverer } from "../../src/forwarding/deliverer.js"
import { deriveCredentialsKey, sealSecret } from "../../src/provider/credentials.js"

const key = deriveCredentialsKey("forwarding-test-key")
const SECRET = "the-apps-webhook-secret"
const sealed = sealSecret(SECRET, key, ENDPOINT_SECRET_PURPOSE)
const body = new TextEncoder().encode('{"object":"whatsapp_business_account","entry":[]}')

interface Hit {
  readonly path: string
  readonly headers: IncomingHttpHeaders
  readonly body: string
}

/** A tenant's app whose answer each path decides. */
let server: Server
let port = 0
const hits: Array<Hit> = []
beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Array<Buffer> = []
    req.on("data", (c: Buffer) => chunks.push(c))
    req.on("end", () => {
      hits.push({ path: req.url ?? "", headers: req.headers, body: Buffer.concat(chunks).toString("utf8") })
      if (req.url === "/ok") return res.writeHead(204).end()
      if (req.url === "/moved") return res.writeHead(302, { location: `http://127.0.0.1:${port}/ok` }).end()
      if (req.url === "/busy") return res.writeHead(503, { "retry-after": "7" }).end("busy")
      if (req.url === "/silent") return // never answers
      res.writeHead(404).end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  port = (server.address() as AddressInfo).port
})
afterAll(async () => {
  server.closeAllConnections()
  await new Promise<void>((resolve) => server.close(() => resolve()))
})

const deliver = (url: string, allowHosts: ReadonlyArray<string>, timeoutMs = 5_000) => {
  const made = makeWebhookDeliverer({ key, allowHosts, timeoutMs })
  return Effect.runPromise(made.deliverer.to({ url, secretCiphertext: sealed })("dlv_0123456789abcdef01234567", body)).finally(made.close)
}
const hitsOf = (path: string) => hits.filter((h) => h.path === path)

describe("which addresses forwarding may reach", () => {
  it("public addresses only, IPv4 and IPv6; a mapped IPv4 address is judged by its IPv4", () => {
    const publicOnes = ["8.8.8.8", "93.184.215.14", "2606:4700:4700::1111", "::ffff:8.8.8.8"]
    const others = [
      "10.1.2.3", "172.16.0.1", "192.168.1.1", "127.0.0.1", "169.254.169.254", "100.64.0.1", "0.0.0.0", "224.0.0.1",
      "::1", "::", "fe80::1", "fc00::1", "fd12:3456::1", "::ffff:10.0.0.1", "::ffff:127.0.0.1", "not an address"
    ]
    expect(publicOnes.filter((a) => !isPublicAddress(a))).toEqual([])
    expect(others.filter((a) => isPublicAddress(a))).toEqual([])
  })

  it("a URL: https, or http to an allowed host; no credentials; no non-public literal unless allowed", () => {
    const policy = { allowHosts: ["localhost", "127.0.0.1", "::1"] }
    expect(urlProblem(policy, "https://crm.example.com/hook")).toBeNull()
    expect(urlProblem(policy, "http://localhost:3000/hook")).toBeNull()
    expect(urlProblem(policy, "http://[::1]:3000/hook")).toBeNull()
    expect(urlProblem(policy, "http://crm.example.com/hook")).toMatch(/must be https/)
    expect(urlProblem({ allowHosts: [] }, "http://localhost/hook")).toMatch(/must be https/)
    expect(urlProblem(policy, "https://10.0.0.7/hook")).toMatch(/private/)
    expect(urlProblem(policy, "https://[fe80::1]/hook")).toMatch(/private/)
    expect(urlProblem(policy, "https://user:pw@crm.example.com/")).toMatch(/credentials/)
    expect(urlProblem(policy, "ftp://crm.example.com/")).toMatch(/https/)
    expect(urlProblem(policy, "crm.example.com/hook")).toMatch(/absolute URL/)
  })

  it("at registration, a name is resolved: one that resolves to the loopback is refused unless allowed", async () => {
    expect(await registrationProblem({ allowHosts: [] }, "https://localhost/hook")).toMatch(/resolves to a private/)
    expect(await registrationProblem({ allowHosts: ["localhost"] }, "https://localhost/hook")).toBeNull()
  })
})

describe("the deliverer", () => {
  it("POSTs the body as it is, signed with the endpoint's secret as Meta signs, with the delivery id; a 2xx is delivered", async () => {
    expect(await deliver(`http://127.0.0.1:${port}/ok`, ["127.0.0.1"])).toEqual({ _tag: "Delivered", status: 204 })
    const [hit] = hitsOf("/ok")
    expect(hit!.body).toBe(new TextDecoder().decode(body))
    expect(hit!.headers["x-hub-signature-256"]).toBe(`sha256=${createHmac("sha256", SECRET).update(body).digest("hex")}`)
    expect(hit!.headers["x-mmgw-delivery-id"]).toBe("dlv_0123456789abcdef01234567")
    expect(hit!.headers["content-type"]).toBe("application/json")
  })

  it("refuses a host not allowed before connecting: http to it, or a name that resolves to the loopback", async () => {
    const before = hits.length
    const http = await deliver(`http://127.0.0.1:${port}/ok`, [])
    expect(http).toMatchObject({ _tag: "Failed", status: null })
    expect((http as { error: string }).error).toMatch(/must be https/)
    const byName = await deliver(`https://localhost:${port}/ok`, [])
    expect(byName).toMatchObject({ _tag: "Failed", status: null })
    expect((byName as { error: string }).error).toMatch(/resolves to a private, loopback or link-local address/)
    expect(hits.length).toBe(before)
  })

  it("does not follow a redirect", async () => {
    const before = hitsOf("/ok").length
    const moved = await deliver(`http://127.0.0.1:${port}/moved`, ["127.0.0.1"])
    expect(moved).toMatchObject({ _tag: "Failed", status: 302 })
    expect((moved as { error: string }).error).toMatch(/redirects are not followed/)
    expect(hitsOf("/ok").length).toBe(before)
  })

  it("a refusal keeps the status and the endpoint's Retry-After; silence past the time limit is a failed attempt", async () => {
    expect(await deliver(`http://127.0.0.1:${port}/busy`, ["127.0.0.1"])).toEqual({ _tag: "Failed", status: 503, error: "HTTP 503", retryAfterMs: 7_000 })
    const silent = await deliver(`http://127.0.0.1:${port}/silent`, ["127.0.0.1"], 300)
    expect(silent).toMatchObject({ _tag: "Failed", status: null })
    const refused = await deliver("http://127.0.0.1:1/ok", ["127.0.0.1"])
    expect((refused as { error: string }).error).toMatch(/ECONNREFUSED/)
  })

  it("a secret sealed under another key is a failed attempt that names no secret", async () => {
    const other = makeWebhookDeliverer({ key: deriveCredentialsKey("another-key"), allowHosts: ["127.0.0.1"], timeoutMs: 1_000 })
    const attempt = await Effect.runPromise(other.deliverer.to({ url: `http://127.0.0.1:${port}/ok`, secretCiphertext: sealed })("dlv_x", body))
    other.close()
    expect(attempt).toMatchObject({ _tag: "Failed", status: null })
    expect(JSON.stringify(attempt)).not.toContain(SECRET)
  })
})
