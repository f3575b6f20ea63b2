import { BM, eventually, ok, postSignedWebhook, registerChannel, SECRET_KEY, startTestStack, type TestStack, WABA } from "@mm-gateway/worker-test-stack"
import { createServer, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { afterEach, assert, describe, it } from "vitest"
import { startWorkerProcess, type WorkerProcess } from "./support.js"

/**
 * Forwarding survives a crash (docs/forwarding.md#nothing-lost): the worker process is SIGKILLed while
 * its deliveries are in flight (the tenant's app holds every request open), and the next worker
 * delivers every one of them once the dead one's claims lapse — at least once, under the same ids.
 */

let stack: TestStack | null = null
const processes: Array<WorkerProcess> = []
afterEach(async () => {
  await Promise.all(processes.splice(0).map((p) => p.stop("SIGKILL")))
  await stack?.close()
  stack = null
})

const WEBHOOKS = 12

describe("the forwarder as a process", () => {
  it("SIGKILLed with deliveries in flight: the next worker delivers every one, none lost", async () => {
    const s = (stack = await startTestStack())
    await registerChannel(s.api, { onboarded: false })
    // The app: holds requests open until told to answer, then answers 200 to everything.
    let answering = false
    const held: Array<ServerResponse> = []
    const received: Array<string> = []
    const app = createServer((req, res) => {
      req.resume()
      req.on("end", () => {
        received.push(String(req.headers["x-mmgw-delivery-id"]))
        if (answering) res.writeHead(200).end()
        else held.push(res)
      })
    })
    await new Promise<void>((resolve) => app.listen(0, "127.0.0.1", resolve))
    try {
      const url = `http://127.0.0.1:${(app.address() as AddressInfo).port}/hook`
      const endpoint = ok(await s.api.request("POST", "/v1/webhook-endpoints", { url, secret: "crash-test-secret-0001", businessManagerIds: [BM] }), "endpoint").id
      const env = {
        MMGW_DATABASE: s.database,
        MMGW_SECRET_KEY: SECRET_KEY,
        MMGW_SANDBOX_URL: s.sandbox.url,
        MMGW_WORKER_LEASE_TTL: "2s",
        MMGW_FORWARD_TIMEOUT: "60s"
      }
      const first = await startWorkerProcess(env)
      processes.push(first)
      for (let i = 0; i < WEBHOOKS; i++) {
        await postSignedWebhook(s.api, {
          object: "whatsapp_business_account",
          entry: [{ id: WABA, changes: [{ field: "message_template_status_update", value: { event: "APPROVED", message_template_id: 500 + i, message_template_name: `crash_${i}`, message_template_language: "en" } }] }]
        })
      }
      await eventually("every delivery in flight at the app", () => held.length === WEBHOOKS, 60_000)
      const inFlight = new Set(received)
      assert.strictEqual(inFlight.size, WEBHOOKS)
      assert.isNull(await first.stop("SIGKILL"))
      for (const res of held.splice(0)) res.destroy()
      answering = true
      processes.push(await startWorkerProcess(env))
      const items = await eventually("every delivery delivered", async () => {
        const log = ok(await s.api.request("GET", `/v1/webhook-endpoints/${endpoint}/deliveries?limit=100`), "log").items as Array<{ id: string; state: string }>
        return log.length === WEBHOOKS && log.every((d) => d.state === "delivered") ? log : undefined
      }, 90_000)
      assert.deepStrictEqual(new Set(items.map((d) => d.id)), inFlight)
    } finally {
      app.closeAllConnections()
      await new Promise<void>((resolve) => app.close(() => resolve()))
    }
  })
})
