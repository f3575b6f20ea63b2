/**
 * The pool, and how a store operation finds its connection: the transaction of the unit of work its
 * fiber is in, or a connection of its own from the pool (docs/persistence.md#postgresql).
 */
import { Context, Effect, FiberRef } from "effect"
import pg from "pg"

/** A transaction on one pooled connection, open from `BEGIN` until its commit or rollback. */
export interface Transaction {
  readonly client: pg.PoolClient
  /** Set once it holds the append lock (`APPEND_LOCK_KEY`), which it keeps until it ends. */
  holdsAppendLock: boolean
  /** False once its commit or rollback has been sent: nothing may be sent on it after that. */
  open: boolean
}

/** A statement's text, its parameters, and a name under which the server keeps it prepared per connection. */
export interface Statement {
  readonly text: string
  readonly values?: ReadonlyArray<unknown>
  readonly name?: string
}

export interface Session {
  /** The transaction the statements run in, or `null` when each runs in one of its own. */
  readonly transaction: Transaction | null
  readonly query: <R extends pg.QueryResultRow>(statement: Statement) => Promise<ReadonlyArray<R>>
}

export interface Database {
  readonly pool: pg.Pool
  /** The transaction of the unit of work the current fiber is in (and the fibers it forks), if any. */
  readonly current: FiberRef.FiberRef<Transaction | null>
}

/** One connection pool to a migrated database. */
export class PostgresDatabase extends Context.Tag("@mm-gateway/postgres-projection/PostgresDatabase")<PostgresDatabase, Database>() {}

export const makeDatabase = (pool: pg.Pool): Database => ({ pool, current: FiberRef.unsafeMake<Transaction | null>(null) })

const run = async <R extends pg.QueryResultRow>(
  on: pg.Pool | pg.PoolClient,
  statement: Statement
): Promise<ReadonlyArray<R>> => {
  const config: pg.QueryConfig = { text: statement.text }
  if (statement.values !== undefined) config.values = statement.values as Array<unknown>
  if (statement.name !== undefined) config.name = statement.name
  return (await on.query<R>(config)).rows
}

const transactionSession = (transaction: Transaction): Session => ({
  transaction,
  query: (statement) => {
    // A fiber interrupted in a unit of work may still be inside an operation when the rollback goes
    // out; what it sends next would run outside any transaction, so it is refused instead.
    if (!transaction.open) return Promise.reject(new Error("the transaction has already ended"))
    return run(transaction.client, statement)
  }
})

/**
 * The key of the append lock, a transaction-level advisory lock: a transaction takes it before its
 * first append and holds it until it commits or rolls back, so appending transactions commit one after
 * the other, in the order of their global positions (docs/persistence.md#postgresql). The number is
 * "mmgw-evt" in ASCII: any constant would do, as long as every writer of the database uses this one.
 */
export const APPEND_LOCK_KEY = "7885072284155999860"
const TAKE_APPEND_LOCK = `SELECT pg_advisory_xact_lock(${APPEND_LOCK_KEY})`

/** Connections that have an `error` listener of their own (one each, however often they are checked out). */
const listened = new WeakSet<pg.PoolClient>()

/**
 * A connection the server ends while it is checked out (a transaction past its idle timeout, an
 * administrator's `pg_terminate_backend`) emits `error`; the pool listens only to idle ones, and an
 * `error` nobody listens to would end the process. The statement waiting on it fails, and so the
 * transaction's end: the connection is then closed, not reused.
 */
const listen = (client: pg.PoolClient): void => {
  if (listened.has(client)) return
  listened.add(client)
  client.on("error", () => {})
}

/** Opens a transaction on a connection of the pool, taking the append lock in the same round trip if asked. */
export const begin = async (pool: pg.Pool, options: { readonly appendLock: boolean }): Promise<Transaction> => {
  const client = await pool.connect()
  listen(client)
  try {
    await client.query(options.appendLock ? `BEGIN; ${TAKE_APPEND_LOCK}` : "BEGIN")
  } catch (error) {
    client.release(toError(error))
    throw error
  }
  return { client, holdsAppendLock: options.appendLock, open: true }
}

/** Takes the append lock for the session's transaction, unless it holds it already. */
export const holdAppendLock = async (session: Session): Promise<void> => {
  const transaction = session.transaction
  if (transaction === null) throw new Error("the append lock is only taken inside a transaction")
  if (transaction.holdsAppendLock) return
  await session.query({ text: TAKE_APPEND_LOCK })
  transaction.holdsAppendLock = true
}

const toError = (error: unknown): Error => (error instanceof Error ? error : new Error(String(error)))

/**
 * Ends the transaction and gives the connection back; a connection whose commit or rollback failed
 * is closed rather than reused, since its state is not known.
 */
const end = async (transaction: Transaction, how: "COMMIT" | "ROLLBACK"): Promise<void> => {
  transaction.open = false
  try {
    await transaction.client.query(how)
  } catch (error) {
    transaction.client.release(toError(error))
    throw error
  }
  transaction.client.release()
}

export const commit = (transaction: Transaction): Promise<void> => end(transaction, "COMMIT")
export const rollback = (transaction: Transaction): Promise<void> => end(transaction, "ROLLBACK")

/**
 * Runs `f` in the unit of work's transaction when the fiber is in one; otherwise each statement runs
 * on any connection of the pool, in a transaction of its own. For what is one statement: a read, or a
 * write that needs no other.
 */
export const statements = <A>(db: Database, f: (session: Session) => Promise<A>): Effect.Effect<A> =>
  Effect.flatMap(FiberRef.get(db.current), (transaction) =>
    Effect.promise(() => f(transaction === null ? { transaction: null, query: (statement) => run(db.pool, statement) } : transactionSession(transaction))))

/**
 * Runs `f` in the unit of work's transaction when the fiber is in one (it commits or rolls back with
 * it); otherwise in a transaction of its own on one connection, committed when `f` resolves and
 * rolled back when it rejects. `appendLock`: `f` appends, so a transaction of its own takes the append
 * lock with its `BEGIN` (inside a unit of work, `f` takes it with `holdAppendLock`).
 */
export const inTransaction = <A>(
  db: Database,
  f: (session: Session) => Promise<A>,
  options: { readonly appendLock: boolean } = { appendLock: false }
): Effect.Effect<A> =>
  Effect.flatMap(FiberRef.get(db.current), (transaction) =>
    Effect.promise(async () => {
      if (transaction !== null) return f(transactionSession(transaction))
      const own = await begin(db.pool, options)
      let result: A
      try {
        result = await f(transactionSession(own))
      } catch (error) {
        await rollback(own)
        throw error
      }
      await commit(own)
      return result
    }))
