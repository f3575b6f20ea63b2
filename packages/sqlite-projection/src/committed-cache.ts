import { type Database, transactionLocal } from "./connection.js"

/**
 * A bounded in-memory cache (least recently used out) of values derived from committed rows. What a
 * transaction puts in is staged with it, seen by its later reads, and kept only once it has committed;
 * a rollback drops it, and nothing is kept from a transaction `immediate` did not open. Users check
 * what they get against the table (a version), since other connections write too.
 */
export interface CommittedCache<V> {
  readonly get: (key: string) => V | undefined
  /** Only what the transaction in progress has put in (what it read or wrote itself, under its write lock). */
  readonly staged: (key: string) => V | undefined
  readonly remember: (key: string, value: V) => void
}

export const makeCommittedCache = <V>(db: Database, size: number): CommittedCache<V> => {
  const entries = new Map<string, V>()
  // Each cache stages under its own key in the transaction's memory.
  const stagingKey = {}
  const keep = (key: string, value: V) => {
    entries.delete(key)
    entries.set(key, value)
    if (entries.size > size) entries.delete(entries.keys().next().value!)
  }
  const stagedInTx = (): Map<string, V> | null =>
    transactionLocal(db, stagingKey, (tx) => {
      const created = new Map<string, V>()
      tx.afterCommit.push(() => created.forEach((value, key) => keep(key, value)))
      return created
    })
  return {
    get: (key) => {
      const inTx = stagedInTx()?.get(key)
      if (inTx !== undefined) return inTx
      const value = entries.get(key)
      if (value !== undefined) keep(key, value)
      return value
    },
    staged: (key) => stagedInTx()?.get(key),
    remember: (key, value) => {
      const inTx = stagedInTx()
      if (inTx !== null) inTx.set(key, value)
      else if (!db.inTransaction) keep(key, value)
    }
  }
}
