import { afterAll, assert, beforeAll, describe, it } from "vitest"
import {
  APP_SECRET,
  eventually,
  ok,
  registerChannel,
  removeBundles,
  type SandboxProcess,
  startApi,
  startSandboxProcess,
  type TestApi
} from "@mm-gateway/worker-test-stack"
import { defaultWorkerConfig, startWorker, type WorkerHandle } from "./support.js"
import { Effect, LogLevel } from "effect"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

/**
 * The per-channel rate is never exceeded:
 *
 * - where the worker decides it, exactly: the requests handed to the provider port, per channel, in
 *   any 1 s window (a sliding window, not just calendar seconds);
 * - as the provider counts it: the sandbox enforces the same rate (a 130429 would show in
 *   `rateLimited`) and counts acceptances per number in the 1 s windows of its own clock. It runs in a
 *   process of its own, so it reads requests as they arrive rather than when this process (api +
 *   worker) gets round to it; the worker's window margin is widened to cover how late a loaded test
 *   machine may schedule it.
 */

const RATE = 20
const FAST = "106540352242931"
const SLOW = "106540352242932"
const SLOW_RATE = 5

let dir: string
let api: TestApi
let sandbox: SandboxProcess
let worker: WorkerHandle | null = null
/** When each request was handed to the provider port, per channel. */
const handedOver = new Map<string, Array<number>>()

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "mmgw-rate-"))
  api = await startApi(join(dir, "gateway.sqlite"))
  sandbox = await startSandboxProcess({
    MMGW_SANDBOX_WEBHOOK_URL: `${api.url}/webhooks/meta`,
    MMGW_META_APP_SECRET: APP_SECRET,
    MMGW_SANDBOX_RATE_LIMIT: String(RATE),
    MMGW_SANDBOX_SEED: "7"
  })
  await registerChannel(api, { phone: FAST, throughputMps: RATE })
  await registerChannel(api, { phone: SLOW, throughputMps: SLOW_RATE })
})
afterAll(async () => {
  await worker?.stop()
  await sandbox.close()
  await api.close()
  rmSync(dir, { recursive: true, force: true })
  removeBundles()
})

const batch = (phone: string, n: number, prefix: string) =>
  api.request("POST", `/v1/channels/${phone}/message-batches`, {
    messages: Array.from({ length: n }, (_, i) => ({
      messaging_product: "whatsapp",
      // Ends in 7: never one of the sandbox's scripted numbers.
      to: `49151${prefix}${String(i).padStart(4, "0")}7`,
      type: "template",
      template: { name: "spring_sale", language: { code: "en" } }
    }))
  })

/** The most times in any window [t, t + 1000) (the worst windows start at one of the times). */
const busiestSecond = (times: ReadonlyArray<number>) => {
  const sorted = [...times].sort((a, b) => a - b)
  let most = 0
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while (j < sorted.length && sorted[j]! < sorted[i]! + 1_000) j++
    most = Math.max(most, j - i)
  }
  return most
}

describe("per-channel rate", () => {
  it("a backlog is sent at no more than the channel's throughputMps in any second the provider counts", async () => {
    ok(await batch(FAST, 3 * RATE + 7, "11"), "fast batch")
    ok(await batch(SLOW, 2 * SLOW_RATE + 3, "22"), "slow batch")
    worker = startWorker(
      {
        ...defaultWorkerConfig(join(dir, "gateway.sqlite"), { sandboxBaseUrl: sandbox.url }),
        pollIntervalMs: 20,
        // Room for this machine's scheduling between the start and the sandbox reading the request
        // (the tests of every package share two cores); the production default is 30 ms.
        rateWindowMarginMs: 400
      },
      {
        logLevel: LogLevel.Error,
        decorateProvider: (gateway) => ({
          ...gateway,
          send: (request) =>
            Effect.zipRight(
              Effect.sync(() => handedOver.set(request.phoneNumberId, [...(handedOver.get(request.phoneNumberId) ?? []), Date.now()])),
              gateway.send(request)
            )
        })
      }
    )
    const stats = await eventually("every message of both batches accepted", async () => {
      const s = await sandbox.stats()
      const perNumber = s.perPhoneNumber
      return (perNumber[FAST]?.accepted ?? 0) === 3 * RATE + 7 && (perNumber[SLOW]?.accepted ?? 0) === 2 * SLOW_RATE + 3 ? s : undefined
    }, 60_000)
    for (const [phone, rate] of [[FAST, RATE], [SLOW, SLOW_RATE]] as const) {
      assert.isAtMost(busiestSecond(handedOver.get(phone) ?? []), rate, `${phone} at the provider port`)
    }
    assert.strictEqual(stats.rateLimited.total, 0)
    assert.strictEqual(stats.requests.total, 3 * RATE + 7 + 2 * SLOW_RATE + 3)
    const fastWindows = Object.values(stats.perPhoneNumber[FAST]!.acceptedPerSecond)
    const slowWindows = Object.values(stats.perPhoneNumber[SLOW]!.acceptedPerSecond)
    assert.isAtMost(Math.max(...fastWindows), RATE)
    assert.isAtMost(Math.max(...slowWindows), SLOW_RATE)
    // A backlog spans several seconds, so the limit is what spread it (not a lucky burst).
    assert.isAtLeast(fastWindows.length, 4)
  })
})
