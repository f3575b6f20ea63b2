/**
 * What a unit of work must be able to take back. Every change to the store's state goes through a
 * `Table` or a `Cell`, which tell the journal how to undo it while a transaction is open; a rollback
 * undoes them newest first, a commit forgets them.
 */
export class Journal {
  private undo: Array<() => void> | null = null

  record(undo: () => void): void {
    this.undo?.push(undo)
  }

  begin(): void {
    this.undo = []
  }

  commit(): void {
    this.undo = null
  }

  rollback(): void {
    const undo = this.undo ?? []
    this.undo = null
    for (let i = undo.length - 1; i >= 0; i--) undo[i]!()
  }
}

/** A map whose changes the journal can take back. */
export class Table<K, V> {
  private readonly rows = new Map<K, V>()
  constructor(private readonly journal: Journal) {}

  get(key: K): V | undefined {
    return this.rows.get(key)
  }

  has(key: K): boolean {
    return this.rows.has(key)
  }

  set(key: K, value: V): void {
    const had = this.rows.has(key)
    const before = this.rows.get(key)
    this.journal.record(() => (had ? this.rows.set(key, before as V) : this.rows.delete(key)))
    this.rows.set(key, value)
  }

  delete(key: K): void {
    if (!this.rows.has(key)) return
    const before = this.rows.get(key) as V
    this.journal.record(() => this.rows.set(key, before))
    this.rows.delete(key)
  }

  values(): IterableIterator<V> {
    return this.rows.values()
  }

  keys(): IterableIterator<K> {
    return this.rows.keys()
  }
}

/** One value whose changes the journal can take back. */
export class Cell<V> {
  constructor(private readonly journal: Journal, private value: V) {}

  get(): V {
    return this.value
  }

  set(value: V): void {
    const before = this.value
    this.journal.record(() => {
      this.value = before
    })
    this.value = value
  }
}

/** Sorts by a key of strings and numbers, compared in order (a keyset, as the pages' cursors are). */
export const byKey = <A>(key: (a: A) => ReadonlyArray<string | number>) => (a: A, b: A): number => {
  const ka = key(a)
  const kb = key(b)
  for (let i = 0; i < ka.length; i++) if (ka[i] !== kb[i]) return ka[i]! < kb[i]! ? -1 : 1
  return 0
}

/** Whether keyset `a` comes after keyset `b`. */
export const after = (a: ReadonlyArray<string | number>, b: ReadonlyArray<string | number>): boolean =>
  byKey((k: ReadonlyArray<string | number>) => k)(a, b) > 0
