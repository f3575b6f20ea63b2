import { type Status, StatusReports } from "@mm-gateway/domain"
import { clampLimit } from "@mm-gateway/ports"
import { Effect, Layer } from "effect"
import { type Database, PostgresDatabase, statements } from "./connection.js"
import { makeMessageCandidates } from "./read-models/messages.js"

interface ParkedRow {
  readonly id: string
  readonly channel: string
  readonly observation: Status.StatusObservation
  readonly received_at: string
  readonly retry_at: string | null
}

const parked = (r: ParkedRow): StatusReports.ParkedStatus => ({
  id: Number(r.id),
  channel: r.channel,
  observation: r.observation,
  receivedAt: Number(r.received_at),
  retryAt: r.retry_at === null ? null : Number(r.retry_at)
})

/**
 * The domain's `StatusMatching` port on PostgreSQL: look-ups on indexed columns of the `messages` read
 * model, and the statuses whose message is not known yet in `parked_statuses` (worker state, not a read
 * model). Inside a unit of work (the worker applies a webhook in one) every statement runs in its
 * transaction, so what it parks and unparks commits or rolls back with the statuses it applied.
 */
export const makeStatusMatching = (db: Database) => {
  const candidates = makeMessageCandidates(db)
  return StatusReports.StatusMatching.of({
    ...candidates,
    park: (status) =>
      Effect.asVoid(statements(db, (session) =>
        session.query({
          name: "mmgw_park",
          text: `INSERT INTO parked_statuses (dedupe_key, wamid, channel, recipient, observation, received_at, retry_at)
            VALUES ($1, $2, $3, $4, $5::json, $6, $7) ON CONFLICT (dedupe_key) DO NOTHING`,
          values: [
            status.dedupeKey,
            status.observation.wamid,
            status.channel,
            status.observation.recipient,
            JSON.stringify(status.observation),
            status.receivedAt,
            status.retryAt
          ]
        }))),
    parkedFor: (wamids) =>
      wamids.length === 0 ? Effect.succeed([]) : statements(db, async (session) =>
        (await session.query<ParkedRow>({
          name: "mmgw_parked_for",
          text: "SELECT id, channel, observation, received_at, retry_at FROM parked_statuses WHERE wamid = ANY($1::text[]) ORDER BY id",
          values: [wamids]
        })).map(parked)),
    dueParked: (now, limit) =>
      statements(db, async (session) =>
        (await session.query<ParkedRow>({
          name: "mmgw_parked_due",
          text: `SELECT id, channel, observation, received_at, retry_at FROM parked_statuses
            WHERE retry_at IS NOT NULL AND retry_at <= $1 ORDER BY retry_at, id LIMIT $2`,
          values: [now, clampLimit(limit)]
        })).map(parked)),
    retryParkedAt: (id, retryAt) =>
      Effect.asVoid(statements(db, (session) =>
        session.query({ name: "mmgw_parked_retry", text: "UPDATE parked_statuses SET retry_at = $1 WHERE id = $2", values: [retryAt, id] }))),
    dropParked: (receivedBefore) =>
      statements(db, async (session) =>
        (await session.query<{ id: string }>({
          name: "mmgw_parked_drop",
          text: "DELETE FROM parked_statuses WHERE received_at < $1 RETURNING id",
          values: [receivedBefore]
        })).length),
    unpark: (ids) =>
      ids.length === 0 ? Effect.void : Effect.asVoid(statements(db, (session) =>
        session.query({ name: "mmgw_unpark", text: "DELETE FROM parked_statuses WHERE id = ANY($1::bigint[])", values: [ids] })))
  })
}

export const layerStatusMatching: Layer.Layer<StatusReports.StatusMatching, never, PostgresDatabase> = Layer.effect(
  StatusReports.StatusMatching,
  Effect.map(PostgresDatabase, makeStatusMatching)
)
