import { type EventStore, Streams } from "@mm-gateway/domain"
import type { Database } from "./connection.js"
import type { EventRow } from "./event-log.js"
import { prepared, type Projection } from "./projection.js"

interface SnapshotRow {
  readonly version: number
  readonly schema: number
  readonly state: string
}

export const readSnapshotRow = (db: Database, streamId: string): SnapshotRow | undefined =>
  prepared(db, "SELECT version, schema, state FROM snapshots WHERE stream_id = ?").get(streamId) as SnapshotRow | undefined

/**
 * The snapshots of shape `schema` of several streams and the events after each (all of a stream's
 * events when it has none of that shape), in two statements whatever their number; by stream id,
 * streams with neither left out.
 */
export const readSnapshotRows = (
  db: Database,
  streamIds: ReadonlyArray<string>,
  schema: number
): Map<string, { snapshot: { readonly state: unknown; readonly version: number } | null; readonly events: Array<EventRow> }> => {
  const ids = JSON.stringify(streamIds)
  const out = new Map<string, { snapshot: { readonly state: unknown; readonly version: number } | null; readonly events: Array<EventRow> }>()
  const snapshots = prepared(db, "SELECT stream_id, version, state FROM snapshots WHERE stream_id IN (SELECT value FROM json_each(?)) AND schema = ?")
    .all(ids, schema) as Array<{ stream_id: string; version: number; state: string }>
  for (const row of snapshots) out.set(row.stream_id, { snapshot: { state: JSON.parse(row.state) as unknown, version: row.version }, events: [] })
  const events = prepared(
    db,
    `SELECT e.* FROM json_each(?) AS j JOIN events AS e ON e.stream_id = j.value
       AND e.version > COALESCE((SELECT s.version FROM snapshots AS s WHERE s.stream_id = j.value AND s.schema = ?), 0)
     ORDER BY j.key, e.version`
  ).all(ids, schema) as Array<EventRow>
  for (const row of events) {
    const entry = out.get(row.stream_id)
    if (entry === undefined) out.set(row.stream_id, { snapshot: null, events: [row] })
    else entry.events.push(row)
  }
  return out
}

/** Stores a snapshot; `json` is its state as JSON, when the caller has it already. */
export const writeSnapshot = (db: Database, streamId: string, version: number, snapshot: EventStore.Snapshot, json = JSON.stringify(snapshot.state)): void => {
  prepared(
    db,
    `INSERT INTO snapshots (stream_id, version, schema, state) VALUES (?, ?, ?, ?)
     ON CONFLICT (stream_id) DO UPDATE SET version = excluded.version, schema = excluded.schema, state = excluded.state`
  ).run(streamId, version, snapshot.schema, json)
}

const kindOf = (streamId: string) => {
  const category = Streams.categoryOf(streamId)
  return Object.hasOwn(Streams.streamKinds, category) ? Streams.streamKinds[category as keyof typeof Streams.streamKinds] : undefined
}

/**
 * The snapshots as a projection, for the rebuild command: every stream's state folded from the log,
 * as the command handler would have stored it. Appends write their snapshot themselves (the handler
 * holds the state), so this projection is not kept inline.
 */
export const snapshotsProjection: Projection = {
  name: "snapshots",
  tables: ["snapshots"],
  checkpointed: false,
  apply: (db, events) => {
    const touched = new Map<string, { version: number; schema: number; state: unknown }>()
    for (const stored of events) {
      const kind = kindOf(stored.streamId)
      if (kind === undefined) continue
      let entry = touched.get(stored.streamId)
      if (entry === undefined) {
        const row = readSnapshotRow(db, stored.streamId)
        entry = row !== undefined && row.schema === kind.snapshotSchema
          ? { version: row.version, schema: row.schema, state: JSON.parse(row.state) as unknown }
          : { version: 0, schema: kind.snapshotSchema, state: kind.decider.initialState() }
        touched.set(stored.streamId, entry)
      }
      if (stored.version <= entry.version) continue
      entry.state = (kind.decider.evolve as (state: unknown, event: unknown) => unknown)(entry.state, stored.event)
      entry.version = stored.version
    }
    for (const [streamId, entry] of touched) {
      if (entry.version > 0) writeSnapshot(db, streamId, entry.version, { state: entry.state, schema: entry.schema })
    }
  }
}
