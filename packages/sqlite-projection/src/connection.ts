/** Connection settings and the write discipline shared by every writer of a database file. */
import type BetterSqlite3 from "better-sqlite3"

export type Database = BetterSqlite3.Database

/** `normal`: survives a killed process (WAL + synchronous=NORMAL). `full`: survives power loss (fsync per commit). */
export type Durability = "normal" | "full"

export const DEFAULT_BUSY_TIMEOUT_MS = 5000

export const configure = (db: Database, durability: Durability, busyTimeoutMs: number = DEFAULT_BUSY_TIMEOUT_MS): void => {
  // The busy timeout comes first: switching to WAL itself needs a lock another process may hold.
  db.pragma(`busy_timeout = ${Math.max(0, Math.floor(busyTimeoutMs))}`)
  if (db.name !== ":memory:" && db.name !== "") db.pragma("journal_mode = WAL")
  db.pragma(`synchronous = ${durability === "full" ? "FULL" : "NORMAL"}`)
  db.pragma("foreign_keys = ON")
}

const isBusy = (error: unknown): boolean => {
  const code = (error as { code?: unknown } | null)?.code
  return code === "SQLITE_BUSY" || code === "SQLITE_BUSY_SNAPSHOT" || code === "SQLITE_LOCKED"
}

const pause = new Int32Array(new SharedArrayBuffer(4))
/** better-sqlite3 is synchronous, and so is SQLite's own busy handler: a short synchronous pause fits. */
const sleepSync = (ms: number): void => {
  Atomics.wait(pause, 0, 0, ms)
}

export const MAX_BUSY_RETRIES = 50

/**
 * Runs `fn` in a `BEGIN IMMEDIATE` transaction: the write lock is taken up front, so a transaction that
 * reads and then writes can never be refused half-way by another process's commit. The busy timeout
 * covers ordinary waiting; a busy error that still escapes is retried with a growing pause (`fn` then
 * runs again, after the failed attempt was rolled back).
 */
export const immediate = <A>(db: Database, fn: () => A): A => {
  const tx = db.transaction(fn)
  // Inside an outer transaction better-sqlite3 uses a savepoint: a failure undoes only this part.
  if (db.inTransaction) return tx()
  for (let attempt = 0;; attempt++) {
    try {
      return tx.immediate()
    } catch (error) {
      if (!isBusy(error) || attempt >= MAX_BUSY_RETRIES) throw error
      sleepSync(Math.min(200, 5 * 2 ** Math.min(attempt, 6)) + Math.floor(Math.random() * 10))
    }
  }
}

/** A single statement is its own transaction; only the busy retry is needed around it. */
export const retryBusy = <A>(fn: () => A): A => {
  for (let attempt = 0;; attempt++) {
    try {
      return fn()
    } catch (error) {
      if (!isBusy(error) || attempt >= MAX_BUSY_RETRIES) throw error
      sleepSync(Math.min(200, 5 * 2 ** Math.min(attempt, 6)) + Math.floor(Math.random() * 10))
    }
  }
}
