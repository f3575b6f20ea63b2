import { assert, describe, it } from "@effect/vitest"
import { Events } from "@mm-gateway/domain"
import { ApiKeyStore } from "@mm-gateway/ports"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll } from "vitest"
import { openDatabase } from "../src/database.js"
import { appendEncoded } from "../src/event-log.js"
import { layer } from "../src/layers.js"
import { appliedMigrations, inboxMigrations, mainMigrations, migrate, READ_MODEL_TABLES } from "../src/migrations.js"
import { ReadModels } from "../src/read-models.js"
import { dispatchFailed, registerChannel, registerWaba, requestMessage, run, startDispatch } from "@mm-gateway/ports/testing/model"
import { countRows } from "./support.js"

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mmgw-migrations-"))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

const tables = (db: ReturnType<typeof openDatabase>) =>
  (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as Array<{ name: string }>)
    .map((r) => r.name)

/** A file as it was before migration 0014 (its schema and the later ones' undone, their records gone). */
const undoFrom0014 = (db: ReturnType<typeof openDatabase>) => {
  db.exec(`DROP INDEX forward_deliveries_held; DELETE FROM kysely_migration WHERE name = '0019_forward_deliveries_held'`)
  db.exec(`DROP INDEX forward_deliveries_finished; DELETE FROM kysely_migration WHERE name = '0018_forward_deliveries_finished'`)
  db.exec(`DROP INDEX parked_statuses_due; ALTER TABLE parked_statuses DROP COLUMN retry_at;
    DELETE FROM kysely_migration WHERE name = '0017_parked_status_retries'`)
  db.exec(`DROP INDEX messages_to_recipient; DELETE FROM kysely_migration WHERE name = '0016_messages_to_recipient'`)
  db.exec(`DROP TABLE forward_deliveries; DROP TABLE webhook_endpoints; DELETE FROM kysely_migration WHERE name = '0015_forwarding'`)
  db.exec(`DROP TABLE dispatch_starts; DROP TABLE workers; DROP INDEX leases_by_holder; ALTER TABLE leases DROP COLUMN acquired_at;
    DELETE FROM kysely_migration WHERE name = '0014_many_workers'`)
}

describe("migrations", () => {
  it.effect("a fresh file gets every migration, in order, and a second run does nothing", () =>
    Effect.promise(async () => {
      const db = openDatabase(path.join(dir, "fresh.sqlite"))
      try {
        assert.deepStrictEqual(appliedMigrations(db), [])
        const applied = await migrate(db, mainMigrations)
        assert.deepStrictEqual(applied, Object.keys(mainMigrations))
        assert.deepStrictEqual(appliedMigrations(db), Object.keys(mainMigrations))
        for (const t of ["events", "projection_checkpoints", "leases", ...READ_MODEL_TABLES]) assert.include(tables(db), t)
        assert.deepStrictEqual(await migrate(db, mainMigrations), [])
        assert.strictEqual(db.pragma("journal_mode", { simple: true }), "wal")
      } finally {
        db.close()
      }
    }))

  for (const earlier of Object.keys(mainMigrations).slice(0, -1)) {
    it.effect(`from ${earlier} with events already logged: start-up upgrades the file and fills the read models`, () =>
      Effect.gen(function*() {
        const file = path.join(dir, `from-${earlier}.sqlite`)
        yield* Effect.promise(async () => {
          const db = openDatabase(file)
          await migrate(db, mainMigrations, earlier)
          assert.deepStrictEqual(appliedMigrations(db), Object.keys(mainMigrations).slice(0, Object.keys(mainMigrations).indexOf(earlier) + 1))
          const registered = Events.encodeEvent({ _tag: "BusinessManagerRegistered", businessManagerId: "7" as never, name: "Old", via: "operator", at: 1 })
          appendEncoded(db, "BusinessManager-7", "no_stream", [registered], 1)
          db.close()
        })
        const bm = yield* Effect.provide(
          Effect.flatMap(ReadModels, (r) => r.businessManager("7", 10)),
          layer({ path: file })
        )
        assert.strictEqual(bm?.name, "Old")
        const db = openDatabase(file)
        assert.deepStrictEqual(appliedMigrations(db), Object.keys(mainMigrations))
        assert.strictEqual(countRows(db, "business_managers"), 1)
        db.close()
      }))
  }

  it.effect("0012: a message row written before it (its state the record alone) reads the same after it", () =>
    Effect.gen(function*() {
      const file = path.join(dir, "message-rows.sqlite")
      const read = Effect.flatMap(ReadModels, (r) => r.message("msg_old"))
      const written = yield* Effect.provide(
        Effect.gen(function*() {
          yield* run(registerWaba(1, 1, 1))
          yield* run(registerChannel(1, 1, 2))
          assert.isTrue((yield* run(requestMessage("msg_old", { channel: 1, waba: 1, at: 3 })))._tag === "Right")
          return yield* read
        }),
        layer({ path: file })
      )
      assert.isNotNull(written)
      yield* Effect.promise(async () => {
        const db = openDatabase(file)
        // The file as migration 0011 and the code before 0012 left it (the later migrations undone); then the upgrade.
        db.prepare("UPDATE messages SET state = json_extract(state, '$.message')").run()
        undoFrom0014(db)
        db.prepare("ALTER TABLE api_keys DROP COLUMN channel_ids").run()
        db.prepare("DELETE FROM kysely_migration WHERE name >= '0012'").run()
        assert.deepStrictEqual(await migrate(db, mainMigrations), [
          "0012_message_rows_keep_the_stream_state",
          "0013_api_keys_scoped_to_channels",
          "0014_many_workers",
          "0015_forwarding",
          "0016_messages_to_recipient",
          "0017_parked_status_retries",
          "0018_forward_deliveries_finished",
          "0019_forward_deliveries_held"
        ])
        const row = db.prepare("SELECT state FROM messages WHERE id = 'msg_old'").get() as { state: string }
        const snapshot = db.prepare("SELECT state FROM snapshots WHERE stream_id = 'Message-msg_old'").get() as { state: string }
        assert.deepStrictEqual(JSON.parse(row.state), JSON.parse(snapshot.state))
        db.close()
      })
      assert.deepStrictEqual(yield* Effect.provide(read, layer({ path: file })), written)
    }))

  it.effect("0013: an API key created before it is scoped to its Business Managers only", () =>
    Effect.gen(function*() {
      const file = path.join(dir, "api-keys.sqlite")
      yield* Effect.promise(async () => {
        const db = openDatabase(file)
        await migrate(db, mainMigrations, "0012_message_rows_keep_the_stream_state")
        db.prepare("INSERT INTO api_keys (id, name, business_manager_ids, secret_hash, created_at) VALUES ('k1', 'old key', '[\"7\"]', 'ab', 5)").run()
        db.close()
      })
      const found = yield* Effect.provide(Effect.flatMap(ApiKeyStore, (store) => store.find("k1")), layer({ path: file }))
      assert.deepStrictEqual(found, { id: "k1", name: "old key", businessManagerIds: ["7"], channelIds: [], secretHash: "ab", createdAt: 5, revokedAt: null })
    }))

  it.effect("0014: the dispatch starts of a database from before it are filled from the log", () =>
    Effect.gen(function*() {
      const file = path.join(dir, "dispatch-starts.sqlite")
      const starts = Effect.flatMap(ReadModels, (r) => r.recentStarts("1", 0))
      const before = yield* Effect.provide(
        Effect.gen(function*() {
          yield* run(registerWaba(1, 1, 1))
          yield* run(registerChannel(1, 1, 2))
          yield* run(requestMessage("msg_a", { channel: 1, waba: 1, at: 3 }))
          yield* run(startDispatch("msg_a", 1, 5))
          yield* run(dispatchFailed("msg_a", 1, 130429, false, 6))
          yield* run(startDispatch("msg_a", 2, 1_006))
          return yield* starts
        }),
        layer({ path: file })
      )
      assert.deepStrictEqual(before, [5, 1_006])
      yield* Effect.promise(async () => {
        const db = openDatabase(file)
        undoFrom0014(db)
        assert.deepStrictEqual(await migrate(db, mainMigrations), ["0014_many_workers", "0015_forwarding", "0016_messages_to_recipient", "0017_parked_status_retries", "0018_forward_deliveries_finished",
          "0019_forward_deliveries_held"])
        db.close()
      })
      assert.deepStrictEqual(yield* Effect.provide(starts, layer({ path: file })), before)
    }))

  it.effect("the inbox file has its own migrations", () =>
    Effect.promise(async () => {
      const db = openDatabase(path.join(dir, "inbox.sqlite"))
      try {
        assert.deepStrictEqual(await migrate(db, inboxMigrations), ["0001_inbox", "0002_inbox_claims"])
        assert.include(tables(db), "inbox")
        assert.notInclude(tables(db), "events")
      } finally {
        db.close()
      }
    }))
})
