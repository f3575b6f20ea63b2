import { assert, describe, it } from "@effect/vitest"
import BetterSqlite3 from "better-sqlite3"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll } from "vitest"
import { configure } from "../src/connection.js"
import { SqliteDatabase } from "../src/database.js"
import { INBOX_CACHE_KIB, makeInbox, openInbox } from "../src/inbox.js"
import { layer } from "../src/layers.js"
import { inboxMigrations, migrate } from "../src/migrations.js"

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mmgw-durability-"))
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }))

const body = (s: string) => new TextEncoder().encode(s)

interface Pragmas {
  readonly synchronous: unknown
  readonly journalMode: unknown
}
const pragmasOf = (db: BetterSqlite3.Database): Pragmas => ({
  synchronous: db.pragma("synchronous", { simple: true }),
  journalMode: db.pragma("journal_mode", { simple: true })
})

const mainPragmas = (file: string, durability?: "normal" | "full") =>
  Effect.map(SqliteDatabase, ({ db }) => pragmasOf(db)).pipe(
    Effect.provide(layer(durability === undefined ? { path: file } : { path: file, durability }))
  )

const inboxPragmas = (file: string, durability?: "normal" | "full") =>
  Effect.promise(async () => {
    const { db } = await openInbox(durability === undefined ? { path: file } : { path: file, durability })
    try {
      return pragmasOf(db)
    } finally {
      db.close()
    }
  })

/**
 * An inbox on its own connection whose every statement is traced (better-sqlite3's `verbose`), so a
 * test sees the transactions it really runs, and a second connection that sees only what is committed.
 */
const tracedInbox = async (name: string) => {
  const file = path.join(dir, name)
  const trace: Array<string> = []
  const db = new BetterSqlite3(file, { verbose: (sql) => trace.push(String(sql)) })
  configure(db, "full")
  await migrate(db, inboxMigrations)
  const committed = new BetterSqlite3(file, { readonly: true })
  const isCommitted = (id: number) => committed.prepare("SELECT 1 FROM inbox WHERE id = ?").get(id) !== undefined
  const count = () => (committed.prepare("SELECT COUNT(*) AS n FROM inbox").get() as { n: number }).n
  const close = () => {
    committed.close()
    db.close()
  }
  return { db, inbox: makeInbox(db), trace, isCommitted, count, close }
}

const transactionControl = (trace: ReadonlyArray<string>) => trace.filter((s) => /^(BEGIN|COMMIT|END|ROLLBACK)\b/i.test(s))

describe("durability (docs/persistence.md#durability)", () => {
  it.effect("normal is the default: synchronous=NORMAL (1) on the main file and on the inbox, both in WAL", () =>
    Effect.gen(function*() {
      const expected = { synchronous: 1, journalMode: "wal" }
      assert.deepStrictEqual(yield* mainPragmas(path.join(dir, "default.sqlite")), expected)
      assert.deepStrictEqual(yield* inboxPragmas(path.join(dir, "default.inbox.sqlite")), expected)
    }))

  it.effect("full gives synchronous=FULL (2) on the main file and on the inbox, both in WAL", () =>
    Effect.gen(function*() {
      const expected = { synchronous: 2, journalMode: "wal" }
      assert.deepStrictEqual(yield* mainPragmas(path.join(dir, "full.sqlite"), "full"), expected)
      assert.deepStrictEqual(yield* inboxPragmas(path.join(dir, "full.inbox.sqlite"), "full"), expected)
    }))

  it.effect("group commit: deliveries of one event-loop turn are one transaction, and each is answered only once committed", () =>
    Effect.promise(async () => {
      const t = await tracedInbox("group.inbox.sqlite")
      try {
        assert.strictEqual(t.db.pragma("synchronous", { simple: true }), 2)
        t.trace.length = 0
        const committedWhenAnswered: Array<boolean> = []
        const results = await Promise.all(
          Array.from({ length: 50 }, (_, i) =>
            t.inbox.appendGrouped(body(`{"i":${i % 40}}`), {}, "meta", i).then((accepted) => {
              committedWhenAnswered.push(t.isCommitted(accepted.id))
              return accepted
            }))
        )
        // One BEGIN … COMMIT around every insert of the group (one fsync under synchronous=FULL), nothing outside it.
        assert.deepStrictEqual(transactionControl(t.trace), ["BEGIN IMMEDIATE", "COMMIT"])
        assert.strictEqual(t.trace[0], "BEGIN IMMEDIATE")
        assert.strictEqual(t.trace.at(-1), "COMMIT")
        assert.strictEqual(t.trace.filter((s) => s.startsWith("INSERT INTO inbox")).length, 50)
        assert.deepStrictEqual(committedWhenAnswered, Array.from({ length: 50 }, () => true))
        assert.strictEqual(new Set(results.map((r) => r.id)).size, 40)
        assert.strictEqual(results.filter((r) => r.duplicate).length, 10)
        assert.strictEqual(t.count(), 40)
      } finally {
        t.close()
      }
    }))

  it.effect("group commit: when the group's commit fails, every delivery of the group is refused and none is stored", () =>
    Effect.promise(async () => {
      const t = await tracedInbox("failing.inbox.sqlite")
      try {
        const before = await Promise.all([1, 2].map((i) => t.inbox.appendGrouped(body(`{"before":${i}}`), {}, "meta", i)))
        // A deferred foreign key is checked at COMMIT: one poisoned delivery makes the group's commit itself fail.
        t.db.exec(`
          CREATE TABLE poison_parent (id INTEGER PRIMARY KEY);
          CREATE TABLE poison (parent_id INTEGER REFERENCES poison_parent (id) DEFERRABLE INITIALLY DEFERRED);
          CREATE TRIGGER poison_on_insert AFTER INSERT ON inbox WHEN NEW.body = CAST('poison' AS BLOB)
            BEGIN INSERT INTO poison VALUES (1); END;`)
        t.trace.length = 0
        const outcomes = await Promise.allSettled(
          ["a", "b", "poison", "c", "d"].map((s, i) => t.inbox.appendGrouped(body(s), {}, "meta", 10 + i))
        )
        assert.deepStrictEqual(transactionControl(t.trace), ["BEGIN IMMEDIATE", "COMMIT", "ROLLBACK"])
        assert.deepStrictEqual(outcomes.map((o) => o.status), ["rejected", "rejected", "rejected", "rejected", "rejected"])
        for (const o of outcomes) {
          if (o.status === "rejected") assert.strictEqual((o.reason as { code?: unknown }).code, "SQLITE_CONSTRAINT_FOREIGNKEY")
        }
        // What was acknowledged before is still there; nothing of the refused group is.
        assert.isTrue(before.every((a) => t.isCommitted(a.id)))
        assert.strictEqual(t.count(), 2)
        // The inbox is not left inside a transaction: the next group commits.
        const after = await t.inbox.appendGrouped(body("a"), {}, "meta", 20)
        assert.deepStrictEqual([after.duplicate, t.isCommitted(after.id), t.count()], [false, true, 3])
      } finally {
        t.close()
      }
    }))

  it.effect("checkpoint: background — the connection never checkpoints in a commit; a thread copies the log into the file", () =>
    Effect.promise(async () => {
      const file = path.join(dir, "background.inbox.sqlite")
      const { db, inbox, close } = await openInbox({ path: file, checkpoint: "background" })
      try {
        assert.strictEqual(db.pragma("wal_autocheckpoint", { simple: true }), 0)
        const sizeBefore = fs.statSync(file).size
        // Well past the 1000 pages at which SQLite would otherwise checkpoint inside one of these commits.
        const payload = "x".repeat(4000)
        for (let group = 0; group < 20; group++) {
          await Promise.all(Array.from({ length: 100 }, (_, i) => inbox.appendGrouped(body(`{"n":${group * 100 + i},"p":"${payload}"}`), {}, "meta", i)))
        }
        // Only a checkpoint writes pages into the database file itself; the thread does, without being
        // asked, until every payload is in the file (the bound only guards against a hang).
        const expected = sizeBefore + 2000 * 4000
        const deadline = Date.now() + 30_000
        while (fs.statSync(file).size <= expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
        assert.isAbove(fs.statSync(file).size, expected)
      } finally {
        await close()
      }
      // Everything acknowledged is in the file after the stop (the last checkpoint ran, the connection closed).
      const reader = new BetterSqlite3(file, { readonly: true })
      try {
        assert.strictEqual((reader.prepare("SELECT COUNT(*) AS n FROM inbox").get() as { n: number }).n, 2000)
      } finally {
        reader.close()
      }
    }))

  it.effect("an inbox connection keeps a 64 MiB page cache (the dedupe index is written at random places)", () =>
    Effect.promise(async () => {
      const { db, close } = await openInbox({ path: path.join(dir, "cache.inbox.sqlite") })
      try {
        assert.strictEqual(db.pragma("cache_size", { simple: true }), -INBOX_CACHE_KIB)
        assert.strictEqual(db.pragma("wal_autocheckpoint", { simple: true }), 1000)
      } finally {
        await close()
      }
    }))

  it.effect("the main database: checkpoints in the background when asked (api, worker), SQLite's own otherwise", () =>
    Effect.gen(function*() {
      const autocheckpoint = (checkpoint: "automatic" | "background") =>
        Effect.map(SqliteDatabase, ({ db }) => db.pragma("wal_autocheckpoint", { simple: true })).pipe(
          Effect.provide(layer({ path: path.join(dir, `main-${checkpoint}.sqlite`), checkpoint }))
        )
      assert.strictEqual(yield* autocheckpoint("background"), 0)
      assert.strictEqual(yield* autocheckpoint("automatic"), 1000)
    }))
})
