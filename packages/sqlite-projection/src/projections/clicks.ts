import { categoryOf } from "@mm-gateway/domain"
import { prepared, type Projection, eachEvent } from "../projection.js"

/**
 * User actions per channel, tied to a message once a click is attributed. Attributions and clicks may
 * be projected in either order; the earliest attribution (by log position) names the message.
 */
export const clicksProjection: Projection = {
  name: "clicks",
  tables: ["clicks", "click_attributions"],
  apply: eachEvent((db, stored) => {
    const event = stored.event
    const category = categoryOf(stored.streamId)
    if (category === "UserAction" && event._tag === "UserActionRecorded") {
      const attributed = event.clickId === null
        ? undefined
        : prepared(db, "SELECT message_id FROM click_attributions WHERE click_id = ? ORDER BY position LIMIT 1").get(
          event.clickId
        ) as { message_id: string } | undefined
      prepared(
        db,
        `INSERT INTO clicks (stream_id, position, channel, action_type, kind, click_id, tracking_token, component, product_id,
           occurred_at, message_id)
         VALUES (@streamId, @position, @channel, @actionType, @kind, @clickId, @trackingToken, @component, @productId,
           @occurredAt, @messageId)
         ON CONFLICT (stream_id) DO NOTHING`
      ).run({
        streamId: stored.streamId,
        position: stored.globalPosition,
        channel: event.channel,
        actionType: event.actionType,
        kind: event.kind,
        clickId: event.clickId,
        trackingToken: event.trackingToken,
        component: event.component,
        productId: event.productId,
        occurredAt: event.occurredAt,
        messageId: attributed?.message_id ?? null
      })
    } else if (category === "Message" && event._tag === "ClickAttributed") {
      prepared(db, "INSERT INTO click_attributions (click_id, message_id, position) VALUES (?, ?, ?) ON CONFLICT DO NOTHING")
        .run(event.clickId, event.messageId, stored.globalPosition)
      prepared(db, "UPDATE clicks SET message_id = ? WHERE click_id = ? AND message_id IS NULL").run(
        event.messageId,
        event.clickId
      )
    }
  })
}
