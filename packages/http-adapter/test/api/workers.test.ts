import { Leases } from "@mm-gateway/ports"
import { Effect } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type Backdoor, backdoor, postWebhook, SEEDED, sign, startSeededApi, type TestApi } from "./support.js"

/**
 * `GET /v1/workers`: the live workers and what each holds, as the workers record it in the store
 * (docs/worker.md#many-workers) — written here through the same ports, on the api's database.
 */

let api: TestApi
let db: Backdoor
beforeAll(async () => {
  api = await startSeededApi()
  db = await backdoor(api)
})
afterAll(async () => {
  await db.close()
  await api.close()
})

const leases = <A>(f: (l: Leases["Type"]) => Effect.Effect<A>) => db.run(Effect.flatMap(Leases, f))

describe("GET /v1/workers", () => {
  it("lists the live workers by instance, each with its channels, the timers and its inbox claims, since when; a lapsed one is gone", async () => {
    const now = Date.now()
    const [a, b, gone] = ["worker-a#101-aaaaaa", "worker-b#102-bbbbbb", "worker-c#103-cccccc"]
    await leases((l) => l.heartbeat(b, 60_000, now - 5_000))
    await leases((l) => l.heartbeat(b, 60_000, now))
    await leases((l) => l.heartbeat(a, 60_000, now))
    await leases((l) => l.heartbeat(gone, 1_000, now - 10_000))
    await leases((l) => l.acquire("channel:106540352242962", a, 60_000, now - 2_000))
    await leases((l) => l.acquire("channel:106540352242961", a, 60_000, now - 1_000))
    await leases((l) => l.acquire("channel:106540352242963", b, 60_000, now))
    await leases((l) => l.acquire("timers", b, 60_000, now - 3_000))
    // One webhook body, claimed by B.
    const body = JSON.stringify({ object: "whatsapp_business_account", entry: [], n: "workers" })
    expect((await postWebhook(api, body, { "x-hub-signature-256": sign(body) })).status).toBe(200)
    expect((await Effect.runPromise(db.inbox.claimPending(10, b, now, 60_000))).length).toBeGreaterThan(0)

    const r = await api.request("GET", "/v1/workers")
    expect(r.status).toBe(200)
    const iso = (ms: number) => new Date(ms).toISOString()
    expect(r.json.workers.map((w: { instance: string }) => w.instance)).toEqual([a, b])
    expect(r.json.workers[0]).toEqual({
      instance: a,
      startedAt: iso(now),
      lastHeartbeatAt: iso(now),
      expiresAt: iso(now + 60_000),
      channels: [{ phoneNumberId: "106540352242961", since: iso(now - 1_000) }, { phoneNumberId: "106540352242962", since: iso(now - 2_000) }],
      timers: null,
      inbox: { claimed: 0 }
    })
    expect(r.json.workers[1]).toMatchObject({
      instance: b,
      startedAt: iso(now - 5_000),
      lastHeartbeatAt: iso(now),
      channels: [{ phoneNumberId: "106540352242963", since: iso(now) }],
      timers: { since: iso(now - 3_000) }
    })
    expect(r.json.workers[1].inbox.claimed).toBeGreaterThan(0)

    await leases((l) => l.retire(a))
    expect((await api.request("GET", "/v1/workers")).json.workers.map((w: { instance: string }) => w.instance)).toEqual([b])
  })

  it("is the admin's only: a scoped key gets 403 forbidden, no token 401", async () => {
    const created = await api.request("POST", "/v1/api-keys", { body: { name: "tenant", businessManagerIds: [SEEDED.bm] } })
    expect(created.status).toBe(201)
    const scoped = await api.request("GET", "/v1/workers", { token: created.json.secret })
    expect(scoped.status).toBe(403)
    expect(scoped.json.error.code).toBe("forbidden")
    expect((await api.request("GET", "/v1/workers", { token: null })).status).toBe(401)
  })

  it("is in /openapi.json with its summary", async () => {
    const doc = (await api.request("GET", "/openapi.json", { token: null })).json
    const op = doc.paths["/v1/workers"].get
    expect(op.summary).toBe("List the live workers and what each holds (admin)")
    expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(["200", "401", "403"]))
  })
})
