import { Streams } from "@mm-gateway/domain"
import type { Session } from "./connection.js"
import type { EventRow } from "./event-log.js"
import { type Projection, replaceOnConflict, Rows, writeRows } from "./projection.js"

/**
 * A stream's snapshot of shape `schema` and its events after it, in one statement, so both come from
 * the same moment of the log. The snapshot, if there is one, is the first row (`snapshot` true, its
 * state in `data`); the events follow in order. A snapshot of another shape is not read: then every
 * event of the stream comes back.
 */
const READ_SNAPSHOT = `WITH s AS (SELECT version, state FROM snapshots WHERE stream_id = $1 AND schema = $2)
  SELECT true AS snapshot, NULL::bigint AS global_position, $1 AS stream_id, version, NULL::text AS type,
    NULL::int AS schema_version, state AS data, NULL::bigint AS recorded_at
  FROM s
  UNION ALL
  SELECT false, global_position, stream_id, version, type, schema_version, data, recorded_at
  FROM events WHERE stream_id = $1 AND version > COALESCE((SELECT version FROM s), 0)
  ORDER BY snapshot DESC, version`

export interface SnapshotRows {
  readonly snapshot: { readonly state: unknown; readonly version: number } | null
  readonly events: ReadonlyArray<EventRow>
}

export const readSnapshotRows = async (session: Session, streamId: string, schema: number): Promise<SnapshotRows> => {
  const rows = await session.query<EventRow & { snapshot: boolean }>({ name: "mmgw_read_snapshot", text: READ_SNAPSHOT, values: [streamId, schema] })
  const first = rows[0]
  return first?.snapshot === true
    ? { snapshot: { state: first.data, version: first.version }, events: rows.slice(1) }
    : { snapshot: null, events: rows }
}

/** `READ_SNAPSHOT` for several streams: the snapshot rows first, then the events, each stream's in order. */
const READ_SNAPSHOTS = `WITH ids AS (SELECT id FROM unnest($1::text[]) AS i(id)),
  s AS (SELECT snapshots.stream_id, version, state FROM snapshots JOIN ids ON snapshots.stream_id = ids.id WHERE schema = $2)
  SELECT true AS snapshot, NULL::bigint AS global_position, stream_id, version, NULL::text AS type,
    NULL::int AS schema_version, state AS data, NULL::bigint AS recorded_at
  FROM s
  UNION ALL
  SELECT false, e.global_position, e.stream_id, e.version, e.type, e.schema_version, e.data, e.recorded_at
  FROM ids JOIN events AS e ON e.stream_id = ids.id
    AND e.version > COALESCE((SELECT version FROM s WHERE s.stream_id = ids.id), 0)
  ORDER BY snapshot DESC, stream_id, version`

/** The snapshots of shape `schema` of several streams and the events after each, in one statement; by stream id, those with neither left out. */
export const readSnapshotsRows = async (session: Session, streamIds: ReadonlyArray<string>, schema: number): Promise<Map<string, SnapshotRows>> => {
  const rows = await session.query<EventRow & { snapshot: boolean }>({ name: "mmgw_read_snapshots", text: READ_SNAPSHOTS, values: [streamIds, schema] })
  const out = new Map<string, { snapshot: SnapshotRows["snapshot"]; events: Array<EventRow> }>()
  for (const row of rows) {
    if (row.snapshot) {
      out.set(row.stream_id, { snapshot: { state: row.data, version: row.version }, events: [] })
      continue
    }
    const entry = out.get(row.stream_id)
    if (entry === undefined) out.set(row.stream_id, { snapshot: null, events: [row] })
    else entry.events.push(row)
  }
  return out
}

const kindOf = (streamId: string) => {
  const category = Streams.categoryOf(streamId)
  return Object.hasOwn(Streams.streamKinds, category) ? Streams.streamKinds[category as keyof typeof Streams.streamKinds] : undefined
}

interface SnapshotRow {
  readonly stream_id: string
  readonly version: number
  readonly schema: number
  readonly state: unknown
}

/**
 * The snapshots as a projection, for the rebuild: every stream's state folded from the log, as the
 * command handler would have stored it. Appends write their snapshot themselves (the handler holds the
 * state), so this one is applied only by a rebuild, and only a newer version replaces a stored one.
 */
export const snapshotsProjection: Projection = {
  name: "snapshots",
  tables: ["snapshots"],
  apply: async (session, events) => {
    const own = events.filter((e) => kindOf(e.streamId) !== undefined)
    if (own.length === 0) return
    const rows = new Rows<SnapshotRow>(async (ids) =>
      (await session.query<SnapshotRow>({
        name: "mmgw_snapshot_rows",
        text: "SELECT stream_id, version, schema, state FROM snapshots WHERE stream_id = ANY($1::text[])",
        values: [ids]
      })).map((r) => [r.stream_id, r] as const)
    )
    await rows.prefetch(own.map((e) => e.streamId))
    for (const stored of own) {
      const kind = kindOf(stored.streamId)!
      const found = await rows.get(stored.streamId)
      // A snapshot of another shape is folded afresh, as the command handler would.
      const row = found !== null && found.schema === kind.snapshotSchema
        ? found
        : { stream_id: stored.streamId, version: 0, schema: kind.snapshotSchema, state: kind.decider.initialState() }
      if (stored.version <= row.version) continue
      rows.set(stored.streamId, {
        stream_id: stored.streamId,
        version: stored.version,
        schema: row.schema,
        state: (kind.decider.evolve as (state: unknown, event: unknown) => unknown)(row.state, stored.event)
      })
    }
    await writeRows(session, {
      name: "mmgw_snapshot_write",
      table: "snapshots",
      upsert: replaceOnConflict(["stream_id"], ["stream_id", "version", "schema", "state"], "snapshots.version < excluded.version OR snapshots.schema <> excluded.schema")
    }, rows.changed() as unknown as ReadonlyArray<Record<string, unknown>>)
  }
}
