// @ts-check
// B3 — messages dispatched per second to the sandbox (its rate limit lifted, 10 channels at the
// highest throughput a channel may be given), side by side with the same number of keep-alive POSTs
// of the same bodies from plain node:http. Both rates are the sandbox's own: accepted sends between
// its first and its last acceptance. The messages are accepted through the api before the worker
// starts, so the worker is measured alone; every one must reach the sandbox exactly once.
//
// Then the soak: for 60 s (quick: 8 s) the api is kept a few thousand messages ahead of the worker
// while the worker's RSS is sampled every second; growth = mean of the last third vs the middle third.
import { join, resolve } from "node:path"
import { ROOT } from "../scripts/stack.mjs"
import { acceptMessages, acceptRateOf, call, exactlyOnce, registerChannels, sandboxStats, startGatewayStack, waitForAccepted } from "./lib/gateway-stack.mjs"
import { gatewayDatabase } from "./lib/store.mjs"
import { cpuSecondsOf, memoryOf, runNodeForJson } from "./lib/proc.mjs"

const CHANNELS = 10
/** The most a channel may be configured to (docs/provider.md#throughput): the dispatcher's rate limit is not what is measured. */
const CHANNEL_MPS = 1000
/** The worker's default: one request in flight per socket of the transport (`MMGW_PROVIDER_MAX_SOCKETS`). */
const CONCURRENCY = 64

const rateOf = acceptRateOf

/** @param {Array<number>} xs */
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length)

/**
 * @param {import("./run.mjs").BenchOptions} options
 * BENCH_CPU_PROF=<dir> starts the worker with --cpu-prof into that directory (bench/lib/profile-summary.mjs reads it).
 */
export const b3 = async ({ quick, dir, log, store }) => {
  const perChannel = quick ? 500 : 2000
  const total = perChannel * CHANNELS
  const soakSeconds = quick ? 8 : 60
  const database = await gatewayDatabase(store)
  const stack = await startGatewayStack({ dir, name: "b3", sandboxEnv: { MMGW_SANDBOX_RATE_LIMIT: "off" }, databaseUrl: database.url })
  try {
    const phones = await registerChannels(stack, CHANNELS, CHANNEL_MPS)

    // The reference, against the same sandbox, before anything else runs.
    const reference = await runNodeForJson(
      join(ROOT, "bench/reference/sandbox-posts.mjs"),
      [stack.sandboxUrl, String(total), String(CONCURRENCY), phones.join(","), "11"],
      process.env
    )
    const referenceStats = await sandboxStats(stack)
    const referenceRate = rateOf(referenceStats)
    if (referenceStats.accepted.total !== total) throw new Error(`reference: the sandbox accepted ${referenceStats.accepted.total} of ${total}`)
    log(`B3 reference: ${total} POSTs, ${referenceRate.toFixed(0)} msg/s`)
    await call("POST", `${stack.sandboxUrl}/sandbox/reset`, {})

    // The gateway: the messages are accepted first, then the worker dispatches them.
    const acceptStarted = performance.now()
    const ids = await acceptMessages(stack, phones, perChannel, { run: "12", campaignId: "b3" })
    const acceptSeconds = (performance.now() - acceptStarted) / 1000
    log(`B3 accepted ${ids.length} messages through the api in ${acceptSeconds.toFixed(1)} s`)
    const profileDir = process.env["BENCH_CPU_PROF"]
    const worker = await stack.startWorker(profileDir === undefined || profileDir === "" ? [] : ["--cpu-prof", `--cpu-prof-dir=${resolve(profileDir)}`])
    const pid = /** @type {number} */ (worker.child.pid)
    const cpuBefore = cpuSecondsOf(pid) ?? 0
    const stats = await waitForAccepted(stack, total)
    // CPU per message is steadier than the rate on a machine shared with other work.
    const cpuMsPerMessage = (((cpuSecondsOf(pid) ?? 0) - cpuBefore) * 1000) / Math.max(1, stats.accepted.total)
    const rate = rateOf(stats)
    const once = exactlyOnce(stats, ids)
    log(`B3 worker: ${stats.accepted.total} dispatched, ${rate.toFixed(0)} msg/s, ${(cpuMsPerMessage * 1000).toFixed(0)} µs of worker CPU per message; exactly once: ${once.ok ? "yes" : JSON.stringify(once)}`)

    // The soak: the worker kept busy, its memory sampled every second.
    /** @type {Array<number>} */
    const samples = []
    const sampler = setInterval(() => {
      const m = memoryOf(pid)
      if (m !== null) samples.push(m.rssMiB)
    }, 1000)
    const soakIds = []
    const soakStarted = Date.now()
    const soakEnd = soakStarted + soakSeconds * 1000
    let round = 0
    while (Date.now() < soakEnd) {
      const light = await sandboxStats(stack)
      const backlog = total + soakIds.length - light.accepted.total
      if (backlog < 3000) {
        soakIds.push(...(await acceptMessages(stack, phones, 100, { run: "13", campaignId: "b3-soak", firstIndex: round++ * 100 * CHANNELS })))
      } else {
        await new Promise((r) => setTimeout(r, 200))
      }
    }
    clearInterval(sampler)
    const soakDispatched = (await sandboxStats(stack)).accepted.total - total
    const afterSoak = await waitForAccepted(stack, total + soakIds.length)
    const soakOnce = exactlyOnce(afterSoak, [...ids, ...soakIds])
    const memory = memoryOf(pid)
    const third = Math.max(1, Math.floor(samples.length / 3))
    const middle = mean(samples.slice(third, 2 * third))
    const last = mean(samples.slice(2 * third))
    log(`B3 soak ${soakSeconds} s: ${((soakDispatched / soakSeconds)).toFixed(0)} msg/s; worker RSS ${middle.toFixed(0)} → ${last.toFixed(0)} MiB, peak ${memory?.peakMiB.toFixed(0)} MiB; exactly once: ${soakOnce.ok ? "yes" : JSON.stringify(soakOnce)}`)

    await stack.stop()

    return {
      id: "B3",
      what: `messages dispatched / s to the sandbox (${CHANNELS} channels, rate limit lifted)`,
      figure: rate,
      reference: referenceRate,
      unit: "msg/s",
      goal: { ratio: 0.5 },
      details: {
        messages: total,
        channels: CHANNELS,
        concurrency: CONCURRENCY,
        acceptedThroughApiPerSecond: total / acceptSeconds,
        gateway: { dispatched: stats.accepted.total, messagesPerSecond: rate, workerCpuMsPerMessage: cpuMsPerMessage, exactlyOnce: once },
        reference: { ...reference, messagesPerSecond: referenceRate },
        soak: {
          seconds: soakSeconds,
          dispatched: soakDispatched,
          exactlyOnce: soakOnce,
          worker: { peakRssMiB: memory?.peakMiB ?? null, rssMiddleThirdMiB: middle, rssLastThirdMiB: last, samplesMiB: samples.map((s) => Math.round(s)) }
        }
      },
      // Correctness before speed: a message sent twice or not at all fails the benchmark whatever the rate.
      verdictOf: (/** @type {number} */ ratio) => ratio >= 0.5 && once.ok && soakOnce.ok
    }
  } finally {
    await stack.stop()
    await database.drop()
  }
}
