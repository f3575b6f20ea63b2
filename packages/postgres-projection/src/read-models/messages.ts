/**
 * Messages: the projection, its rows, and what reads them — the API's `MessageQueries`, the worker's
 * `DispatchQueue`, and the look-ups of the domain's `StatusMatching`.
 */
import { type EventStore, type Ids, Message, type StatusReports, Streams } from "@mm-gateway/domain"
import {
  type CampaignStats,
  clampLimit,
  decodeCursor,
  type DispatchQueue,
  type MessageQueries,
  type MessageResource,
  type MessageWork,
  pageOf,
  ReadViews,
  type TenantScope
} from "@mm-gateway/ports"
import { type Context, Effect } from "effect"
import { type Database, type Session, statements } from "../connection.js"
import { type Projection, replaceOnConflict, Rows, writeRowsTogether } from "../projection.js"
import { VIEWED_MESSAGES } from "./clicks.js"
import { channelForDispatch } from "./configuration.js"

type Requested = Extract<Message.MessageState, { _tag: "Requested" }>

const MESSAGE_COLUMNS = [
  "id",
  "version",
  "channel",
  "waba_id",
  "campaign_id",
  "recipient",
  "accepted_at",
  "wamid",
  "phase",
  "not_before",
  "expiry_deadline",
  "status",
  "route_decided",
  "route_observed",
  "route_mismatch",
  "funnel_stage",
  "clicked",
  "failure_codes",
  "attempt",
  "updated_at",
  "state"
]

/**
 * A message's row: the folded state (the same JSON as the stream's snapshot), and beside it the
 * columns the queries filter, sort and count on, all derived from that state with the domain's own
 * functions (`Message.viewOf`, `ReadViews`), so the row cannot disagree with the decider. The API view
 * is derived from the state when read.
 */
const messageRow = (version: number, state: Requested, at: number) => {
  const m = state.message
  const view = Message.viewOf(m)
  return {
    id: m.request.messageId,
    version,
    channel: m.request.channel,
    waba_id: m.request.wabaId,
    campaign_id: m.request.campaignId,
    recipient: m.request.to,
    accepted_at: m.request.at,
    wamid: m.wamid,
    phase: m.phase._tag,
    not_before: m.phase._tag === "Ready" ? m.phase.notBefore : null,
    expiry_deadline: Message.expiryDeadline(m),
    status: view.status,
    route_decided: m.route,
    route_observed: view.observedRoute,
    route_mismatch: view.routeMismatch,
    funnel_stage: ReadViews.funnelStage(m, view),
    clicked: m.clicks.length > 0,
    failure_codes: ReadViews.failureCodes(view),
    attempt: m.phase.attempt,
    updated_at: at,
    state
  }
}

/** Only a newer version replaces a row: an append that writes from its state needs no read first. */
const WRITE = { name: "mmgw_message_write", table: "messages", upsert: replaceOnConflict(["id"], MESSAGE_COLUMNS, "messages.version < excluded.version") }

/**
 * A channel's dispatch starts, one row per attempt (table `dispatch_starts`): what a worker taking the
 * channel over counts in its rate window (docs/worker.md#many-workers). The key makes a row written
 * twice one row.
 */
const WRITE_STARTS = { name: "mmgw_dispatch_starts_write", table: "dispatch_starts", upsert: "ON CONFLICT DO NOTHING" }

const startRows = (channel: string, events: ReadonlyArray<Message.MessageEvent>) =>
  events.flatMap((e) => (e._tag === "DispatchStarted" ? [{ channel, started_at: e.at, message_id: e.messageId, attempt: e.attempt }] : []))

/**
 * One row per message (table `messages`), and one per dispatch attempt (`dispatch_starts`). An append
 * brings the state after its events (inline projection): the row is written from it, with no read. A
 * runner's batch folds each message's events in memory from its stored state and writes each row it
 * changed once.
 */
export const messagesProjection: Projection = {
  name: "messages",
  tables: ["messages", "dispatch_starts"],
  apply: async (session, events, after) => {
    let own = events.filter((e) => Streams.categoryOf(e.streamId) === "Message")
    if (own.length === 0) return
    if (after !== undefined) {
      // An inline append brings each stream's state after its events: their rows are written from it.
      const fromState = own.filter((e) => after.has(e.streamId))
      own = own.filter((e) => !after.has(e.streamId))
      const lastOf = new Map<string, EventStore.StoredEvent>()
      for (const e of fromState) lastOf.set(e.streamId, e)
      const written: Array<Record<string, unknown>> = []
      const started: Array<Record<string, unknown>> = []
      for (const [streamId, last] of lastOf) {
        const state = after.get(streamId) as Message.MessageState
        if (state._tag !== "Requested") continue
        written.push(messageRow(last.version, state, (last.event as Message.MessageEvent).at))
        started.push(...startRows(state.message.request.channel, fromState.flatMap((e) => (e.streamId === streamId ? [e.event as Message.MessageEvent] : []))))
      }
      await writeRowsTogether(session, [[WRITE, written], [WRITE_STARTS, started]])
      if (own.length === 0) return
    }
    const starts: Array<Record<string, unknown>> = []
    const rows = new Rows<{ version: number; state: Message.MessageState; at: number }>(async (ids) =>
      (await session.query<{ id: string; version: number; state: Requested }>({
        name: "mmgw_message_rows",
        text: "SELECT id, version, state FROM messages WHERE id = ANY($1::text[])",
        values: [ids]
      })).map((r) => [r.id, { version: r.version, state: r.state, at: 0 }] as const)
    )
    await rows.prefetch(own.map((e) => (e.event as Message.MessageEvent).messageId))
    for (const stored of own) {
      const event = stored.event as Message.MessageEvent
      const row = await rows.get(event.messageId)
      if (row !== null && stored.version <= row.version) continue
      const state = Message.evolve(row?.state ?? Message.initialState(), event)
      rows.set(event.messageId, { version: stored.version, state, at: event.at })
      if (state._tag === "Requested") starts.push(...startRows(state.message.request.channel, [event]))
    }
    await writeRowsTogether(session, [
      [WRITE, rows.changed().flatMap((r) => (r.state._tag === "Requested" ? [messageRow(r.version, r.state, r.at)] : []))],
      [WRITE_STARTS, starts]
    ])
  }
}

/** A row is written only for a message that was requested: its state is always `Requested`. */
const resource = (r: { state: Requested }): MessageResource => ReadViews.messageResource(r.state.message)
const work = (r: { state: Requested }): MessageWork => ReadViews.messageWork(r.state.message)

const messagesWhere = (session: Session, name: string, where: string, values: ReadonlyArray<unknown>) =>
  session.query<{ state: Requested }>({ name, text: `SELECT state FROM messages WHERE ${where}`, values })

/**
 * The campaign funnel (docs/api.md#resources), aggregated over the campaign's message rows in one
 * statement (the counts and the failure codes from the same moment): writes stay one row per message
 * change, and the numbers cannot drift from the messages they count. The columns counted are
 * `ReadViews`' (`funnelStage`, `failureCodes`). A scope counts the messages of its Business Managers'
 * WABAs and those sent on its channels.
 */
const campaignStats = async (session: Session, campaignId: string, scope: TenantScope | null): Promise<CampaignStats> => {
  const [r] = await session.query<Record<string, number> & { failures: Record<string, number> | null }>({
    name: "mmgw_campaign_stats",
    text: `WITH m AS (
        SELECT * FROM messages WHERE campaign_id = $1
          AND ($2::text[] IS NULL OR channel = ANY($3::text[])
            OR waba_id IN (SELECT id FROM wabas WHERE business_manager_id = ANY($2::text[])))
      )
      SELECT count(*)::int AS accepted,
        count(*) FILTER (WHERE funnel_stage >= 1)::int AS submitted,
        count(*) FILTER (WHERE funnel_stage >= 2)::int AS sent,
        count(*) FILTER (WHERE funnel_stage >= 3)::int AS delivered,
        count(*) FILTER (WHERE funnel_stage >= 4)::int AS read,
        count(*) FILTER (WHERE clicked)::int AS clicked,
        count(*) FILTER (WHERE id IN (${VIEWED_MESSAGES}))::int AS landing_page_views,
        count(*) FILTER (WHERE route_decided = 'marketing_messages')::int AS routed_mm,
        count(*) FILTER (WHERE route_decided = 'cloud_api')::int AS routed_cloud,
        count(*) FILTER (WHERE route_observed = 'marketing_messages')::int AS observed_mm,
        count(*) FILTER (WHERE route_observed = 'cloud_api')::int AS observed_cloud,
        count(*) FILTER (WHERE route_observed IS NULL)::int AS observed_unknown,
        count(*) FILTER (WHERE status = 'accepted')::int AS queued,
        count(*) FILTER (WHERE status = 'failed')::int AS failed,
        count(*) FILTER (WHERE status = 'expired')::int AS expired,
        count(*) FILTER (WHERE status = 'dispatch_unknown')::int AS dispatch_unknown,
        count(*) FILTER (WHERE route_mismatch)::int AS route_mismatch,
        (SELECT json_object_agg(code, n ORDER BY code) FROM (
          SELECT code, count(*)::int AS n FROM m, unnest(m.failure_codes) AS code WHERE m.status = 'failed' GROUP BY code
        ) AS codes) AS failures
      FROM m`,
    values: [campaignId, scope?.businessManagerIds ?? null, scope?.channelIds ?? []]
  })
  const n = (k: string) => r?.[k] ?? 0
  return {
    campaignId,
    funnel: { accepted: n("accepted"), submitted: n("submitted"), sent: n("sent"), delivered: n("delivered"), read: n("read"), clicked: n("clicked"), landingPageViews: n("landing_page_views") },
    routed: { marketing_messages: n("routed_mm"), cloud_api: n("routed_cloud") },
    observedRoute: { marketing_messages: n("observed_mm"), cloud_api: n("observed_cloud"), unknown: n("observed_unknown") },
    queued: n("queued"),
    failed: n("failed"),
    expired: n("expired"),
    dispatchUnknown: n("dispatch_unknown"),
    routeMismatch: n("route_mismatch"),
    failuresByCode: { ...r?.failures }
  }
}

/** `MessageQueries` on the `messages` rows. */
export const makeMessageQueries = (db: Database): Context.Tag.Service<MessageQueries> => ({
  message: (id) =>
    statements(db, async (session) => {
      const [row] = await messagesWhere(session, "mmgw_message", "id = $1", [id])
      return row === undefined ? null : resource(row)
    }),
  messagesByWamid: (wamid) =>
    statements(db, async (session) => (await messagesWhere(session, "mmgw_messages_by_wamid", "wamid = $1 ORDER BY id", [wamid])).map(resource)),
  campaignStats: (campaignId, scope = null) => statements(db, (session) => campaignStats(session, campaignId, scope)),
  campaigns: (options = {}) =>
    statements(db, async (session) => {
      const limit = clampLimit(options.limit)
      const [beforeAt, beforeId] = decodeCursor<[number, string]>(options.cursor) ?? [null, null]
      const rows = await session.query<{ campaign_id: string; messages: number; first_accepted_at: string; last_accepted_at: string }>({
        name: "mmgw_campaigns",
        text: `SELECT campaign_id, count(*)::int AS messages, min(accepted_at) AS first_accepted_at, max(accepted_at) AS last_accepted_at
          FROM messages WHERE campaign_id IS NOT NULL AND ${IN_SCOPE}
          GROUP BY campaign_id
          HAVING $3::bigint IS NULL OR (min(accepted_at), campaign_id) < ($3::bigint, $4::text COLLATE "C")
          ORDER BY first_accepted_at DESC, campaign_id DESC LIMIT $5`,
        values: [options.scope?.businessManagerIds ?? null, options.scope?.channelIds ?? [], beforeAt, beforeId, limit]
      })
      const items = rows.map((r) => ({
        campaignId: r.campaign_id,
        messages: r.messages,
        firstAcceptedAt: Number(r.first_accepted_at),
        lastAcceptedAt: Number(r.last_accepted_at)
      }))
      return pageOf(items, limit, (c) => [c.firstAcceptedAt, c.campaignId])
    }),
  messagesByRecipient: (recipient, options = {}) =>
    statements(db, async (session) => {
      const limit = clampLimit(options.limit)
      const [beforeAt, beforeId] = decodeCursor<[number, string]>(options.cursor) ?? [null, null]
      const rows = await messagesWhere(
        session,
        "mmgw_messages_by_recipient",
        `recipient = $5 AND ${IN_SCOPE} AND ($3::bigint IS NULL OR (accepted_at, id) < ($3::bigint, $4::text COLLATE "C"))
          ORDER BY accepted_at DESC, id DESC LIMIT $6`,
        [options.scope?.businessManagerIds ?? null, options.scope?.channelIds ?? [], beforeAt, beforeId, recipient, limit]
      )
      return pageOf(rows.map(resource), limit, (m) => [m.timestamps.acceptedAt, m.id])
    })
})

/** A message row a tenant sees (`$1` its Business Managers, null for the admin; `$2` its channels). */
const IN_SCOPE = `($1::text[] IS NULL OR channel = ANY($2::text[])
  OR waba_id IN (SELECT id FROM wabas WHERE business_manager_id = ANY($1::text[])))`

/** `DispatchQueue` on the `messages` rows (and the channel with its credentials reference). */
export const makeDispatchQueue = (db: Database): Context.Tag.Service<DispatchQueue> => ({
  dispatchable: (now, limit, after = null, channels) =>
    statements(db, async (session) => {
      if (limit < 1 || (channels !== undefined && channels.length === 0)) return []
      // A ready message has no phase time, so the folded state is not read (this runs on every sweep).
      const rows = await session.query<{ id: string; channel: string; accepted_at: string; attempt: number; expiry_deadline: string | null }>({
        name: "mmgw_dispatchable",
        text: `SELECT id, channel, accepted_at, attempt, expiry_deadline FROM messages
          WHERE phase = 'Ready' AND (not_before IS NULL OR not_before <= $1) AND (accepted_at, id) > ($2, $3)
            AND ($5::text[] IS NULL OR channel = ANY($5::text[]))
          ORDER BY accepted_at, id LIMIT $4`,
        values: [now, after?.acceptedAt ?? -1, after?.id ?? "", Math.floor(limit), channels ?? null]
      })
      return rows.map((r): MessageWork => ({
        id: r.id,
        channel: r.channel,
        acceptedAt: Number(r.accepted_at),
        attempt: r.attempt,
        phaseSince: null,
        expiryDeadline: r.expiry_deadline === null ? null : Number(r.expiry_deadline)
      }))
    }),
  channelForDispatch: (id) => channelForDispatch(db, id),
  channels: () =>
    statements(db, async (session) =>
      (await session.query<{ phone_number_id: string }>({
        name: "mmgw_channel_ids",
        text: "SELECT phone_number_id FROM channels ORDER BY phone_number_id"
      })).map((r) => r.phone_number_id)),
  recentStarts: (channel, since) =>
    statements(db, async (session) =>
      (await session.query<{ started_at: string }>({
        name: "mmgw_recent_starts",
        text: "SELECT started_at FROM dispatch_starts WHERE channel = $1 AND started_at >= $2 ORDER BY started_at",
        values: [channel, since]
      })).map((r) => Number(r.started_at))),
  inDispatchPhase: (phase, options = {}) =>
    statements(db, async (session) => {
      const limit = clampLimit(options.limit)
      const after = decodeCursor<[string]>(options.cursor)?.[0] ?? ""
      const rows = await messagesWhere(session, "mmgw_in_dispatch_phase", "phase = $1 AND id > $2 ORDER BY id LIMIT $3", [phase, String(after), limit])
      const page = pageOf(rows.map(work), limit, (w) => [w.id])
      return page
    }),
  expiryDue: (now, limit) =>
    statements(db, async (session) =>
      limit < 1 ? [] : (await messagesWhere(
        session,
        "mmgw_expiry_due",
        `expiry_deadline <= $1 AND status IN ('submitted', 'sent') ORDER BY expiry_deadline, id LIMIT $2`,
        [now, Math.floor(limit)]
      )).map(work)),
  messagesToRecipient: (channel, recipient, from, to) =>
    statements(db, async (session) =>
      (await messagesWhere(
        session,
        "mmgw_messages_to_recipient",
        "channel = $1 AND recipient = $2 AND accepted_at BETWEEN $3 AND $4 ORDER BY accepted_at, id",
        [channel, recipient, from, to]
      )).map(resource))
})

interface CandidateRow {
  readonly id: string
  readonly channel: string
  readonly wamid: string | null
}

const candidate = (r: CandidateRow): StatusReports.MessageCandidate => ({ messageId: r.id as Ids.MessageId, channel: r.channel, wamid: r.wamid })

/** The messages `StatusMatching` looks for, on indexed columns of the `messages` rows (no state is read). */
export const makeMessageCandidates = (db: Database) => ({
  byWamids: (wamids: ReadonlyArray<string>) =>
    wamids.length === 0 ? Effect.succeed([]) : statements(db, async (session) =>
      (await session.query<CandidateRow>({
        name: "mmgw_candidates_by_wamids",
        text: "SELECT id, channel, wamid FROM messages WHERE wamid = ANY($1::text[]) ORDER BY id",
        values: [wamids]
      })).map(candidate)),
  byId: (id: string) =>
    statements(db, async (session) => {
      const [row] = await session.query<CandidateRow>({ name: "mmgw_candidate_by_id", text: "SELECT id, channel, wamid FROM messages WHERE id = $1", values: [id] })
      return row === undefined ? null : candidate(row)
    }),
  awaitingWamid: (channel: string, recipient: string, from: number, to: number) =>
    statements(db, async (session) =>
      (await session.query<CandidateRow>({
        name: "mmgw_candidates_awaiting_wamid",
        text: `SELECT id, channel, wamid FROM messages
          WHERE channel = $1 AND recipient = $2 AND accepted_at BETWEEN $3 AND $4 AND wamid IS NULL
            AND phase IN ('InFlight', 'OutcomeUnknown', 'DispatchUnknown')
          ORDER BY accepted_at, id`,
        values: [channel, recipient, from, to]
      })).map(candidate))
})
