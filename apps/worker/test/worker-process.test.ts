import { type Sandbox, startSandbox } from "@mm-gateway/sandbox"
import {
  APP_SECRET,
  eventually,
  leaseHolder,
  message,
  registerChannel,
  removeBundles,
  SECRET_KEY,
  send,
  startTestStack,
  type TestStack
} from "@mm-gateway/worker-test-stack"
import { afterAll, afterEach, assert, describe, it } from "vitest"
import { startWorkerProcess, type WorkerProcess } from "./support.js"

/**
 * The worker as a process (`src/main.ts`): configured by its `MMGW_*` variables, holding the lease
 * under an identity of its own drawn at each start, stopped by signals. What the runners do in one
 * process is tested in packages/worker-runners.
 */

let stack: TestStack | null = null
const processes: Array<WorkerProcess> = []
const sandboxes: Array<Sandbox> = []
afterEach(async () => {
  await Promise.all(processes.splice(0).map((p) => p.stop("SIGKILL")))
  await Promise.all(sandboxes.splice(0).map((s) => s.close()))
  await stack?.close()
  stack = null
})
afterAll(removeBundles)

describe("a worker id is a name: each process holds the lease under its own instance identity", () => {
  it("two worker processes with the same MMGW_WORKER_ID: only the first dispatches, the standby logs who holds the lease, and it takes over once the first one's lease lapses after a crash", async () => {
    const s = (stack = await startTestStack())
    await registerChannel(s.api)
    // Each process sends to a sandbox of its own, so that each one's requests are counted apart.
    const standbySandbox = await startSandbox({
      port: 0,
      webhookUrl: `${s.api.url}/webhooks/meta`,
      appSecret: APP_SECRET,
      seed: 43,
      webhookLatencyMs: { min: 5, max: 40 },
      webhookBatchIntervalMs: 20,
      webhookRetryBaseMs: 50,
      rateLimitPerSecond: 0
    })
    sandboxes.push(standbySandbox)
    const env = (sandboxUrl: string) => ({
      MMGW_DATABASE: s.database,
      MMGW_SECRET_KEY: SECRET_KEY,
      MMGW_SANDBOX_URL: sandboxUrl,
      MMGW_WORKER_ID: "twin",
      MMGW_WORKER_LEASE_TTL: "2s"
    })
    const first = await startWorkerProcess(env(s.sandbox.url))
    processes.push(first)
    await eventually("the first process holds the lease", () => leaseHolder(s.database) === first.instance, 60_000)
    const second = await startWorkerProcess(env(standbySandbox.url))
    processes.push(second)
    assert.notStrictEqual(first.instance, second.instance)
    await eventually("the second says it waits as a standby, and for whom", () =>
      second.lines.some((line) => line.includes(`waiting for the lease as a standby: ${first.instance} holds it`)))

    const ids = [await send(s.api, "4915112342021"), await send(s.api, "4915112342022"), await send(s.api, "4915112342023")]
    for (const id of ids) await eventually(`${id} read`, async () => (await message(s.api, id)).status === "read")
    assert.deepStrictEqual([s.sandbox.stats().requests.total, standbySandbox.stats().requests.total], [3, 0])
    assert.strictEqual(leaseHolder(s.database), first.instance)
    assert.isFalse(second.lines.some((line) => line.includes(`lease acquired by ${second.instance}`)))

    // A crash: the lease is not released and lapses, and the standby, same worker id and all, takes it.
    assert.isNull(await first.stop("SIGKILL"))
    await eventually("the standby holds the lease", () => leaseHolder(s.database) === second.instance, 60_000)
    const later = await send(s.api, "4915112342024")
    await eventually("the later message read", async () => (await message(s.api, later)).status === "read")
    assert.deepStrictEqual([s.sandbox.stats().requests.total, standbySandbox.stats().requests.total], [3, 1])
    assert.isTrue(second.lines.some((line) => line.includes(`lease acquired by ${second.instance}`)))
    assert.strictEqual(await second.stop("SIGTERM"), 0)
    assert.isTrue(second.lines.some((line) => line.includes(`lease released by ${second.instance}`)))
  })
})

