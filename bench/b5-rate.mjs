// @ts-check
// B5 — per-channel rate accuracy: 10 channels configured at 80 msg/s, each with more messages waiting
// than it may send in the measured time, counted by the sandbox per number in 1 s windows (its
// `acceptedPerSecond`; its own rate limit lifted, so it counts whatever arrives instead of refusing
// it). A channel's first and last windows are partial (it started or ran out within them), and its
// second is the worker's warm-up (a process just started, its code not yet optimized): these are left
// out of the mean, not out of the "never above" check. Reference: the configured rate.
import { acceptMessages, exactlyOnce, registerChannels, startGatewayStack, waitForAccepted } from "./lib/gateway-stack.mjs"
import { gatewayDatabase } from "./lib/store.mjs"

const CHANNELS = 10
const RATE = 80

/**
 * @param {import("./run.mjs").BenchOptions} options
 */
export const b5 = async ({ quick, dir, log, store }) => {
  const seconds = quick ? 5 : 10
  // Three windows more than measured: the partial first and last ones, and the warm-up.
  const perChannel = RATE * (seconds + 3)
  const skipped = 2
  const database = await gatewayDatabase(store)
  const stack = await startGatewayStack({ dir, name: "b5", sandboxEnv: { MMGW_SANDBOX_RATE_LIMIT: "off" }, databaseUrl: database.url })
  try {
    const phones = await registerChannels(stack, CHANNELS, RATE)
    const ids = await acceptMessages(stack, phones, perChannel, { run: "15", campaignId: "b5" })
    await stack.startWorker()
    const stats = await waitForAccepted(stack, ids.length)
    const once = exactlyOnce(stats, ids)

    const channels = phones.map((phone) => {
      const windows = Object.entries(/** @type {Record<string, number>} */ (stats.perPhoneNumber[phone]?.acceptedPerSecond ?? {}))
        .map(([second, n]) => ({ second: Number(second), n }))
        .sort((a, b) => a.second - b.second)
      const measured = windows.slice(skipped, skipped + seconds)
      const full = measured.length === seconds && measured.every((w, i) => i === 0 || w.second === (measured[i - 1]?.second ?? 0) + 1)
      const mean = measured.reduce((a, w) => a + w.n, 0) / Math.max(1, measured.length)
      return {
        phone,
        meanPerSecond: mean,
        lowestWindow: Math.min(...measured.map((w) => w.n)),
        highestWindow: Math.max(...windows.map((w) => w.n)),
        windowsMeasured: measured.length,
        contiguous: full,
        windows: windows.map((w) => w.n)
      }
    })
    const lowest = Math.min(...channels.map((c) => c.meanPerSecond))
    const highest = Math.max(...channels.map((c) => c.highestWindow))
    const allMeasured = channels.every((c) => c.contiguous)
    log(`B5: lowest channel ${lowest.toFixed(1)} msg/s over ${seconds} s, highest window ${highest} (limit ${RATE}); exactly once: ${once.ok ? "yes" : JSON.stringify(once)}`)
    return {
      id: "B5",
      what: `per-channel rate at ${RATE} msg/s over ${seconds} s (lowest channel's mean; highest 1 s window ${highest})`,
      figure: lowest,
      reference: RATE,
      unit: "msg/s",
      goal: { ratio: 0.95, highestWindow: RATE },
      details: { seconds, channels, highestWindow: highest, exactlyOnce: once },
      verdictOf: (/** @type {number} */ ratio) => ratio >= 0.95 && highest <= RATE && allMeasured && once.ok
    }
  } finally {
    await stack.stop()
    await database.drop()
  }
}
