/** Connection settings and the write discipline shared by every writer of a database file. */
import { UnitOfWork } from "@mm-gateway/domain"
import type BetterSqlite3 from "better-sqlite3"
import { Effect } from "effect"

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
 * What the transaction in progress (one `immediate` opened) keeps until it ends: writes deferred to
 * its commit, and what is only true once it has committed.
 */
export interface TransactionState {
  /** Run, in order, just before the commit, inside the transaction (deferred writes). */
  readonly beforeCommit: Array<() => void>
  /** Run after the commit; dropped if the transaction rolls back. */
  readonly afterCommit: Array<() => void>
  /** Per-transaction memory of the modules that defer work, by a key of their own. */
  readonly memory: Map<unknown, unknown>
}

interface Control {
  readonly begin: BetterSqlite3.Statement
  readonly commit: BetterSqlite3.Statement
  readonly rollback: BetterSqlite3.Statement
}

const controls = new WeakMap<Database, Control>()
const inProgress = new WeakMap<Database, TransactionState>()

const controlOf = (db: Database): Control => {
  let c = controls.get(db)
  if (c === undefined) {
    c = { begin: db.prepare("BEGIN IMMEDIATE"), commit: db.prepare("COMMIT"), rollback: db.prepare("ROLLBACK") }
    controls.set(db, c)
  }
  return c
}

/**
 * The transaction `immediate` has open on `db`, or `null` when none is (no transaction, or one opened
 * some other way: then nothing may be deferred, since nobody would run it).
 */
export const currentTransaction = (db: Database): TransactionState | null => (db.inTransaction ? inProgress.get(db) ?? null : null)

/**
 * What a module keeps under `key` in the memory of the transaction `immediate` has open on `db`,
 * made by `create` on first use in that transaction (where it can register its before- and
 * after-commit work); `null` outside such a transaction.
 */
export const transactionLocal = <T>(db: Database, key: unknown, create: (tx: TransactionState) => T): T | null => {
  const tx = currentTransaction(db)
  if (tx === null) return null
  if (tx.memory.has(key)) return tx.memory.get(key) as T
  const created = create(tx)
  tx.memory.set(key, created)
  return created
}

const pauseBeforeRetry = (attempt: number): void =>
  sleepSync(Math.min(200, 5 * 2 ** Math.min(attempt, 6)) + Math.floor(Math.random() * 10))

/**
 * Opens a `BEGIN IMMEDIATE` transaction: the write lock is taken up front, so a transaction that reads
 * and then writes can never be refused half-way by another process's commit. The busy timeout covers
 * ordinary waiting; a busy error that still escapes is retried with a growing pause.
 */
export const begin = (db: Database): TransactionState => {
  const control = controlOf(db)
  for (let attempt = 0;; attempt++) {
    try {
      control.begin.run()
      break
    } catch (error) {
      if (!isBusy(error) || attempt >= MAX_BUSY_RETRIES) throw error
      pauseBeforeRetry(attempt)
    }
  }
  const state: TransactionState = { beforeCommit: [], afterCommit: [], memory: new Map() }
  inProgress.set(db, state)
  return state
}

/** Runs the transaction's deferred writes and commits it; returns what waits for the commit, for the caller to run. */
export const commit = (db: Database): ReadonlyArray<() => void> => {
  const state = inProgress.get(db)
  for (const write of state?.beforeCommit ?? []) write()
  controlOf(db).commit.run()
  inProgress.delete(db)
  return state?.afterCommit ?? []
}

export const rollback = (db: Database): void => {
  inProgress.delete(db)
  if (db.inTransaction) controlOf(db).rollback.run()
}

/**
 * Runs `fn` in a transaction of its own (`begin` … `commit`), synchronously; a busy error anywhere in it
 * rolls it back and runs `fn` again.
 *
 * Inside a transaction already open, `fn` simply runs as part of it (no savepoint): a failure must then
 * roll the whole transaction back, as the unit of work does, never be caught half-way and committed.
 */
export const immediate = <A>(db: Database, fn: () => A): A => {
  if (db.inTransaction) return fn()
  for (let attempt = 0;; attempt++) {
    let result: A
    let committed: ReadonlyArray<() => void>
    try {
      begin(db)
      result = fn()
      committed = commit(db)
    } catch (error) {
      rollback(db)
      if (!isBusy(error) || attempt >= MAX_BUSY_RETRIES) throw error
      pauseBeforeRetry(attempt)
      continue
    }
    for (const then of committed) then()
    return result
  }
}

/** A single statement is its own transaction; only the busy retry is needed around it. */
export const retryBusy = <A>(fn: () => A): A => {
  for (let attempt = 0;; attempt++) {
    try {
      return fn()
    } catch (error) {
      if (!isBusy(error) || attempt >= MAX_BUSY_RETRIES) throw error
      pauseBeforeRetry(attempt)
    }
  }
}

const gates = new WeakMap<Database, UnitOfWork.TransactionGate>()

/** The connection's gate: one unit of work at a time on it, and no other operation while one is open. */
export const gateOf = (db: Database): UnitOfWork.TransactionGate => {
  let gate = gates.get(db)
  if (gate === undefined) {
    gate = UnitOfWork.makeTransactionGate()
    gates.set(db, gate)
  }
  return gate
}

/**
 * A store service whose every operation passes the connection's gate. Services built from other
 * services gate only their outermost face.
 */
export const gated = <S extends object>(db: Database, service: S): S => {
  const gate = gateOf(db)
  const out: Record<string, unknown> = {}
  for (const [name, member] of Object.entries(service)) {
    out[name] = typeof member !== "function" ? member : (...args: Array<unknown>) => {
      const result = (member as (...a: Array<unknown>) => unknown)(...args)
      return Effect.isEffect(result) ? gate.operation(result) : result
    }
  }
  return out as S
}
