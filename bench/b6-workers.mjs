// @ts-check
// B6 — the dispatch rate with 1, 2 and 4 worker processes on one PostgreSQL database (the sandbox's and
// the channels' rate limits lifted: 12 channels at 1000 msg/s, so the workers split them evenly), and
// the workers' CPU time per message. Each count runs on a database of its own: the messages are
// accepted through the api first, then the workers start together and share the channels out by
// leases (docs/worker.md#many-workers); the rate is the sandbox's, from its first acceptance to its
// last. Every message must reach the sandbox exactly once. The reference is the one-worker rate: how
// the rate grows with workers is the figure, and it can only grow where there are cores to run them —
// on a 2-core machine the workers, the api, the sandbox and PostgreSQL share two, so the CPU time per
// message is what says what more cores would give (bench/README.md).
import { acceptMessages, acceptRateOf, call, exactlyOnce, registerChannels, startGatewayStack, waitForAccepted } from "./lib/gateway-stack.mjs"
import { cpus } from "node:os"
import pg from "pg"
import { cpuSecondsOf, postgresCpuSecondsOf } from "./lib/proc.mjs"

const CHANNELS = 12
const CHANNEL_MPS = 1000
const COUNTS = [1, 2, 4]

/** @param {import("./run.mjs").BenchOptions} options */
/**
 * What the gateway's sessions on the database are doing (state, what they wait for, how old their
 * transaction is, the start of their statement) and the locks not granted or advisory: printed when
 * workers leave messages unsent, while they are still running, to tell a lock held by a stuck
 * transaction from a worker waiting on itself.
 * @param {string} url
 */
const sessionsOf = async (url) => {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    const sessions = await client.query(`SELECT pid, application_name, state, wait_event_type, wait_event,
        round(extract(epoch FROM now() - xact_start) * 1000) AS xact_ms, left(regexp_replace(query, '\\s+', ' ', 'g'), 100) AS query
      FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() ORDER BY xact_start NULLS LAST`)
    const locks = await client.query(`SELECT pid, locktype, mode, granted, relation::regclass::text AS relation, objid
      FROM pg_locks WHERE (locktype = 'advisory' OR NOT granted) AND pid <> pg_backend_pid() ORDER BY granted DESC, pid`)
    return [...sessions.rows.map((r) => JSON.stringify(r)), "locks:", ...locks.rows.map((r) => JSON.stringify(r))].join("\n")
  } finally {
    await client.end()
  }
}

export const b6 = async ({ quick, dir, log, store }) => {
  if (store.kind !== "postgres") throw new Error("B6 runs on PostgreSQL (--store postgres)")
  const perChannel = quick ? 300 : 1500
  const total = perChannel * CHANNELS
  /** @type {Array<any>} */
  const runs = []
  for (const count of COUNTS) {
    const database = await store.newDatabase()
    const stack = await startGatewayStack({ dir, name: `b6-${count}`, sandboxEnv: { MMGW_SANDBOX_RATE_LIMIT: "off" }, databaseUrl: database.url })
    try {
      const phones = await registerChannels(stack, CHANNELS, CHANNEL_MPS)
      const ids = await acceptMessages(stack, phones, perChannel, { run: `6${count}`, campaignId: `b6-${count}` })
      const workers = await Promise.all(Array.from({ length: count }, () => stack.startWorker()))
      const cpuBefore = workers.map((w) => cpuSecondsOf(/** @type {number} */ (w.child.pid)) ?? 0)
      const databaseCpuBefore = postgresCpuSecondsOf(store.serverUrl)
      // Patient: workers starting together settle their split in the first rounds, and on a loaded
      // machine a round may come late.
      const stats = await waitForAccepted(stack, total, { idleMs: 30_000 })
      const cpuSeconds = workers.map((w, i) => (cpuSecondsOf(/** @type {number} */ (w.child.pid)) ?? 0) - (cpuBefore[i] ?? 0))
      // The server's CPU for the same stretch (the api is idle meanwhile: the messages were accepted before).
      const databaseCpuMicrosPerMessage = ((postgresCpuSecondsOf(store.serverUrl) - databaseCpuBefore) * 1e6) / Math.max(1, stats.accepted.total)
      const held = (await call("GET", `${stack.apiUrl}/v1/workers`)).workers.map((/** @type {any} */ w) => w.channels.length)
      const rate = acceptRateOf(stats)
      const once = exactlyOnce(stats, ids)
      const cpuMicrosPerMessage = (cpuSeconds.reduce((a, b) => a + b, 0) * 1e6) / Math.max(1, stats.accepted.total)
      runs.push({
        workers: count,
        messagesPerSecond: rate,
        dispatched: stats.accepted.total,
        workerCpuMicrosPerMessage: cpuMicrosPerMessage,
        workerCpuSeconds: cpuSeconds,
        databaseCpuMicrosPerMessage,
        channelsHeldAtTheEnd: held,
        exactlyOnce: once
      })
      if (!once.ok) {
        log(`B6 ${count} worker(s) left messages unsent; their last lines:\n${workers.map((w) => w.output.slice(-15).join("\n")).join("\n---\n")}`)
        log(`B6 ${count} worker(s): the database's sessions and locks while they are stuck:\n${await sessionsOf(database.url)}`)
      }
      log(`B6 ${count} worker(s): ${stats.accepted.total} dispatched, ${rate.toFixed(0)} msg/s, ${cpuMicrosPerMessage.toFixed(0)} µs of worker CPU per message (all workers) and ${databaseCpuMicrosPerMessage.toFixed(0)} µs of PostgreSQL's, channels held ${held.join("/")}; exactly once: ${once.ok ? "yes" : JSON.stringify(once)}`)
    } finally {
      await stack.stop()
      await database.drop()
    }
  }
  const one = runs[0]
  const four = runs[runs.length - 1]
  return {
    id: "B6",
    what: `dispatch rate with ${COUNTS.join(", ")} workers on one PostgreSQL (${CHANNELS} channels, rate limits lifted): ${runs.map((r) => `${r.workers}: ${r.messagesPerSecond.toFixed(0)} msg/s, ${r.workerCpuMicrosPerMessage.toFixed(0)} µs worker + ${r.databaseCpuMicrosPerMessage.toFixed(0)} µs database CPU/msg`).join("; ")}`,
    figure: four.messagesPerSecond,
    reference: one.messagesPerSecond,
    unit: "msg/s",
    goal: { note: `reported, on ${cpus().length} cores` },
    details: { messages: total, channels: CHANNELS, runs },
    // Reported, not judged by speed (on 2 cores scaling cannot show); a message sent twice or not at all fails it.
    verdictOf: () => runs.every((r) => r.exactlyOnce.ok)
  }
}
