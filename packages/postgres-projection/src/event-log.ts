/**
 * The event table itself: appends with an expected version, and reads, on encoded events, which
 * `decodeRow` turns into the domain's stored events.
 */
import { EventStore, Events } from "@mm-gateway/domain"
import { holdAppendLock, type Session } from "./connection.js"

export interface EncodedRecord {
  readonly type: string
  readonly schemaVersion: number
  readonly data: unknown
}

/** A row of `events` as the driver gives it: `bigint` columns arrive as strings. */
export interface EventRow {
  readonly global_position: string
  readonly stream_id: string
  readonly version: number
  readonly type: string
  readonly schema_version: number
  readonly data: unknown
  readonly recorded_at: string
}

/** A row as the domain's stored event: its data decoded (upcast) with the domain's `decodeStoredEvent`. */
export const decodeRow = (row: EventRow): EventStore.StoredEvent => ({
  streamId: row.stream_id,
  version: row.version,
  globalPosition: Number(row.global_position),
  event: Events.decodeStoredEvent({ type: row.type, schemaVersion: row.schema_version, data: row.data }),
  recordedAt: Number(row.recorded_at)
})

export type AppendOutcome =
  | {
    readonly _tag: "Appended"
    readonly nextVersion: number
    /** Positions of the appended events, in order (empty when nothing was appended). */
    readonly positions: ReadonlyArray<number>
    /** Whether the read models' checkpoint moved past them with them (it was right behind). */
    readonly followed: boolean
  }
  | { readonly _tag: "Conflict"; readonly actual: number }

const COLUMNS = "global_position, stream_id, version, type, schema_version, data, recorded_at"

export const streamVersion = async (session: Session, streamId: string): Promise<number> => {
  const rows = await session.query<{ v: number }>({
    name: "mmgw_stream_version",
    text: "SELECT COALESCE(MAX(version), 0)::int AS v FROM events WHERE stream_id = $1",
    values: [streamId]
  })
  return rows[0]?.v ?? 0
}

/**
 * The stream's version, and whether it satisfies the expected one (`$6` the rule — `any`,
 * `no_stream`, `stream_exists` or `exact` — and `$7` the exact version): read in the append's own
 * statement, under the append lock, so it is still the stream's when the events go in.
 */
const CURRENT = `current AS (
    SELECT v, CASE $6::text WHEN 'any' THEN true WHEN 'no_stream' THEN v = 0 WHEN 'stream_exists' THEN v > 0 ELSE v = $7::int END AS ok
    FROM (SELECT COALESCE(MAX(version), 0)::int AS v FROM events WHERE stream_id = $1) AS m
  )`

/**
 * The events, when the version satisfies the expected one, numbered from it in their order. `ORDER
 * BY` feeds the rows to the insert in order, so their positions rise with their versions.
 */
const INSERT_EVENTS = `INSERT INTO events (stream_id, version, type, schema_version, data, recorded_at)
  SELECT $1, c.v + e.n, e.type, e.schema_version, e.data::json, $5
  FROM current AS c, unnest($2::text[], $3::int[], $4::text[]) WITH ORDINALITY AS e(type, schema_version, data, n)
  WHERE c.ok
  ORDER BY e.n
  RETURNING global_position, version`

/** The read models' checkpoint (one for all of them, docs/persistence.md#postgresql). */
export const READ_MODELS_CHECKPOINT = "read_models"

/**
 * The read models' checkpoint moved past the new events when it is right behind them (no event
 * between it and the first new one): the inline projection's usual case, done in the append's
 * statement. The other sub-statements' rows are not visible to it, so `events` here is the log
 * before this append, as the condition needs.
 */
const FOLLOW = `follow AS (
    UPDATE projection_checkpoints SET position = (SELECT MAX(global_position) FROM appended)
    WHERE name = '${READ_MODELS_CHECKPOINT}' AND EXISTS (SELECT 1 FROM appended)
      AND NOT EXISTS (SELECT 1 FROM events WHERE global_position > projection_checkpoints.position
        AND global_position < (SELECT MIN(global_position) FROM appended))
    RETURNING 1
  )`

/**
 * One row per event appended, or one row without a position when the version did not satisfy: with
 * the version found, and whether the checkpoint followed.
 */
const OUTCOME = `SELECT c.v AS actual, a.global_position, EXISTS (SELECT 1 FROM follow) AS followed
  FROM current AS c LEFT JOIN appended AS a ON true ORDER BY a.version`

const APPEND = `WITH ${CURRENT}, appended AS (${INSERT_EVENTS}), ${FOLLOW}
  ${OUTCOME}`

/** The same, with the stream's snapshot (the state after the events) stored beside them. */
const APPEND_WITH_SNAPSHOT = `WITH ${CURRENT}, appended AS (${INSERT_EVENTS}), ${FOLLOW},
  snapshot AS (
    INSERT INTO snapshots (stream_id, version, schema, state)
    SELECT $1, c.v + cardinality($2::text[]), $8, $9::json FROM current AS c WHERE c.ok
    ON CONFLICT (stream_id) DO UPDATE SET version = excluded.version, schema = excluded.schema, state = excluded.state
  )
  ${OUTCOME}`

/**
 * Checks the expected version and inserts, in one statement of the session's transaction, after
 * taking the append lock: no other transaction appends until this one has ended, so positions are
 * committed in their order.
 */
export const appendEncoded = async (
  session: Session,
  streamId: string,
  expected: EventStore.ExpectedVersion,
  events: ReadonlyArray<EncodedRecord>,
  recordedAt: number,
  snapshot?: EventStore.Snapshot
): Promise<AppendOutcome> => {
  if (events.length === 0) {
    const actual = await streamVersion(session, streamId)
    return EventStore.satisfies(expected, actual) ? { _tag: "Appended", nextVersion: actual, positions: [], followed: false } : { _tag: "Conflict", actual }
  }
  await holdAppendLock(session)
  const values: Array<unknown> = [
    streamId,
    events.map((e) => e.type),
    events.map((e) => e.schemaVersion),
    events.map((e) => JSON.stringify(e.data)),
    recordedAt,
    typeof expected === "number" ? "exact" : expected,
    typeof expected === "number" ? expected : null
  ]
  const rows = await session.query<{ actual: number; global_position: string | null; followed: boolean }>(
    snapshot === undefined
      ? { name: "mmgw_append", text: APPEND, values }
      : { name: "mmgw_append_with_snapshot", text: APPEND_WITH_SNAPSHOT, values: [...values, snapshot.schema, JSON.stringify(snapshot.state)] }
  )
  const actual = rows[0]?.actual ?? 0
  if (rows[0]?.global_position == null) return { _tag: "Conflict", actual }
  return { _tag: "Appended", nextVersion: actual + events.length, positions: rows.map((r) => Number(r.global_position)), followed: rows[0].followed }
}

/** The events of a stream after `afterVersion` (0: all of them), in order. */
export const readStreamRows = (session: Session, streamId: string, afterVersion = 0): Promise<ReadonlyArray<EventRow>> =>
  session.query<EventRow>({
    name: "mmgw_read_stream",
    text: `SELECT ${COLUMNS} FROM events WHERE stream_id = $1 AND version > $2 ORDER BY version`,
    values: [streamId, afterVersion]
  })

/** Events with `global_position > after`, in order, at most `limit` of them. */
export const readAllRows = async (session: Session, after: number, limit: number): Promise<ReadonlyArray<EventRow>> =>
  limit <= 0 ? [] : session.query<EventRow>({
    name: "mmgw_read_all",
    text: `SELECT ${COLUMNS} FROM events WHERE global_position > $1 ORDER BY global_position LIMIT $2`,
    values: [Math.floor(after), Math.floor(limit)]
  })

/** One stream's part of `appendManyEncoded`. */
export interface EncodedAppend {
  readonly streamId: string
  readonly expected: EventStore.ExpectedVersion
  readonly events: ReadonlyArray<EncodedRecord>
  readonly snapshot?: EventStore.Snapshot
}

export type ManyOutcome =
  | {
    readonly _tag: "Appended"
    /** Each stream's version before its events, in the order of the appends. */
    readonly actuals: ReadonlyArray<number>
    /** Positions of the appended events, in the order given (the appends', then each one's events). */
    readonly positions: ReadonlyArray<number>
    readonly followed: boolean
  }
  | { readonly _tag: "Conflict"; readonly conflict: EventStore.VersionConflict }

const VERSIONS = `SELECT (SELECT COALESCE(MAX(version), 0)::int FROM events WHERE stream_id = s.id) AS v
  FROM unnest($1::text[]) WITH ORDINALITY AS s(id, n) ORDER BY s.n`

/** Every stream's events in one insert, their snapshots in one upsert, and the checkpoint followed, in one statement. */
const APPEND_MANY = `WITH appended AS (
    INSERT INTO events (stream_id, version, type, schema_version, data, recorded_at)
    SELECT e.stream_id, e.version, e.type, e.schema_version, e.data::json, $6
    FROM unnest($1::text[], $2::int[], $3::text[], $4::int[], $5::text[]) WITH ORDINALITY AS e(stream_id, version, type, schema_version, data, n)
    ORDER BY e.n
    RETURNING global_position
  ), ${FOLLOW},
  snapshot AS (
    INSERT INTO snapshots (stream_id, version, schema, state)
    SELECT s.stream_id, s.version, s.schema, s.state::json FROM unnest($7::text[], $8::int[], $9::int[], $10::text[]) AS s(stream_id, version, schema, state)
    ON CONFLICT (stream_id) DO UPDATE SET version = excluded.version, schema = excluded.schema, state = excluded.state
  )
  SELECT a.global_position, EXISTS (SELECT 1 FROM follow) AS followed FROM appended AS a ORDER BY a.global_position`

/**
 * `appendEncoded` for several streams (each at most once), in the session's transaction under the
 * append lock: every stream's version read in one statement and checked, then every event and
 * snapshot written in another — nothing when one stream does not satisfy its expected version.
 */
export const appendManyEncoded = async (session: Session, appends: ReadonlyArray<EncodedAppend>, recordedAt: number): Promise<ManyOutcome> => {
  await holdAppendLock(session)
  const versions = await session.query<{ v: number }>({ name: "mmgw_stream_versions", text: VERSIONS, values: [appends.map((a) => a.streamId)] })
  const actuals = versions.map((r) => r.v)
  const conflict = EventStore.conflictAmong(appends, actuals)
  if (conflict !== null) return { _tag: "Conflict", conflict }
  const streamIds: Array<string> = []
  const eventVersions: Array<number> = []
  const types: Array<string> = []
  const schemaVersions: Array<number> = []
  const data: Array<string> = []
  const snapshots: [Array<string>, Array<number>, Array<number>, Array<string>] = [[], [], [], []]
  appends.forEach((a, i) => {
    a.events.forEach((e, k) => {
      streamIds.push(a.streamId)
      eventVersions.push(actuals[i]! + k + 1)
      types.push(e.type)
      schemaVersions.push(e.schemaVersion)
      data.push(JSON.stringify(e.data))
    })
    if (a.snapshot !== undefined && a.events.length > 0) {
      snapshots[0].push(a.streamId)
      snapshots[1].push(actuals[i]! + a.events.length)
      snapshots[2].push(a.snapshot.schema)
      snapshots[3].push(JSON.stringify(a.snapshot.state))
    }
  })
  const rows = await session.query<{ global_position: string; followed: boolean }>({
    name: "mmgw_append_many",
    text: APPEND_MANY,
    values: [streamIds, eventVersions, types, schemaVersions, data, recordedAt, ...snapshots]
  })
  return { _tag: "Appended", actuals, positions: rows.map((r) => Number(r.global_position)), followed: rows[0]?.followed ?? false }
}
