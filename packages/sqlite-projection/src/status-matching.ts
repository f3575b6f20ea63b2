import { type Ids, StatusReports } from "@mm-gateway/domain"
import { Effect, Layer } from "effect"
import { type Database, gated } from "./connection.js"
import { SqliteDatabase } from "./database.js"
import { prepared } from "./projection.js"
import { makeParkedStatuses, type ParkedStatusRecord } from "./parked-statuses.js"

interface CandidateRow {
  readonly id: string
  readonly channel: string
  readonly wamid: string | null
}

const parkedStatus = (r: ParkedStatusRecord): StatusReports.ParkedStatus => ({
  id: r.id,
  channel: r.channel,
  observation: r.observation,
  receivedAt: r.receivedAt,
  retryAt: r.retryAt
})

const candidate = (r: CandidateRow): StatusReports.MessageCandidate => ({ messageId: r.id as Ids.MessageId, channel: r.channel, wamid: r.wamid })

/**
 * The domain's `StatusMatching` port on the main database: look-ups on indexed columns of the
 * `messages` read model (no stored state is parsed on this path, which runs for every status webhook) and
 * the `parked_statuses` table, inside the unit of work of the webhook being applied.
 */
export const makeStatusMatching = (db: Database) => {
  const parked = makeParkedStatuses(db)
  return StatusReports.StatusMatching.of({
    byWamids: (wamids) =>
      Effect.sync(() => {
        // Ordered here rather than by a temporary B-tree in SQLite; one wamid has its own statement.
        const rows = (wamids.length === 1
          ? prepared(db, "SELECT id, channel, wamid FROM messages WHERE wamid = ?").all(wamids[0])
          : wamids.length === 0
          ? []
          : prepared(db, "SELECT id, channel, wamid FROM messages WHERE wamid IN (SELECT value FROM json_each(?))").all(JSON.stringify(wamids))) as Array<
            CandidateRow
          >
        if (rows.length > 1) rows.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
        return rows.map(candidate)
      }),
    byId: (messageId) =>
      Effect.sync(() => {
        const row = prepared(db, "SELECT id, channel, wamid FROM messages WHERE id = ?").get(messageId) as CandidateRow | undefined
        return row === undefined ? null : candidate(row)
      }),
    awaitingWamid: (channel, recipient, from, to) =>
      Effect.sync(() =>
        (prepared(
          db,
          `SELECT id, channel, wamid FROM messages
           WHERE channel = ? AND recipient = ? AND accepted_at BETWEEN ? AND ? AND wamid IS NULL
             AND phase IN ('InFlight', 'OutcomeUnknown', 'DispatchUnknown')
           ORDER BY accepted_at, id`
        ).all(channel, recipient, from, to) as Array<CandidateRow>).map(candidate)
      ),
    park: (status) => parked.park(status),
    parkedFor: (wamids) => Effect.map(parked.forWamids(wamids), (rows) => rows.map(parkedStatus)),
    dueParked: (now, limit) => Effect.map(parked.due(now, limit), (rows) => rows.map(parkedStatus)),
    retryParkedAt: (id, retryAt) => parked.retryAt(id, retryAt),
    dropParked: (receivedBefore) => parked.dropBefore(receivedBefore),
    unpark: (ids) => parked.resolve(ids)
  })
}

export const layerStatusMatching: Layer.Layer<StatusReports.StatusMatching, never, SqliteDatabase> = Layer.effect(
  StatusReports.StatusMatching,
  Effect.map(SqliteDatabase, ({ db }) => gated(db, makeStatusMatching(db)))
)
