import { assert, describe, it } from "@effect/vitest"
import { EventStore, StatusReports } from "@mm-gateway/domain"
import {
  ApiKeyStore,
  ClickQueries,
  ConfigurationQueries,
  CredentialStore,
  DispatchQueue,
  ForwardingOutbox,
  MessageQueries,
  OnboardingQueries,
  WebhookEndpoints,
  WebhookInbox
} from "@mm-gateway/ports"
import {
  dispatchSucceeded,
  observe,
  recordTemplate,
  registerBm,
  registerChannel,
  registerWaba,
  requestMessage,
  run,
  startDispatch,
  userAction,
  wabaTermsSigned
} from "@mm-gateway/ports/testing/model"
import { layerSqliteStore, openDatabase } from "@mm-gateway/sqlite-projection"
import { Effect, Either, Exit, Layer, ManagedRuntime } from "effect"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { moveFromSqlite } from "../src/cli/from-sqlite-command.js"
import { PostgresDatabase, statements } from "../src/connection.js"
import { layerPostgresStore } from "../src/store.js"
import { freshDatabase, migratedDatabase } from "../testing/index.js"
import { dumpReadModels } from "./support.js"

const NOW = 5_000
const MESSAGES = ["m1", "m2", "m3"]

const observation = (wamid: string) => ({
  wamid: wamid as never,
  status: "delivered" as const,
  timestamp: 40,
  recipient: null,
  pricing: null,
  originType: null,
  errors: []
})

/** A deployment's history: onboarding, a channel, a template, a small campaign with statuses and a click. */
const history = [
  registerBm(1, 1, "Acme"),
  registerWaba(10, 1, 2),
  wabaTermsSigned(10, 3),
  registerChannel(100, 10, 4),
  recordTemplate(10, "spring_sale", "MARKETING", null, 5),
  ...MESSAGES.map((id, i) => requestMessage(id, { at: 10 + i, to: `1650555000${i}` })),
  startDispatch("m1", 1, 20),
  dispatchSucceeded("m1", 1, "wamid.m1", 21),
  observe("m1", "wamid.m1", "read", 30, "marketing_lite"),
  startDispatch("m2", 1, 22),
  dispatchSucceeded("m2", 1, "wamid.m2", 23),
  userAction(100, "k1", 31)
]

/** What is not in the log: a key, a credential, inbox bodies in each state, a parked status, an endpoint with a delivery made and one to make. */
const outsideTheLog = Effect.gen(function*() {
  const keys = yield* ApiKeyStore
  yield* keys.insert({ id: "key_1", name: "tenant", businessManagerIds: ["1"], channelIds: ["100"], secretHash: "ab".repeat(32), createdAt: 6, revokedAt: null })
  yield* keys.insert({ id: "key_2", name: "old", businessManagerIds: [], channelIds: [], secretHash: "cd".repeat(32), createdAt: 7, revokedAt: 8 })
  yield* (yield* CredentialStore).put("cred-100", "ciphertext-of-100", 4)
  const inbox = yield* WebhookInbox
  const body = (n: number) => new TextEncoder().encode(JSON.stringify({ n, bytes: "\u0000\u00ff" }))
  const processed = yield* inbox.accept(body(1), { "content-type": "application/json" }, "meta", 40)
  const quarantined = yield* inbox.accept(body(2), { "content-type": "application/json" }, "meta", 41)
  yield* inbox.accept(body(3), { "x-mmgw-webhook-secret": "kept" }, "360dialog", 42)
  yield* inbox.markProcessed([processed.id], 50)
  yield* inbox.quarantine(quarantined.id, "entry[0]: expected an object, got a string", 51)
  yield* (yield* StatusReports.StatusMatching).park({ dedupeKey: "status:wamid.x:delivered:40", channel: "100", observation: observation("wamid.x"), receivedAt: 43, retryAt: 1_043 })
  yield* (yield* WebhookEndpoints).insert({
    id: "we_1",
    url: "https://tenant.example/hooks",
    events: ["statuses", "messages"],
    businessManagerIds: ["1"],
    channelIds: [],
    secretCiphertext: "sealed-secret",
    paused: null,
    failingSince: 44,
    createdAt: 9,
    updatedAt: 44
  })
  const outbox = yield* ForwardingOutbox
  const delivery = (id: string, n: number) => ({ id, endpointId: "we_1", inboxId: n, events: ["statuses" as const], body: body(n), receivedAt: 40 + n, createdAt: 45, deadline: 90_000 })
  yield* outbox.enqueue([delivery("fd_1", 1), delivery("fd_2", 3)])
  yield* outbox.delivered("fd_1", 46, 200)
})

/** Every question the API and the worker ask about what the history left, through the ports. */
const answers = Effect.gen(function*() {
  const onboarding = yield* OnboardingQueries
  const configuration = yield* ConfigurationQueries
  const messages = yield* MessageQueries
  const clicks = yield* ClickQueries
  const queue = yield* DispatchQueue
  const events = yield* EventStore.EventStore
  const inbox = yield* WebhookInbox
  const matching = yield* StatusReports.StatusMatching
  return {
    log: (yield* events.readAll(0, 1000)).map((e) => [e.globalPosition, e.streamId, e.version, e.event, e.recordedAt]),
    businessManager: yield* onboarding.businessManager("1", NOW),
    wabas: (yield* onboarding.wabas({ now: NOW, limit: 100 })).items,
    channel: yield* queue.channelForDispatch("100"),
    templates: (yield* configuration.templates("10", { limit: 100 })).items,
    messages: yield* Effect.forEach(MESSAGES, (id) => messages.message(id)),
    stats: yield* messages.campaignStats("c1"),
    clicks: (yield* clicks.clicks("100", { limit: 100 })).items,
    dispatchable: yield* queue.dispatchable(NOW, 100),
    recentStarts: yield* queue.recentStarts("100", 0),
    keys: yield* (yield* ApiKeyStore).list(100, null),
    credential: yield* (yield* CredentialStore).ciphertextOf("cred-100"),
    inbox: yield* Effect.forEach([1, 2, 3], (id) => inbox.get(id)),
    pending: yield* inbox.pendingCount(),
    quarantined: (yield* inbox.listQuarantined(100, null)).items.map((e) => e.id),
    parked: yield* matching.parkedFor(["wamid.x"]),
    endpoints: yield* (yield* WebhookEndpoints).list(100, null, null),
    deliveries: (yield* (yield* ForwardingOutbox).list("we_1", 100, null, null)).items
  }
})

/** A SQLite deployment in a temp directory, written through its store's ports, and what it answers. */
const sqliteDeployment = async () => {
  const dir = mkdtempSync(join(tmpdir(), "mmgw-from-sqlite-"))
  const file = join(dir, "mm-gateway.sqlite")
  const runtime = ManagedRuntime.make(layerSqliteStore({ database: file, durability: "normal" }))
  try {
    for (const c of history) assert.isTrue(Either.isRight(await runtime.runPromise(run(c))), "the history is accepted")
    await runtime.runPromise(outsideTheLog)
    return { dir, file, answers: await runtime.runPromise(answers) }
  } finally {
    await runtime.dispose()
  }
}

const onPostgres = <A, E>(url: string, effect: Effect.Effect<A, E, Layer.Layer.Success<ReturnType<typeof layerPostgresStore>>>) =>
  Effect.provide(effect, Layer.fresh(layerPostgresStore({ url })))

const count = (table: string) =>
  Effect.flatMap(PostgresDatabase, (db) => statements(db, (s) => s.query<{ n: string }>({ text: `SELECT count(*) AS n FROM ${table}` }))).pipe(
    Effect.map((rows) => Number(rows[0]?.n))
  )

describe("moving a SQLite deployment onto PostgreSQL", () => {
  it.effect("copies the log, the keys, the credentials, the inbox bodies to process or in quarantine, the parked statuses and forwarding's endpoints and outbox, rebuilds the rest: every port answers as on SQLite, and the log carries on", () =>
    Effect.scoped(Effect.gen(function*() {
      const sqlite = yield* Effect.promise(sqliteDeployment)
      yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(sqlite.dir, { recursive: true, force: true })))
      assert.strictEqual(sqlite.answers.pending, 1)
      assert.deepStrictEqual(sqlite.answers.quarantined, [2])
      assert.strictEqual(sqlite.answers.parked.length, 1)
      assert.deepStrictEqual(sqlite.answers.deliveries.map((d) => [d.id, d.state]).sort(), [["fd_1", "delivered"], ["fd_2", "pending"]])
      // An empty database, not even migrated: the move migrates it.
      const url = yield* freshDatabase
      const moved = yield* moveFromSqlite(sqlite.file, { url }, () => NOW)
      assert.deepStrictEqual(moved, {
        events: sqlite.answers.log.length,
        apiKeys: 2,
        credentials: 1,
        inboxPending: 1,
        inboxQuarantined: 1,
        parkedStatuses: 1,
        webhookEndpoints: 1,
        forwardDeliveries: 2,
        replayed: sqlite.answers.log.length
      })
      yield* onPostgres(url, Effect.gen(function*() {
        const after = yield* answers
        // The processed body is not copied; everything else answers the same.
        assert.isNull(after.inbox[0])
        assert.deepStrictEqual({ ...after, inbox: after.inbox.slice(1) }, { ...sqlite.answers, inbox: sqlite.answers.inbox.slice(1) })
        // The snapshots were rebuilt, and new rows carry on after the copied ones.
        assert.isAbove(yield* count("snapshots"), 5)
        assert.isTrue(Either.isRight(yield* run(observe("m2", "wamid.m2", "read", 60, "marketing_lite"))))
        const last = (yield* (yield* EventStore.EventStore).readAll(0, 1000)).at(-1)!
        assert.deepStrictEqual([last.globalPosition, last.streamId], [sqlite.answers.log.length + 1, "Message-m2"])
        assert.strictEqual((yield* (yield* MessageQueries).message("m2"))?.status, "read")
        const accepted = yield* (yield* WebhookInbox).accept(new TextEncoder().encode("{}"), {}, "meta", 70)
        assert.deepStrictEqual([accepted.id, accepted.duplicate], [4, false])
      }))
    })))

  it.effect("refuses a target that is not empty, a missing file, and a file a live worker is still on; writing nothing", () =>
    Effect.scoped(Effect.gen(function*() {
      const sqlite = yield* Effect.promise(sqliteDeployment)
      yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(sqlite.dir, { recursive: true, force: true })))
      const url = yield* migratedDatabase
      yield* onPostgres(url, Effect.gen(function*() {
        yield* (yield* CredentialStore).put("cred-other", "x", 1)
      }))
      const notEmpty = yield* Effect.exit(moveFromSqlite(sqlite.file, { url }, () => NOW))
      assert.isTrue(Exit.isFailure(notEmpty))
      assert.match(String(notEmpty), /not empty \(its channel_credentials table has rows\)/)
      yield* onPostgres(url, Effect.gen(function*() {
        assert.deepStrictEqual([yield* count("events"), yield* count("channel_credentials")], [0, 1])
      }))

      const missing = yield* Effect.exit(moveFromSqlite(join(sqlite.dir, "nothing.sqlite"), { url }, () => NOW))
      assert.match(String(missing), /there is no SQLite database at/)

      const main = openDatabase(sqlite.file)
      main.prepare("INSERT INTO workers (instance, started_at, heartbeat_at, expires_at) VALUES ('w#1', 1, ?, ?)").run(NOW - 1, NOW + 15_000)
      main.close()
      const empty = yield* freshDatabase
      const live = yield* Effect.exit(moveFromSqlite(sqlite.file, { url: empty }, () => NOW))
      assert.match(String(live), /a worker is still running on .* \(w#1\): stop the api and every worker first/)
      // Once its heartbeat has lapsed (the worker is gone), the move goes ahead.
      assert.strictEqual((yield* moveFromSqlite(sqlite.file, { url: empty }, () => NOW + 15_000)).events, sqlite.answers.log.length)
    })))

  it.effect("is one transaction: an event the rebuild cannot read, after every row was copied, leaves the target empty; once mended, the move goes ahead", () =>
    Effect.scoped(Effect.gen(function*() {
      const sqlite = yield* Effect.promise(sqliteDeployment)
      yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(sqlite.dir, { recursive: true, force: true })))
      const main = openDatabase(sqlite.file)
      const last = sqlite.answers.log.length
      main.prepare("INSERT INTO events (stream_id, version, type, schema_version, data, recorded_at) VALUES ('Nothing-1', 1, 'NoSuchEvent', 1, '{}', 0)").run()
      main.close()
      const url = yield* migratedDatabase
      const failed = yield* Effect.exit(moveFromSqlite(sqlite.file, { url }, () => NOW))
      assert.isTrue(Exit.isFailure(failed))
      yield* onPostgres(url, Effect.gen(function*() {
        for (const table of ["events", "api_keys", "channel_credentials", "inbox", "parked_statuses", "messages", "snapshots"]) {
          assert.strictEqual(yield* count(table), 0, `${table} is empty`)
        }
      }))
      const mend = openDatabase(sqlite.file)
      mend.prepare("DELETE FROM events WHERE global_position > ?").run(last)
      mend.close()
      assert.strictEqual((yield* moveFromSqlite(sqlite.file, { url }, () => NOW)).events, last)
      yield* onPostgres(url, Effect.gen(function*() {
        const db = yield* PostgresDatabase
        assert.isAbove((yield* dumpReadModels(db))["messages"]!.length, 2)
      }))
    })))
})
