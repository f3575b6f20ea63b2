/**
 * User actions per channel and the attributions of click ids to messages: the projection, its rows and
 * the `ClickQueries` that read them.
 */
import { type Message, Streams, type UserAction } from "@mm-gateway/domain"
import { clampLimit, type ClickQueries, type ClickView, decodeCursor, pageOf } from "@mm-gateway/ports"
import type { Context } from "effect"
import { type Database, statements } from "../connection.js"
import { type Projection, writeRows } from "../projection.js"

/**
 * User actions and click attributions, each as it arrives (tables `clicks`, `click_attributions`).
 * Which message a click is tied to is decided when read: only an attribution to a message of the
 * click's own channel counts, the earliest in the log, whichever of click and attribution came first.
 */
export const clicksProjection: Projection = {
  name: "clicks",
  tables: ["clicks", "click_attributions"],
  apply: async (session, events) => {
    const clicks: Array<Record<string, unknown>> = []
    const attributions: Array<Record<string, unknown>> = []
    for (const stored of events) {
      const category = Streams.categoryOf(stored.streamId)
      if (category === "UserAction") {
        const e = stored.event as UserAction.UserActionEvent
        clicks.push({
          stream_id: stored.streamId,
          position: stored.globalPosition,
          channel: e.channel,
          action_type: e.actionType,
          kind: e.kind,
          click_id: e.clickId,
          tracking_token: e.trackingToken,
          component: e.component,
          product_id: e.productId,
          occurred_at: e.occurredAt
        })
      } else if (category === "Message" && stored.event._tag === "ClickAttributed") {
        const e = stored.event as Message.MessageEvent & { _tag: "ClickAttributed" }
        attributions.push({ click_id: e.clickId, message_id: e.messageId, position: stored.globalPosition })
      }
    }
    // The first row of a key wins: a stream's user action is recorded once, an attribution once per message.
    await writeRows(session, { name: "mmgw_clicks_write", table: "clicks", upsert: "ON CONFLICT DO NOTHING" }, clicks)
    await writeRows(session, { name: "mmgw_attributions_write", table: "click_attributions", upsert: "ON CONFLICT DO NOTHING" }, attributions)
  }
}

/**
 * The message a click id is tied to on a channel: the earliest attribution to a message of that
 * channel. A click id alone names no tenant — any key may attribute any id, and a click recorded on
 * another tenant's channel must answer as an unknown one — so an attribution for a message of one
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
export const VIEWED_MESSAGES = `SELECT ${attributedMessage("COALESCE(j.click_id, v.click_id)", "v.channel")}
  FROM clicks v LEFT JOIN clicks j ON j.position = ${joinedClickPosition("v")}
  WHERE v.action_type = 'landing_page_view'`

interface ClickRow {
  readonly position: string
  readonly action_type: string
  readonly kind: string
  readonly click_id: string | null
  readonly tracking_token: string | null
  readonly component: string | null
  readonly product_id: string | null
  readonly occurred_at: string
  readonly message_id: string | null
  readonly joined_position: string | null
  readonly joined_click_id: string | null
  readonly joined_tracking_token: string | null
  readonly joined_occurred_at: string | null
}

/** `ClickQueries` on the `clicks` and `click_attributions` rows (and the messages' channels). */
export const makeClickQueries = (db: Database): Context.Tag.Service<ClickQueries> => ({
  clickAttribution: (clickId, channel) =>
    statements(db, async (session) => {
      const [row] = await session.query<{ message_id: string | null }>({
        name: "mmgw_click_attribution",
        text: `SELECT ${attributedMessage("$1", "$2")} AS message_id`,
        values: [clickId, channel]
      })
      return row?.message_id ?? null
    }),
  clickChannels: (clickId) =>
    statements(db, async (session) =>
      (await session.query<{ channel: string }>({
        name: "mmgw_click_channels",
        text: "SELECT DISTINCT channel FROM clicks WHERE click_id = $1 ORDER BY channel",
        values: [clickId]
      })).map((r) => r.channel)),
  clicks: (channel, options = {}) =>
    statements(db, async (session) => {
      const limit = clampLimit(options.limit)
      const after = decodeCursor<[number]>(options.cursor)?.[0] ?? 0
      const rows = await session.query<ClickRow>({
        name: "mmgw_clicks",
        text: `SELECT c.position, c.action_type, c.kind, c.click_id, c.tracking_token, c.component, c.product_id, c.occurred_at,
            ${attributedMessage("COALESCE(j.click_id, c.click_id)", "c.channel")} AS message_id,
            j.position AS joined_position, j.click_id AS joined_click_id, j.tracking_token AS joined_tracking_token,
            j.occurred_at AS joined_occurred_at
          FROM clicks c LEFT JOIN clicks j ON j.position = ${joinedClickPosition("c")}
          WHERE c.channel = $1 AND c.position > $2 ORDER BY c.position LIMIT $3`,
        values: [channel, typeof after === "number" ? after : 0, limit]
      })
      const page = pageOf(rows, limit, (r) => [Number(r.position)])
      return {
        items: page.items.map((r): ClickView => ({
          actionType: r.action_type,
          kind: r.kind,
          clickId: r.click_id,
          trackingToken: r.tracking_token,
          component: r.component,
          productId: r.product_id,
          occurredAt: Number(r.occurred_at),
          messageId: r.message_id,
          joinedClick: r.joined_position === null
            ? null
            : { clickId: r.joined_click_id, trackingToken: r.joined_tracking_token, occurredAt: Number(r.joined_occurred_at) }
        })),
        nextCursor: page.nextCursor
      }
    })
})
