import {
  channelHolders,
  eventually,
  leaseHolders,
  liveWorkers,
  message,
  ok,
  registerChannel,
  removeBundles,
  SECRET_KEY,
  startTestStack,
  type TestStack
} from "@mm-gateway/worker-test-stack"
import { createDatabase, serverUrl, type TestDatabase } from "@mm-gateway/postgres-projection/testing"
import { afterAll, afterEach, assert, describe, it } from "vitest"
import { startWorkerProcess, type WorkerProcess } from "./support.js"

/**
 * The worker as a process (`src/main.ts`): configured by its `MMGW_*` variables, holding its leases
 * under an identity of its own drawn at each start, stopped by signals, killed. Several of them share
 * the channels out on one database (docs/worker.md#many-workers): a SQLite file, and a PostgreSQL
 * database on a real server (`MMGW_DATABASE_URL`). What the runners do in one
 * process — the rate window across a takeover measured at the provider port included — is tested in
 * packages/worker-runners.
 */

let stack: TestStack | null = null
let database: TestDatabase | null = null
const processes: Array<WorkerProcess> = []
afterEach(async () => {
  await Promise.all(processes.splice(0).map((p) => p.stop("SIGKILL")))
  await stack?.close()
  await database?.drop()
  stack = null
  database = null
})
afterAll(removeBundles)

const CHANNELS = ["106540352242951", "106540352242952", "106540352242953", "106540352242954"]
// A backlog of ten seconds a channel (40 at 4 a second), and few requests in flight a worker (a
// dispatcher starts an attempt ahead of its place in the rate window, up to its concurrency), so that
// most of the killed process's share is not yet started when it dies, however late a loaded machine
// notices the backlog under way.
const PER_CHANNEL = 40
const RATE = 4
const CONCURRENCY = 2

const heldBy = (holders: Record<string, string>, instance: string) =>
  Object.entries(holders).filter(([, holder]) => holder === instance).map(([channel]) => channel)

describe.each(["sqlite", "postgres"] as const)("worker processes share the channels out (%s)", (store) => {
  // Its waits are bounded one by one (up to 90 s each); on a loaded machine they add up past the default timeout.
  it("three processes (two with the same MMGW_WORKER_ID) split four channels; one SIGKILLed mid-backlog loses its channels to the others once its leases lapse; no message is accepted twice and every one settles; SIGTERM stops the others with exit 0 and their leases released", async () => {
    if (store === "postgres") database = await createDatabase(serverUrl())
    const s = (stack = await startTestStack({ postgresUrl: database?.url ?? null }))
    for (const phone of CHANNELS) await registerChannel(s.api, { phone, throughputMps: RATE })
    const env = (workerId: string) => ({
      ...(s.postgresUrl === null ? {} : { MMGW_DATABASE_URL: s.postgresUrl, MMGW_DATABASE_POOL_SIZE: "4" }),
      MMGW_DATABASE: s.database,
      MMGW_SECRET_KEY: SECRET_KEY,
      MMGW_SANDBOX_URL: s.sandbox.url,
      MMGW_WORKER_ID: workerId,
      MMGW_WORKER_CONCURRENCY: String(CONCURRENCY),
      MMGW_WORKER_LEASE_TTL: "2s",
      MMGW_DISPATCH_UNKNOWN_AFTER: "2s"
    })
    const workers = [await startWorkerProcess(env("twin")), await startWorkerProcess(env("twin")), await startWorkerProcess(env("other"))]
    processes.push(...workers)
    const instances = workers.map((w) => w.instance)
    assert.strictEqual(new Set(instances).size, 3)
    await eventually("the four channels held, at least one by each process", async () => {
      const holders = Object.values(await channelHolders(s.api))
      return holders.length === 4 && instances.every((w) => holders.includes(w))
    }, 60_000)
    assert.deepStrictEqual(await liveWorkers(s.api), [...instances].sort())
    await eventually("a twin says another process runs under its worker id", () =>
      workers.slice(0, 2).some((w) => w.lines.some((line) => line.includes("another live worker runs under this worker id"))))

    // The channels' backlogs accepted together: one after the other, on a loaded machine the first
    // channel's backlog could be all sent before the last one's was accepted.
    const onChannel = new Map<string, Array<string>>(await Promise.all(CHANNELS.map(async (phone, c) => {
      const messages = Array.from({ length: PER_CHANNEL }, (_, i) => ({
        messaging_product: "whatsapp",
        to: `491511${c}${String(i).padStart(4, "0")}7`,
        type: "template",
        template: { name: "spring_sale", language: { code: "en" } }
      }))
      const batch = ok(await s.api.request("POST", `/v1/channels/${phone}/message-batches`, { messages }), "batch")
      return [phone, (batch.results as Array<{ id: string }>).map((r) => r.id)] as const
    })))
    const ids = [...onChannel.values()].flat()

    // A crash mid-backlog: the process holding the most channels is killed; its leases are not released.
    await eventually("the backlog under way", () => s.sandbox.stats().accepted.total >= CHANNELS.length * 2, 60_000)
    const before = await channelHolders(s.api)
    const victim = workers.reduce((most, w) => (heldBy(before, w.instance).length > heldBy(before, most.instance).length ? w : most))
    const orphaned = heldBy(before, victim.instance)
    assert.isAbove(orphaned.length, 0)
    assert.isNull(await victim.stop("SIGKILL"))
    // Mid-backlog: more of its channels' messages not yet at the sandbox than it could have had in
    // flight (MMGW_WORKER_CONCURRENCY) — so some that reach it later were sent by the others.
    const unsentAtKill = orphaned.flatMap((channel) => onChannel.get(channel)!).filter((id) => s.sandbox.stats().byCallbackData[id] === undefined)
    assert.isAbove(unsentAtKill.length, CONCURRENCY)
    const survivors = workers.filter((w) => w !== victim)
    await eventually("its channels taken by the others", async () => {
      const holders = await channelHolders(s.api)
      return orphaned.every((channel) => survivors.some((w) => holders[channel] === w.instance))
    }, 60_000)
    assert.deepStrictEqual(await liveWorkers(s.api), survivors.map((w) => w.instance).sort())

    // Every message settles: read, or — started and cut off before its request left — dispatch_unknown,
    // which an operator resends (nothing reached the sandbox for it).
    const settled = async (id: string) => ["read", "dispatch_unknown"].includes((await message(s.api, id)).status)
    await eventually("every message read or dispatch_unknown", async () => (await Promise.all(ids.map(settled))).every((b) => b), 90_000)
    for (const id of ids) {
      if ((await message(s.api, id)).status !== "dispatch_unknown") continue
      assert.isUndefined(s.sandbox.stats().byCallbackData[id], `${id} never reached the sandbox`)
      ok(await s.api.request("POST", `/v1/messages/${id}/resolution`, { action: "resend" }), `resend ${id}`)
    }
    await eventually("every message read", async () => (await Promise.all(ids.map(async (id) => (await message(s.api, id)).status === "read"))).every((b) => b), 60_000)
    const stats = s.sandbox.stats()
    for (const id of ids) assert.deepStrictEqual(stats.byCallbackData[id], { requests: 1, accepted: 1 }, id)
    // The orphaned channels' backlog went on under their new holders: what was unsent at the kill was
    // accepted once (above), and beyond what the dead process had in flight it can only have come from them.

    for (const w of survivors) assert.strictEqual(await w.stop("SIGTERM"), 0)
    for (const w of survivors) assert.isTrue(w.lines.some((line) => line.includes(`leases released by ${w.instance}`)))
    // What the killed one held lapsed; what the others held they released.
    assert.deepStrictEqual(await leaseHolders(s.api), {})
    assert.deepStrictEqual(await liveWorkers(s.api), [])
  }, 360_000)
})
