/**
 * What a read model is to the store: a projection fed by the event log, inside the transaction of the
 * append (inline) or of a runner's batch, holding the append lock (docs/persistence.md#postgresql).
 */
import type { EventStore } from "@mm-gateway/domain"
import type { Session } from "./connection.js"

/**
 * A read model fed by the log. `apply` takes consecutive events in log order (one append's, or a
 * runner's batch) and must be idempotent: its rows remember the stream version they reflect and skip
 * what they have seen, so applying an event twice equals once. It touches the database only when some
 * of the events are its own, and writes each row it changed once per call.
 */
export interface Projection {
  readonly name: string
  /** The tables it owns: a rebuild clears them. */
  readonly tables: ReadonlyArray<string>
  readonly apply: (session: Session, events: ReadonlyArray<EventStore.StoredEvent>, after?: StatesAfter) => Promise<void>
}

/**
 * The states of the streams an append wrote, after its events, by stream id: the command handler
 * folded them (they are the snapshots the append stores). A projection whose row is a function of a
 * stream's state writes the row from it without reading it back. A runner's batch has none.
 */
export type StatesAfter = ReadonlyMap<string, unknown>

/**
 * The rows a projection reads and writes during one `apply`: loaded once (many keys in one statement),
 * changed in memory event after event, and written together at the end.
 */
export class Rows<R> {
  private readonly rows = new Map<string, R | null>()
  private readonly dirty = new Set<string>()

  constructor(private readonly load: (keys: ReadonlyArray<string>) => Promise<ReadonlyArray<readonly [string, R]>>) {}

  /** Loads the rows of the keys not loaded yet, in one statement. */
  async prefetch(keys: Iterable<string>): Promise<void> {
    const missing = [...new Set(keys)].filter((k) => !this.rows.has(k))
    if (missing.length === 0) return
    for (const k of missing) this.rows.set(k, null)
    for (const [k, row] of await this.load(missing)) this.rows.set(k, row)
  }

  async get(key: string): Promise<R | null> {
    await this.prefetch([key])
    return this.rows.get(key) ?? null
  }

  set(key: string, row: R): void {
    this.rows.set(key, row)
    this.dirty.add(key)
  }

  /** Every row loaded or written so far (a loaded key without a row is left out). */
  loaded(): ReadonlyArray<readonly [string, R]> {
    return [...this.rows].flatMap(([k, r]) => (r === null ? [] : [[k, r] as const]))
  }

  changed(): ReadonlyArray<R> {
    return [...this.dirty].map((k) => this.rows.get(k)!)
  }
}

/**
 * Writes rows given as objects keyed by column (every column of the table), in one statement:
 * `json_populate_recordset` turns them into rows of the table's type. `upsert` is what to do with a row
 * whose key is there already (`ON CONFLICT …`).
 */
export interface RowsStatement {
  readonly name: string
  readonly table: string
  readonly upsert: string
}

const insertRows = (statement: RowsStatement, parameter: number) =>
  `INSERT INTO ${statement.table} SELECT * FROM json_populate_recordset(NULL::${statement.table}, $${parameter}::json) ${statement.upsert}`

export const writeRows = async (session: Session, statement: RowsStatement, rows: ReadonlyArray<Record<string, unknown>>): Promise<void> => {
  if (rows.length === 0) return
  await session.query({ name: statement.name, text: insertRows(statement, 1), values: [JSON.stringify(rows)] })
}

/**
 * `writeRows` into several tables in one statement (one round trip), each set of rows that is not
 * empty a sub-statement of its own. The tables must differ: one statement cannot write a row twice.
 */
export const writeRowsTogether = async (
  session: Session,
  writes: ReadonlyArray<readonly [RowsStatement, ReadonlyArray<Record<string, unknown>>]>
): Promise<void> => {
  const present = writes.filter(([, rows]) => rows.length > 0)
  if (present.length <= 1) {
    for (const [statement, rows] of present) await writeRows(session, statement, rows)
    return
  }
  await session.query({
    name: present.map(([statement]) => statement.name).join("+"),
    text: `WITH ${present.map(([statement], i) => `w${i} AS (${insertRows(statement, i + 1)})`).join(", ")} SELECT 1`,
    values: present.map(([, rows]) => JSON.stringify(rows))
  })
}

/** `ON CONFLICT (key) DO UPDATE SET` every other column to the new row's value, optionally only `WHERE` a condition holds. */
export const replaceOnConflict = (key: ReadonlyArray<string>, columns: ReadonlyArray<string>, where?: string): string =>
  `ON CONFLICT (${key.join(", ")}) DO UPDATE SET ${
    columns.filter((c) => !key.includes(c)).map((c) => `${c} = excluded.${c}`).join(", ")
  }${where === undefined ? "" : ` WHERE ${where}`}`

/** A `bigint` column as the driver gives it (a string), or null. */
export const num = (value: string | number | null): number | null => (value === null ? null : Number(value))
