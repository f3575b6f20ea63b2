import { createDatabase, serverUrl, type TestDatabase } from "@mm-gateway/postgres-projection/testing"
import { channelHolders, eventually, events, leaseHolders, liveWorkers, message, ok, quiet, registerChannel, send } from "@mm-gateway/worker-test-stack"
import { Effect } from "effect"
import { afterEach, assert, describe, it } from "vitest"
import { type Stack, startStack, type WorkerOptions } from "./support.js"

/**
 * Several workers in this process on one database — a SQLite file, and a PostgreSQL database on a
 * real server — (docs/worker.md#many-workers): the channels shared out among them by leases, handed
 * over when one stops or another starts, the inbox and the timers shared too. The same as processes,
 * killed: the app's test (apps/worker/test).
 */

let stack: Stack | null = null
let database: TestDatabase | null = null
afterEach(async () => {
  await stack?.close()
  await database?.drop()
  stack = null
  database = null
})

type Store = "sqlite" | "postgres"
/** The stack on `store`: SQLite in its temp directory, or a new database of the run's PostgreSQL server. */
const stackOn = async (store: Store, options: Omit<Parameters<typeof startStack>[0] & object, "postgresUrl"> = {}) => {
  if (store === "postgres") database = await createDatabase(serverUrl())
  return (stack = await startStack({ ...options, postgresUrl: database?.url ?? null }))
}

const CHANNELS = ["106540352242941", "106540352242942", "106540352242943", "106540352242944", "106540352242945", "106540352242946"]

/** A provider port that records, per worker, the channels it sent for and when. */
const recording = () => {
  const sent: Array<{ readonly channel: string; readonly at: number }> = []
  const decorateProvider: NonNullable<WorkerOptions["decorateProvider"]> = (gateway) => ({
    ...gateway,
    send: (request) => Effect.zipRight(Effect.sync(() => sent.push({ channel: request.phoneNumberId, at: Date.now() })), gateway.send(request))
  })
  return { sent, decorateProvider }
}

/** How many channels each instance holds. */
const split = async (s: Stack) => {
  const counts = new Map<string, number>()
  for (const holder of Object.values(await channelHolders(s.api))) counts.set(holder, (counts.get(holder) ?? 0) + 1)
  return counts
}

const heldBy = async (s: Stack, instance: string) =>
  Object.entries(await channelHolders(s.api)).filter(([, holder]) => holder === instance).map(([channel]) => channel).sort()

/** One message per channel, each sent through the api; every one read, each accepted once by the sandbox. */
const sendRound = async (s: Stack, suffix: string) => {
  const ids = await Promise.all(CHANNELS.map((phone, i) => send(s.api, `49151123${suffix}${i}7`, { phone })))
  for (const id of ids) await eventually(`${id} read`, async () => (await message(s.api, id)).status === "read", 60_000)
  return ids
}

/** The most times in any window [t, t + 1000). */
const busiestSecond = (times: ReadonlyArray<number>) => {
  const sorted = [...times].sort((a, b) => a - b)
  let most = 0
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while (j < sorted.length && sorted[j]! < sorted[i]! + 1_000) j++
    most = Math.max(most, j - i)
  }
  return most
}

describe.each<Store>(["sqlite", "postgres"])("many workers share the channels out (%s)", (store) => {
  it("three workers hold two channels each and send only those; one stopping hands its channels to the others, one starting gets its share; the timers are held by one live worker", async () => {
    const s = await stackOn(store)
    for (const phone of CHANNELS) await registerChannel(s.api, { phone })
    const recorders = [recording(), recording(), recording(), recording()]
    // Handovers here are by stop and start (leases released, not lapsed): a longer lease only keeps a
    // worker that a loaded machine leaves unscheduled for a moment from losing its channels mid-round.
    const settings = { leaseTtlMs: 5_000 }
    const [a, b, c] = ["worker-a", "worker-b", "worker-c"].map((workerId, i) => s.startWorker({ workerId, ...settings }, { decorateProvider: recorders[i]!.decorateProvider }))
    const instances = [a!.instance, b!.instance, c!.instance]
    await eventually("six channels held, two by each worker", async () => {
      const counts = await split(s)
      return instances.every((w) => counts.get(w) === 2)
    })
    assert.deepStrictEqual(await liveWorkers(s.api), [...instances].sort())
    assert.include(instances, (await leaseHolders(s.api)).timers)

    const first = await sendRound(s, "1")
    // Each worker sent for its own channels only: every channel's message went out once, from its holder.
    for (const [i, instance] of instances.entries()) {
      assert.deepStrictEqual([...new Set(recorders[i]!.sent.map((r) => r.channel))].sort(), await heldBy(s, instance))
    }
    assert.strictEqual(recorders.reduce((n, r) => n + r.sent.length, 0), CHANNELS.length)

    // A stops: its channels go to B and C, three each, and its heartbeat is gone.
    const aHeld = await heldBy(s, a!.instance)
    await a!.stop()
    await eventually("B and C hold three channels each", async () => {
      const counts = await split(s)
      return counts.get(b!.instance) === 3 && counts.get(c!.instance) === 3
    })
    assert.deepStrictEqual(await liveWorkers(s.api), [b!.instance, c!.instance].sort())
    assert.include([b!.instance, c!.instance], (await leaseHolders(s.api)).timers)
    const aSent = recorders[0]!.sent.length
    const second = await sendRound(s, "2")
    assert.strictEqual(recorders[0]!.sent.length, aSent)
    const holders = await channelHolders(s.api)
    for (const channel of aHeld) assert.notStrictEqual(holders[channel], a!.instance)

    // D starts: B and C give one channel each up to it.
    const d = s.startWorker({ workerId: "worker-d", ...settings }, { decorateProvider: recorders[3]!.decorateProvider })
    await eventually("B, C and D hold two channels each", async () => {
      const counts = await split(s)
      return [b!.instance, c!.instance, d.instance].every((w) => counts.get(w) === 2)
    })
    const third = await sendRound(s, "3")
    assert.deepStrictEqual([...new Set(recorders[3]!.sent.map((r) => r.channel))].sort(), await heldBy(s, d.instance))

    await eventually("every webhook applied", () => quiet(s))
    const stats = s.sandbox.stats()
    for (const id of [...first, ...second, ...third]) {
      assert.deepStrictEqual(stats.byCallbackData[id], { requests: 1, accepted: 1 }, id)
      // Every status applied once, whichever worker claimed its webhook.
      const observed = (await events(s.api, id)).filter((e) => e.type === "StatusObserved").map((e) => e.data.observation.status)
      assert.deepStrictEqual([...observed].sort(), [...new Set(observed)].sort(), id)
      assert.includeMembers(observed, ["sent", "delivered", "read"])
    }
  })

  it("a channel handed over mid-backlog keeps its rate across the takeover: never more than throughputMps in any second, every message sent once", async () => {
    const RATE = 10
    const s = await stackOn(store, { sandbox: { rateLimitPerSecond: RATE } })
    const phone = CHANNELS[0]!
    await registerChannel(s.api, { phone, throughputMps: RATE })
    const first = recording()
    const second = recording()
    // Room for this machine's scheduling between the worker and the sandbox (the tests share two cores).
    const settings = { rateWindowMarginMs: 300 }
    const a = s.startWorker({ workerId: "worker-a", ...settings }, { decorateProvider: first.decorateProvider })
    await eventually("A holds the channel", async () => (await channelHolders(s.api))[phone] === a.instance)
    const b = s.startWorker({ workerId: "worker-b", ...settings }, { decorateProvider: second.decorateProvider })
    await eventually("B is live", async () => (await liveWorkers(s.api)).includes(b.instance))
    const messages = Array.from({ length: 4 * RATE }, (_, i) => ({
      messaging_product: "whatsapp",
      to: `4915112344${String(i).padStart(3, "0")}7`,
      type: "template",
      template: { name: "spring_sale", language: { code: "en" } }
    }))
    const batch = ok(await s.api.request("POST", `/v1/channels/${phone}/message-batches`, { messages }), "batch")
    const ids = (batch.results as Array<{ id: string }>).map((r) => r.id)
    // A stops part-way: B takes the channel over at its next round, a few hundred milliseconds later,
    // inside the window of A's last sends.
    await eventually("A sent a second's worth", () => first.sent.length >= RATE)
    await a.stop()
    await eventually("B holds the channel", async () => (await channelHolders(s.api))[phone] === b.instance)
    await eventually("every message accepted", () => ids.every((id) => s.sandbox.stats().byCallbackData[id]?.accepted === 1), 60_000)

    const stats = s.sandbox.stats()
    assert.isAbove(first.sent.length, 0)
    assert.isAbove(second.sent.length, 0)
    assert.strictEqual(first.sent.length + second.sent.length, ids.length)
    for (const id of ids) assert.deepStrictEqual(stats.byCallbackData[id], { requests: 1, accepted: 1 }, id)
    // Where the workers decide it: a sliding second over both workers' requests as they left. The
    // provider's limiter (a token bucket like Meta's) refused none. Its arrival times are not checked
    // against a calendar second: on a loaded machine requests sent apart can arrive together.
    assert.isAtMost(busiestSecond([...first.sent, ...second.sent].map((r) => r.at)), RATE)
    assert.strictEqual(stats.rateLimited.total, 0)
  })
})
