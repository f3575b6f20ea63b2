import type { Session } from "./connection.js"
import type { EventRow } from "./event-log.js"

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
