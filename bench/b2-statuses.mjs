// @ts-check
// B2 — statuses applied to the read models per second by the worker, from 1000-status webhooks, side
// by side with the same per-status SQL done with raw better-sqlite3 (bench/reference/status-sql.mjs).
//
// Setup, through the real code: a log of N messages decided by the domain up to a successful dispatch
// (wamids known), projected by the rebuild command's function; the status webhooks (sent, delivered,
// read for every message; bench/lib/b2-bodies.mjs) signed and POSTed to the real api, which stores
// them in its inbox. The api then stops; the reference runs on a copy of both files; then the real
// worker process (`node apps/worker/dist/main.js`) starts on the originals and works the inbox off.
// The figure is the worker's steady rate, from the times it marked the bodies processed; the run
// fails unless every status is applied and every message row ends read.
//
// BENCH_CPU_PROF=<dir> starts the worker with --cpu-prof into that directory (bench/lib/profile-summary.mjs reads it).
import Database from "better-sqlite3"
import { copyFileSync } from "node:fs"
import { join, resolve } from "node:path"
import { signMetaWebhook } from "@mm-gateway/webhook-adapter"
import { ENTRY, freePort, ROOT } from "../scripts/stack.mjs"
import { statusBodies } from "./lib/b2-bodies.mjs"
import { MESSAGE_SPACING_MS } from "./lib/log-shape.mjs"
import { cpuSecondsOf, memoryOf, runNodeForJson, startNode, waitForHttp } from "./lib/proc.mjs"
import pg from "pg"

const SECRET = "bench-app-secret"
const EVENTS_PER_DISPATCHED_MESSAGE = 4

/**
 * POSTs every body to the api's webhook endpoint, a few at a time, and checks each is answered 200.
 * @param {string} url
 * @param {ReadonlyArray<{ body: string }>} bodies
 */
const deliver = async (url, bodies) => {
  let next = 0
  const one = async () => {
    for (let i = next++; i < bodies.length; i = next++) {
      const body = /** @type {{ body: string }} */ (bodies[i]).body
      const response = await fetch(url, {
        method: "POST",
        body,
        headers: {
          "content-type": "application/json",
          "x-hub-signature-256": signMetaWebhook(body, SECRET)
        }
      })
      await response.arrayBuffer()
      if (response.status !== 200) throw new Error(`webhook ${i}: answered ${response.status}`)
    }
  }
  await Promise.all([one(), one(), one(), one()])
}

/**
 * @param {string} file
 * @param {(db: import("better-sqlite3").Database) => any} read
 */
const readOnly = (file, read) => {
  const db = new Database(file, { readonly: true, fileMustExist: true })
  try {
    return read(db)
  } finally {
    db.close()
  }
}

/**
 * What B2 reads of the gateway's database, on SQLite (the main file and the inbox beside it) or on
 * PostgreSQL (one database).
 * @typedef {{
 *   inboxMarks: () => Promise<Array<{ state: string, processed_at: number | null }>>,
 *   check: () => Promise<{ statusEvents: number, messagesRead: number, parked: number }>
 * }} B2Reads
 */

/** @param {string} database @param {string} inboxFile @returns {B2Reads} */
const sqliteReads = (database, inboxFile) => ({
  inboxMarks: async () => readOnly(inboxFile, (db) => db.prepare("SELECT state, processed_at FROM inbox ORDER BY id").all()),
  check: async () => readOnly(database, (db) => ({
    statusEvents: db.prepare("SELECT COUNT(*) AS n FROM events WHERE type = 'StatusObserved'").get().n,
    messagesRead: db.prepare("SELECT COUNT(*) AS n FROM messages WHERE status = 'read' AND funnel_stage = 4 AND version = ?")
      .get(EVENTS_PER_DISPATCHED_MESSAGE + 3).n,
    parked: db.prepare("SELECT COUNT(*) AS n FROM parked_statuses").get().n
  }))
})

/** @param {string} url @returns {B2Reads} */
const postgresReads = (url) => {
  const query = async (/** @type {string} */ text, /** @type {Array<unknown>} */ values = []) => {
    const client = new pg.Client({ connectionString: url })
    await client.connect()
    try {
      return (await client.query(text, values)).rows
    } finally {
      await client.end()
    }
  }
  const count = async (/** @type {string} */ text, /** @type {Array<unknown>} */ values = []) => Number((await query(text, values))[0].n)
  return {
    inboxMarks: async () => (await query("SELECT state, processed_at FROM inbox ORDER BY id")).map((r) => ({ state: r.state, processed_at: r.processed_at === null ? null : Number(r.processed_at) })),
    check: async () => ({
      statusEvents: await count("SELECT COUNT(*) AS n FROM events WHERE type = 'StatusObserved'"),
      messagesRead: await count("SELECT COUNT(*) AS n FROM messages WHERE status = 'read' AND funnel_stage = 4 AND version = $1", [EVENTS_PER_DISPATCHED_MESSAGE + 3]),
      parked: await count("SELECT COUNT(*) AS n FROM parked_statuses")
    })
  }
}

/** @param {import("./run.mjs").BenchOptions} options */
export const b2 = async ({ quick, dir, log, store }) => {
  const messages = quick ? 5_000 : 20_000
  const database = join(dir, "gateway.sqlite")
  const inboxFile = join(dir, "gateway.inbox.sqlite")

  // Messages accepted over the last few minutes (times matter: the worker's timers expire a message
  // whose TTL has passed), decided up to their dispatch and projected by the rebuild.
  const t0 = Date.now() - 10 * 60_000
  const made = await runNodeForJson(
    join(ROOT, "bench/lib/make-log.mjs"),
    [database, String(messages * EVENTS_PER_DISPATCHED_MESSAGE), "--until=dispatched", `--t0=${t0}`],
    process.env
  )
  if (made.messages !== messages || made.eventsPerMessage !== EVENTS_PER_DISPATCHED_MESSAGE) {
    throw new Error(`make-log made ${made.messages} messages of ${made.eventsPerMessage} events, not ${messages} of ${EVENTS_PER_DISPATCHED_MESSAGE}`)
  }
  const gatewayDb = store.kind === "postgres" ? await store.newDatabase() : null
  /** @type {Array<{ drop: () => Promise<void> }>} */
  const toDrop = gatewayDb === null ? [] : [gatewayDb]
  try {
    return await run({ quick, dir, log, store, database, inboxFile, t0, gatewayDb, toDrop })
  } finally {
    for (const d of toDrop.reverse()) await d.drop()
  }
}

/**
 * The rest of B2, once the log is made: projected, the webhooks stored by the api, the reference on a
 * copy, the worker on the original.
 * @param {import("./run.mjs").BenchOptions & { database: string, inboxFile: string, t0: number, gatewayDb: { url: string, name: string } | null, toDrop: Array<{ drop: () => Promise<void> }> }} options
 */
const run = async ({ quick, dir, log, store, database, inboxFile, t0, gatewayDb, toDrop }) => {
  const messages = quick ? 5_000 : 20_000
  if (gatewayDb === null) await runNodeForJson(join(ROOT, "bench/lib/rebuild-child.mjs"), [database], process.env)
  else await runNodeForJson(join(ROOT, "bench/lib/pg-log.mjs"), [database, gatewayDb.url, "--move"], process.env)
  const reads = gatewayDb === null ? sqliteReads(database, inboxFile) : postgresReads(gatewayDb.url)
  const bodies = statusBodies(messages, (n) => t0 + n * MESSAGE_SPACING_MS)
  const statuses = bodies.reduce((sum, b) => sum + b.statuses, 0)

  // The webhooks, through the api as deployed.
  const apiPort = await freePort()
  const env = {
    ...process.env,
    MMGW_DATABASE: database,
    MMGW_META_APP_SECRET: SECRET,
    MMGW_MODE: "development",
    ...(gatewayDb === null ? {} : { MMGW_DATABASE_URL: gatewayDb.url })
  }
  const api = startNode(ENTRY.api, [], { ...env, MMGW_API_PORT: String(apiPort) })
  try {
    await waitForHttp(`http://127.0.0.1:${apiPort}/readyz`, api)
    await deliver(`http://127.0.0.1:${apiPort}/webhooks/meta`, bodies)
  } finally {
    await api.stop()
  }
  log(`B2 setup: ${messages} messages dispatched, ${bodies.length} webhooks with ${statuses} statuses in the inbox`)

  // The reference, on copies (the api closed both files cleanly: no WAL left beside them; on
  // PostgreSQL, a database made from the gateway's as a template, nobody connected to it).
  /** @type {any} */
  let reference
  if (gatewayDb === null || store.kind === "sqlite") {
    const refMain = join(dir, "reference.sqlite")
    const refInbox = join(dir, "reference.inbox.sqlite")
    copyFileSync(database, refMain)
    copyFileSync(inboxFile, refInbox)
    reference = await runNodeForJson(join(ROOT, "bench/reference/status-sql.mjs"), [refMain, refInbox], process.env)
  } else {
    const copy = await store.newDatabase(gatewayDb.name)
    toDrop.push(copy)
    reference = await runNodeForJson(join(ROOT, "bench/reference/status-sql-pg.mjs"), [copy.url], process.env)
  }
  const referenceRate = (reference.applied / reference.ms) * 1000
  log(
    `B2 reference: ${reference.applied} statuses in ${(reference.ms / 1000).toFixed(1)} s (${referenceRate.toFixed(0)}/s), ` +
      `${reference.cpuMicrosPerStatus.toFixed(0)} µs CPU per status`
  )

  // The worker, until the inbox has nothing pending.
  const profileDir = process.env["BENCH_CPU_PROF"]
  const started = performance.now()
  const worker = startNode(
    ENTRY.worker,
    [],
    env,
    profileDir === undefined || profileDir === "" ? [] : ["--cpu-prof", `--cpu-prof-dir=${resolve(profileDir)}`]
  )
  const deadline = Date.now() + (quick ? 120_000 : 300_000)
  // The worker's CPU time per status too (from its first processed body to the last): on a machine
  // shared with other work, it moves much less than the rate does.
  /** @type {{ cpu: number, statuses: number } | null} */
  let firstSeen = null
  /** @type {{ cpu: number, statuses: number } | null} */
  let lastSeen = null
  /** @type {number | null} */
  let peakRssMiB = null
  try {
    for (;;) {
      await new Promise((r) => setTimeout(r, 100))
      if (worker.child.exitCode !== null) throw new Error(`the worker exited:\n${worker.output.join("\n")}`)
      const cpu = worker.child.pid === undefined ? null : cpuSecondsOf(worker.child.pid)
      const states = await reads.inboxMarks()
      const done = states.reduce((sum, r, i) => sum + (r.state === "pending" ? 0 : /** @type {{ statuses: number }} */ (bodies[i]).statuses), 0)
      if (cpu !== null && done > 0) {
        if (firstSeen === null) firstSeen = { cpu, statuses: done }
        lastSeen = { cpu, statuses: done }
      }
      const pending = states.filter((r) => r.state === "pending").length
      if (pending === 0) break
      if (Date.now() > deadline) throw new Error(`the worker left ${pending} webhooks pending:\n${worker.output.join("\n")}`)
    }
    peakRssMiB = worker.child.pid === undefined ? null : memoryOf(worker.child.pid)?.peakMiB ?? null
  } finally {
    await worker.stop()
  }
  const cpuMicrosPerStatus = firstSeen !== null && lastSeen !== null && lastSeen.statuses > firstSeen.statuses
    ? ((lastSeen.cpu - firstSeen.cpu) / (lastSeen.statuses - firstSeen.statuses)) * 1e6
    : null
  const wallSeconds = (performance.now() - started) / 1000

  // The steady rate: statuses of the bodies marked after the first group, over the time between the marks.
  const marks = /** @type {Array<{ processed_at: number, state: string }>} */ (await reads.inboxMarks())
  const first = Math.min(...marks.map((m) => m.processed_at))
  const last = Math.max(...marks.map((m) => m.processed_at))
  const afterFirst = marks.reduce((sum, m, i) => sum + (m.processed_at > first ? /** @type {{ statuses: number }} */ (bodies[i]).statuses : 0), 0)
  const figure = last > first ? (afterFirst / (last - first)) * 1000 : 0

  // Correctness: every status is an event, every message row has taken all three, nothing parked or quarantined.
  const check = await reads.check()
  const quarantined = marks.filter((m) => m.state !== "processed").length
  const correct = check.statusEvents === statuses && check.messagesRead === messages && check.parked === 0 && quarantined === 0
  log(
    `B2 worker: ${statuses} statuses, ${figure.toFixed(0)}/s steady, ${cpuMicrosPerStatus?.toFixed(0) ?? "?"} µs CPU per status, ` +
      `${wallSeconds.toFixed(1)} s from start to empty inbox, peak RSS ${peakRssMiB?.toFixed(0) ?? "?"} MiB; ` +
      `${check.statusEvents} status events, ${check.messagesRead}/${messages} messages read, ${check.parked} parked, ${quarantined} quarantined`
  )

  return {
    id: "B2",
    what: `statuses applied / s by the worker (${statuses.toLocaleString("en")} statuses in 1000-status webhooks)`,
    figure,
    reference: referenceRate,
    unit: "statuses/s",
    goal: { ratio: 0.5 },
    details: {
      messages,
      webhooks: bodies.length,
      statuses,
      worker: { statusesPerSecond: figure, cpuMicrosPerStatus, wallSecondsWithStartup: wallSeconds, peakRssMiB, ...check, quarantined },
      reference
    },
    verdictOf: (/** @type {number} */ ratio) => ratio >= 0.5 && correct && reference.applied === statuses
  }
}
