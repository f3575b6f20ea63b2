import { type BusinessManager, type Channel, type Message, PartnerSettings, type Template, type Waba } from "@mm-gateway/domain"
import {
  type BusinessManagerView,
  type CampaignStats,
  type ChannelView,
  ClickQueries,
  clampLimit,
  ConfigurationQueries,
  decodeCursor,
  DispatchQueue,
  type MessageResource,
  MessageQueries,
  type MessageWork,
  OnboardingQueries,
  pageOf,
  ReadViews,
  type TemplateView,
  type TenantScope,
  type WabaView
} from "@mm-gateway/ports"
import { Context, Effect, Layer } from "effect"
import { type Database, gated } from "./connection.js"
import { SqliteDatabase } from "./database.js"
import { parse, prepared } from "./projection.js"

/** The SQLite read models: one service answering every query port of the read side. */
export type ReadModels =
  & Context.Tag.Service<OnboardingQueries>
  & Context.Tag.Service<ConfigurationQueries>
  & Context.Tag.Service<MessageQueries>
  & Context.Tag.Service<ClickQueries>
  & Context.Tag.Service<DispatchQueue>

/** This package's own handle on them (its tests); everyone else asks the ports. */
export const ReadModels = Context.GenericTag<ReadModels>("@mm-gateway/sqlite-projection/ReadModels")


interface WabaRow {
  readonly id: string
  readonly business_manager_id: string | null
  readonly name: string | null
  readonly state: string
}

interface ChannelRow {
  readonly phone_number_id: string
  readonly waba_id: string
  readonly display_phone_number: string
  readonly provider: Channel.Provider
  readonly credentials_ref: string
  readonly routing: Channel.ChannelRouting
  readonly throughput_mps: number
  readonly registered_at: number
  readonly updated_at: number
}

interface TemplateRow {
  readonly waba_id: string
  readonly name: string
  readonly language: string
  readonly category: string | null
  readonly ttl_seconds: number | null
  readonly status: string | null
  readonly status_reason: string | null
  readonly impending: string | null
  readonly updated_at: number
  readonly state: string
}

const templateView = (r: TemplateRow): TemplateView =>
  ReadViews.template({ wabaId: r.waba_id, name: r.name, language: r.language }, parse<Template.TemplateState>(r.state), r.status_reason, r.updated_at)

const channelView = (r: ChannelRow): ChannelView => ({
  phoneNumberId: r.phone_number_id,
  wabaId: r.waba_id,
  displayPhoneNumber: r.display_phone_number,
  provider: r.provider,
  routing: r.routing,
  throughputMps: r.throughput_mps,
  registeredAt: r.registered_at,
  updatedAt: r.updated_at
})

/**
 * SQL for the message a click id is tied to on a channel: the earliest attribution to a message of that
 * channel. A click id alone names no tenant — any key may attribute any id, and a click recorded on
 * another tenant's channel must answer as an unknown one — so an attribution made for a message of one
 * channel never ties, nor blocks, a click recorded on another.
 */
const attributedMessage = (clickId: string, channel: string): string =>
  `(SELECT a.message_id FROM click_attributions a JOIN messages m ON m.id = a.message_id
    WHERE a.click_id = ${clickId} AND m.channel = ${channel} ORDER BY a.position LIMIT 1)`

/**
 * The position of the link click a landing page view joins (docs/domain.md#clicks), for the `clicks` row
 * `view`: on its channel, the first click with its tracking token, else the first with its click id;
 * NULL for every other action and for a view with no click (yet). Made when read, so either may arrive first.
 */
const joinedClickPosition = (view: string): string => {
  const first = (match: string) =>
    `(SELECT k.position FROM clicks k WHERE k.channel = ${view}.channel AND k.kind = 'link_click' AND ${match} ORDER BY k.position LIMIT 1)`
  return `CASE WHEN ${view}.action_type = 'landing_page_view' THEN COALESCE(
    ${first(`k.tracking_token = ${view}.tracking_token`)},
    ${first(`k.click_id = ${view}.click_id`)}) END`
}

/** The messages landing page views are tied to: through the click each joins, else its own click id. */
const VIEWED_MESSAGES = `SELECT ${attributedMessage("COALESCE(j.click_id, v.click_id)", "v.channel")}
  FROM clicks v LEFT JOIN clicks j ON j.position = ${joinedClickPosition("v")}
  WHERE v.action_type = 'landing_page_view'`

export const makeReadModels = (db: Database): ReadModels => {
  const bmState = (id: string | null): BusinessManager.BusinessManagerState | null => {
    if (id === null) return null
    const row = prepared(db, "SELECT state FROM business_managers WHERE id = ?").get(id) as { state: string } | undefined
    return row === undefined ? null : parse(row.state)
  }
  // The stored status columns are as of the last fact; the view is recomputed for `now`.
  const wabaView = (r: WabaRow, now: number): WabaView =>
    ReadViews.waba(r.id, parse<Waba.WabaState>(r.state), bmState(r.business_manager_id), now)
  // The view is not stored: it is derived from the state, as the projection derives its columns.
  // A row is written only for a message that was requested: its state is always `Requested`.
  const recordOf = (state: string): Message.MessageRecord => parse<Extract<Message.MessageState, { _tag: "Requested" }>>(state).message
  const messageOf = (state: string): MessageResource => ReadViews.messageResource(recordOf(state))
  const messageRows = (rows: ReadonlyArray<{ state: string }>) => rows.map((r) => messageOf(r.state))
  const work = (r: { state: string }): MessageWork => ReadViews.messageWork(recordOf(r.state))
  const businessManagerView = (id: string, now: number): BusinessManagerView | null => {
    const row = prepared(db, "SELECT * FROM business_managers WHERE id = ?").get(id) as
      | { id: string; name: string | null; terms_signed_at: number | null; invited_at: number | null; invitation_link: string | null; state: string }
      | undefined
    if (row === undefined) return null
    const wabas = prepared(db, "SELECT id, business_manager_id, name, state FROM wabas WHERE business_manager_id = ? ORDER BY id")
      .all(id) as Array<WabaRow>
    return {
      id: row.id,
      name: row.name,
      mmApi: { termsSigned: row.terms_signed_at !== null, signedAt: row.terms_signed_at, invitedAt: row.invited_at },
      invitationLink: row.invitation_link,
      metaRequest: ReadViews.metaRequest(parse<BusinessManager.BusinessManagerState>(row.state)),
      wabas: wabas.map((w) => wabaView(w, now))
    }
  }
  interface ReadyRow {
    readonly id: string
    readonly channel: string
    readonly accepted_at: number
    readonly attempt: number
    readonly expiry_deadline: number | null
  }

  return {
    businessManager: (id, now) => Effect.sync(() => businessManagerView(id, now)),
    businessManagers: (options) =>
      Effect.sync(() => {
        const limit = clampLimit(options.limit)
        const after = decodeCursor<[string]>(options.cursor)?.[0] ?? ""
        const scope = options.businessManagerIds === undefined ? null : JSON.stringify(options.businessManagerIds)
        const ids = prepared(
          db,
          `SELECT id FROM business_managers WHERE id > @after AND (@scope IS NULL OR id IN (SELECT value FROM json_each(@scope)))
           ORDER BY id LIMIT @limit`
        ).all({ after, scope, limit }) as Array<{ id: string }>
        return pageOf(ids.flatMap((r) => businessManagerView(r.id, options.now) ?? []), limit, (b) => [b.id])
      }),
    waba: (id, now) =>
      Effect.sync(() => {
        const row = prepared(db, "SELECT id, business_manager_id, name, state FROM wabas WHERE id = ?").get(id) as WabaRow | undefined
        return row === undefined ? null : wabaView(row, now)
      }),
    wabas: (options) =>
      Effect.sync(() => {
        const limit = clampLimit(options.limit)
        const after = decodeCursor<[string]>(options.cursor)?.[0] ?? ""
        const scope = options.businessManagerIds === undefined ? null : JSON.stringify(options.businessManagerIds)
        // The stored status is as of the row's last fact, and the only thing time changes is a restriction
        // ending. Rows whose restriction may have ended by `now`, and rows stored as of a time after `now`
        // (a reader whose clock is behind the writer's, or asking about the past, when a restriction may
        // not have ended yet), are candidates for every status and decided below. Candidates are read
        // until the page is full, so every page but the last has `limit` WABAs (docs/api.md#pagination).
        const candidates = prepared(
          db,
          `SELECT id, business_manager_id, name, state FROM wabas
           WHERE id > @after
             AND (@scope IS NULL OR business_manager_id IN (SELECT value FROM json_each(@scope)))
             AND (@status IS NULL OR mm_status = @status OR (suspended_until IS NOT NULL AND suspended_until <= @now)
               OR as_of > @now)
           ORDER BY id LIMIT @limit`
        )
        const items: Array<WabaView> = []
        let from = after
        for (;;) {
          const rows = candidates.all({ after: from, scope, status: options.status ?? null, now: options.now, limit }) as Array<WabaRow>
          for (const row of rows) {
            const view = wabaView(row, options.now)
            if (options.status === undefined || view.mmApi.status === options.status) items.push(view)
            if (items.length === limit) return pageOf(items, limit, (w) => [w.id])
          }
          if (rows.length < limit) return pageOf(items, limit, (w) => [w.id])
          from = rows[rows.length - 1]!.id
        }
      }),
    channel: (id) =>
      Effect.sync(() => {
        const row = prepared(db, "SELECT * FROM channels WHERE phone_number_id = ?").get(id) as ChannelRow | undefined
        return row === undefined ? null : channelView(row)
      }),
    channelForDispatch: (id) =>
      Effect.sync(() => {
        const row = prepared(db, "SELECT * FROM channels WHERE phone_number_id = ?").get(id) as ChannelRow | undefined
        return row === undefined ? null : { ...channelView(row), credentialsRef: row.credentials_ref }
      }),
    routingSettings: () =>
      Effect.sync(() => {
        const row = prepared(db, "SELECT marketing_via_mm_api, ttl_on_cloud_fallback FROM partner_settings WHERE id = 1").get() as
          | { marketing_via_mm_api: number; ttl_on_cloud_fallback: PartnerSettings.TtlOnCloudFallback }
          | undefined
        return row === undefined
          ? PartnerSettings.DEFAULT_ROUTING_SETTINGS
          : { marketingViaMmApi: row.marketing_via_mm_api === 1, ttlOnCloudFallback: row.ttl_on_cloud_fallback }
      }),
    template: (wabaId, name, language) =>
      Effect.sync(() => {
        const row = prepared(db, "SELECT * FROM templates WHERE waba_id = ? AND name = ? AND language = ?").get(wabaId, name, language) as
          | TemplateRow
          | undefined
        return row === undefined ? null : templateView(row)
      }),
    listChannels: (options = {}) =>
      Effect.sync(() => {
        const limit = clampLimit(options.limit)
        const after = decodeCursor<[string]>(options.cursor)?.[0] ?? ""
        const { scope, channels } = scopeParams(options.scope)
        const rows = prepared(
          db,
          `SELECT * FROM channels WHERE phone_number_id > @after
             AND (@scope IS NULL
               OR waba_id IN (SELECT id FROM wabas WHERE business_manager_id IN (SELECT value FROM json_each(@scope)))
               OR phone_number_id IN (SELECT value FROM json_each(@channels)))
           ORDER BY phone_number_id LIMIT @limit`
        ).all({ after, scope, channels, limit }) as Array<ChannelRow>
        const page = pageOf(rows, limit, (r) => [r.phone_number_id])
        return { items: page.items.map(channelView), nextCursor: page.nextCursor }
      }),
    templates: (wabaId, options = {}) =>
      Effect.sync(() => {
        const limit = clampLimit(options.limit)
        const [name, language] = decodeCursor<[string, string]>(options.cursor) ?? ["", ""]
        const rows = prepared(
          db,
          "SELECT * FROM templates WHERE waba_id = ? AND (name, language) > (?, ?) ORDER BY name, language LIMIT ?"
        ).all(wabaId, name, language, limit) as Array<TemplateRow>
        const page = pageOf(rows, limit, (r) => [r.name, r.language])
        return { items: page.items.map(templateView), nextCursor: page.nextCursor }
      }),
    message: (id) =>
      Effect.sync(() => {
        const row = prepared(db, "SELECT state FROM messages WHERE id = ?").get(id) as { state: string } | undefined
        return row === undefined ? null : messageOf(row.state)
      }),
    messagesByWamid: (wamid) =>
      Effect.sync(() =>
        messageRows(prepared(db, "SELECT state FROM messages WHERE wamid = ? ORDER BY id").all(wamid) as Array<{ state: string }>)
      ),
    campaignStats: (campaignId, scope = null) => Effect.sync(() => campaignStats(db, campaignId, scope)),
    campaigns: (options = {}) =>
      Effect.sync(() => {
        const limit = clampLimit(options.limit)
        const [beforeAt, beforeId] = decodeCursor<[number, string]>(options.cursor) ?? [null, null]
        const rows = prepared(
          db,
          `SELECT campaign_id, COUNT(*) AS messages, MIN(accepted_at) AS first_accepted_at, MAX(accepted_at) AS last_accepted_at
           FROM messages WHERE campaign_id IS NOT NULL AND ${messageInScope}
           GROUP BY campaign_id
           HAVING @beforeAt IS NULL OR MIN(accepted_at) < @beforeAt OR (MIN(accepted_at) = @beforeAt AND campaign_id < @beforeId)
           ORDER BY first_accepted_at DESC, campaign_id DESC LIMIT @limit`
        ).all({ ...scopeParams(options.scope), beforeAt, beforeId, limit }) as Array<
          { campaign_id: string; messages: number; first_accepted_at: number; last_accepted_at: number }
        >
        const items = rows.map((r) => ({
          campaignId: r.campaign_id,
          messages: r.messages,
          firstAcceptedAt: r.first_accepted_at,
          lastAcceptedAt: r.last_accepted_at
        }))
        return pageOf(items, limit, (c) => [c.firstAcceptedAt, c.campaignId])
      }),
    messagesByRecipient: (recipient, options = {}) =>
      Effect.sync(() => {
        const limit = clampLimit(options.limit)
        const [beforeAt, beforeId] = decodeCursor<[number, string]>(options.cursor) ?? [null, null]
        const rows = prepared(
          db,
          `SELECT state FROM messages WHERE recipient = @recipient AND ${messageInScope}
             AND (@beforeAt IS NULL OR accepted_at < @beforeAt OR (accepted_at = @beforeAt AND id < @beforeId))
           ORDER BY accepted_at DESC, id DESC LIMIT @limit`
        ).all({ ...scopeParams(options.scope), recipient, beforeAt, beforeId, limit }) as Array<{ state: string }>
        return pageOf(messageRows(rows), limit, (m) => [m.timestamps.acceptedAt, m.id])
      }),
    clickChannels: (clickId) =>
      Effect.sync(() =>
        (prepared(db, "SELECT DISTINCT channel FROM clicks WHERE click_id = ? ORDER BY channel").all(clickId) as Array<{ channel: string }>)
          .map((r) => r.channel)
      ),
    clickAttribution: (clickId, channel) =>
      Effect.sync(() => {
        const row = prepared(db, `SELECT ${attributedMessage("@clickId", "@channel")} AS message_id`).get({ clickId, channel }) as { message_id: string | null }
        return row.message_id
      }),
    clicks: (channel, options = {}) =>
      Effect.sync(() => {
        const limit = clampLimit(options.limit)
        const after = decodeCursor<[number]>(options.cursor)?.[0] ?? 0
        const rows = prepared(
          db,
          `SELECT c.position, c.action_type, c.kind, c.click_id, c.tracking_token, c.component, c.product_id, c.occurred_at,
             ${attributedMessage("COALESCE(j.click_id, c.click_id)", "c.channel")} AS message_id,
             j.position AS joined_position, j.click_id AS joined_click_id, j.tracking_token AS joined_tracking_token,
             j.occurred_at AS joined_occurred_at
           FROM clicks c LEFT JOIN clicks j ON j.position = ${joinedClickPosition("c")}
           WHERE c.channel = @channel AND c.position > @after ORDER BY c.position LIMIT @limit`
        ).all({ channel, after, limit }) as Array<{
          position: number
          action_type: string
          kind: string
          click_id: string | null
          tracking_token: string | null
          component: string | null
          product_id: string | null
          occurred_at: number
          message_id: string | null
          joined_position: number | null
          joined_click_id: string | null
          joined_tracking_token: string | null
          joined_occurred_at: number | null
        }>
        const page = pageOf(rows, limit, (r) => [r.position])
        return {
          items: page.items.map((r) => ({
            actionType: r.action_type,
            kind: r.kind,
            clickId: r.click_id,
            trackingToken: r.tracking_token,
            component: r.component,
            productId: r.product_id,
            occurredAt: r.occurred_at,
            messageId: r.message_id,
            joinedClick: r.joined_position === null
              ? null
              : { clickId: r.joined_click_id, trackingToken: r.joined_tracking_token, occurredAt: r.joined_occurred_at! }
          })),
          nextCursor: page.nextCursor
        }
      }),
    dispatchable: (now, limit, after = null, channels) =>
      Effect.sync(() =>
        // A ready message has no phase time, so the folded state is not read (this runs on every sweep).
        (channels !== undefined && channels.length === 0 ? [] : prepared(
          db,
          `SELECT id, channel, accepted_at, attempt, expiry_deadline FROM messages INDEXED BY messages_ready_by_age
           WHERE phase = 'Ready' AND (not_before IS NULL OR not_before <= @now) AND (accepted_at, id) > (@afterAt, @afterId)
           ${channels === undefined ? "" : "AND channel IN (SELECT value FROM json_each(@channels))"}
           ORDER BY accepted_at, id LIMIT @limit`
        ).all({
          now,
          afterAt: after?.acceptedAt ?? -1,
          afterId: after?.id ?? "",
          limit: Math.max(0, Math.floor(limit)),
          ...(channels === undefined ? {} : { channels: JSON.stringify(channels) })
        }) as Array<ReadyRow>).map((r): MessageWork => ({
          id: r.id,
          channel: r.channel,
          acceptedAt: r.accepted_at,
          attempt: r.attempt,
          phaseSince: null,
          expiryDeadline: r.expiry_deadline
        }))
      ),
    channels: () =>
      Effect.sync(() =>
        (prepared(db, "SELECT phone_number_id FROM channels ORDER BY phone_number_id").all() as Array<{ phone_number_id: string }>).map((r) =>
          r.phone_number_id
        )
      ),
    recentStarts: (channel, since) =>
      Effect.sync(() =>
        (prepared(db, "SELECT started_at FROM dispatch_starts WHERE channel = ? AND started_at >= ? ORDER BY started_at").all(channel, since) as Array<
          { started_at: number }
        >).map((r) => r.started_at)
      ),
    inDispatchPhase: (phase, options = {}) =>
      Effect.sync(() => {
        const limit = clampLimit(options.limit)
        const after = decodeCursor<[string]>(options.cursor)?.[0] ?? ""
        const rows = prepared(
          db,
          "SELECT id, state FROM messages WHERE phase = ? AND id > ? ORDER BY id LIMIT ?"
        ).all(phase, after, limit) as Array<{ id: string; state: string }>
        const page = pageOf(rows, limit, (r) => [r.id])
        return { items: page.items.map(work), nextCursor: page.nextCursor }
      }),
    expiryDue: (now, limit) =>
      Effect.sync(() =>
        (prepared(
          db,
          `SELECT state FROM messages
           WHERE expiry_deadline IS NOT NULL AND expiry_deadline <= ? AND status IN ('submitted', 'sent')
           ORDER BY expiry_deadline, id LIMIT ?`
        ).all(now, Math.max(0, Math.floor(limit))) as Array<{ state: string }>).map(work)
      ),
    messagesToRecipient: (channel, recipient, from, to) =>
      Effect.sync(() =>
        messageRows(
          prepared(
            db,
            "SELECT state FROM messages WHERE channel = ? AND recipient = ? AND accepted_at BETWEEN ? AND ? ORDER BY accepted_at, id"
          ).all(channel, recipient, from, to) as Array<{ state: string }>
        )
      )
  }
}

/**
 * The campaign funnel (docs/api.md#resources), aggregated over the campaign's message rows in one indexed
 * query. Writes stay O(1) per message change (no counters to keep in step), a stats read is O(campaign size),
 * and the numbers can never drift from the messages they count.
 */
/** The parameters of `messageInScope`: a tenant's Business Managers and channels as JSON arrays, null for the admin. */
const scopeParams = (tenant: TenantScope | null | undefined) => ({
  scope: tenant == null ? null : JSON.stringify(tenant.businessManagerIds),
  channels: tenant == null ? null : JSON.stringify(tenant.channelIds)
})

/** A message row a tenant sees: sent on one of its channels, or by a WABA of its Business Managers. */
const messageInScope = `(@scope IS NULL
    OR messages.waba_id IN (SELECT id FROM wabas WHERE business_manager_id IN (SELECT value FROM json_each(@scope)))
    OR messages.channel IN (SELECT value FROM json_each(@channels)))`

export const campaignStats = (db: Database, campaignId: string, tenant: TenantScope | null = null): CampaignStats => {
  const { scope, channels } = scopeParams(tenant)
  const inScope = messageInScope
  const r = prepared(
    db,
    `SELECT COUNT(*) AS accepted,
       COALESCE(SUM(funnel_stage >= 1), 0) AS submitted,
       COALESCE(SUM(funnel_stage >= 2), 0) AS sent,
       COALESCE(SUM(funnel_stage >= 3), 0) AS delivered,
       COALESCE(SUM(funnel_stage >= 4), 0) AS read,
       COALESCE(SUM(clicked), 0) AS clicked,
       COALESCE(SUM(messages.id IN (${VIEWED_MESSAGES})), 0) AS landing_page_views,
       COALESCE(SUM(route_decided = 'marketing_messages'), 0) AS routed_mm,
       COALESCE(SUM(route_decided = 'cloud_api'), 0) AS routed_cloud,
       COALESCE(SUM(route_observed = 'marketing_messages'), 0) AS observed_mm,
       COALESCE(SUM(route_observed = 'cloud_api'), 0) AS observed_cloud,
       COALESCE(SUM(route_observed IS NULL), 0) AS observed_unknown,
       COALESCE(SUM(status = 'accepted'), 0) AS queued,
       COALESCE(SUM(status = 'failed'), 0) AS failed,
       COALESCE(SUM(status = 'expired'), 0) AS expired,
       COALESCE(SUM(status = 'dispatch_unknown'), 0) AS dispatch_unknown,
       COALESCE(SUM(route_mismatch), 0) AS route_mismatch
     FROM messages WHERE campaign_id = @campaignId AND ${inScope}`
  ).get({ campaignId, scope, channels }) as Record<string, number>
  const codes = prepared(
    db,
    `SELECT CAST(j.value AS TEXT) AS code, COUNT(*) AS n FROM messages, json_each(messages.failure_codes) AS j
     WHERE messages.campaign_id = @campaignId AND messages.status = 'failed' AND ${inScope} GROUP BY j.value ORDER BY j.value`
  ).all({ campaignId, scope, channels }) as Array<{ code: string; n: number }>
  const n = (k: string) => r[k] ?? 0
  return {
    campaignId,
    funnel: {
      accepted: n("accepted"),
      submitted: n("submitted"),
      sent: n("sent"),
      delivered: n("delivered"),
      read: n("read"),
      clicked: n("clicked"),
      landingPageViews: n("landing_page_views")
    },
    routed: { marketing_messages: n("routed_mm"), cloud_api: n("routed_cloud") },
    observedRoute: { marketing_messages: n("observed_mm"), cloud_api: n("observed_cloud"), unknown: n("observed_unknown") },
    queued: n("queued"),
    failed: n("failed"),
    expired: n("expired"),
    dispatchUnknown: n("dispatch_unknown"),
    routeMismatch: n("route_mismatch"),
    failuresByCode: Object.fromEntries(codes.map((c) => [c.code, c.n]))
  }
}

export type ReadPorts = OnboardingQueries | ConfigurationQueries | MessageQueries | ClickQueries | DispatchQueue

/** The read models under this package's own tag and under every query port. */
export const layerReadModels: Layer.Layer<ReadModels | ReadPorts, never, SqliteDatabase> = Layer.effectContext(
  Effect.map(SqliteDatabase, ({ db }) => {
    const read = gated(db, makeReadModels(db))
    return Context.make(ReadModels, read).pipe(
      Context.add(OnboardingQueries, read),
      Context.add(ConfigurationQueries, read),
      Context.add(MessageQueries, read),
      Context.add(ClickQueries, read),
      Context.add(DispatchQueue, read)
    )
  })
)
