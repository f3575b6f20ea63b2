import { Streams } from "@mm-gateway/domain"
import { prepared, type Projection, eachEvent } from "../projection.js"

/**
 * User actions per channel, and the attributions of click ids to messages, each as it arrives. Which
 * message a click is tied to is decided when read (`ReadModels.clicks`): only an attribution to a
 * message of the click's own channel counts, the earliest by log position, whichever of click and
 * attribution came first.
 */
export const clicksProjection: Projection = {
  name: "clicks",
  tables: ["clicks", "click_attributions"],
  apply: eachEvent((db, stored) => {
    const event = stored.event
    const category = Streams.categoryOf(stored.streamId)
    if (category === "UserAction" && event._tag === "UserActionRecorded") {
      prepared(
        db,
        `INSERT INTO clicks (stream_id, position, channel, action_type, kind, click_id, tracking_token, component, product_id,
           occurred_at)
         VALUES (@streamId, @position, @channel, @actionType, @kind, @clickId, @trackingToken, @component, @productId,
           @occurredAt)
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
        occurredAt: event.occurredAt
      })
    } else if (category === "Message" && event._tag === "ClickAttributed") {
      prepared(db, "INSERT INTO click_attributions (click_id, message_id, position) VALUES (?, ?, ?) ON CONFLICT DO NOTHING")
        .run(event.clickId, event.messageId, stored.globalPosition)
    }
  })
}
