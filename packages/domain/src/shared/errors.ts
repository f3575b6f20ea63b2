import { Schema } from "effect"
import { TemplateCategory } from "../templates/category.js"

/** A command was aimed at something the gateway has no record of. */
export class NotRegistered extends Schema.TaggedError<NotRegistered>()("NotRegistered", {
  entity: Schema.Literal("business_manager", "waba", "channel", "template", "message", "click"),
  id: Schema.String
}) {}

/** A WABA is registered under one Business Manager; re-registering it under another is refused. */
export class WabaOwnedByAnotherBusinessManager extends Schema.TaggedError<WabaOwnedByAnotherBusinessManager>()(
  "WabaOwnedByAnotherBusinessManager",
  { wabaId: Schema.String, businessManagerId: Schema.String, requestedBusinessManagerId: Schema.String }
) {}

/** `message_send_ttl_seconds` outside the range Meta allows for the template's category. */
export class TtlOutOfRange extends Schema.TaggedError<TtlOutOfRange>()("TtlOutOfRange", {
  category: Schema.NullOr(TemplateCategory),
  ttlSeconds: Schema.Int,
  min: Schema.Int,
  max: Schema.Int
}) {}

export class ThroughputOutOfRange extends Schema.TaggedError<ThroughputOutOfRange>()("ThroughputOutOfRange", {
  throughputMps: Schema.Int,
  min: Schema.Int,
  max: Schema.Int
}) {}

/** The same idempotency key was used again with a different request. */
export class IdempotencyKeyReused extends Schema.TaggedError<IdempotencyKeyReused>()("IdempotencyKeyReused", {
  messageId: Schema.String
}) {}

/** The routing policy refuses to send this message at all (docs/domain.md#routing-policy); nothing is recorded or sent. */
export class RouteRejected extends Schema.TaggedError<RouteRejected>()("RouteRejected", {
  reasons: Schema.Array(Schema.String)
}) {}

/** A dispatch step that the message's current dispatch phase does not allow (the at-most-once guard). */
export class DispatchNotAllowed extends Schema.TaggedError<DispatchNotAllowed>()("DispatchNotAllowed", {
  messageId: Schema.String,
  phase: Schema.String,
  reason: Schema.String
}) {}

/** `POST /v1/messages/{id}/resolution` on a message that is not `dispatch_unknown`. */
export class ResolutionNotAllowed extends Schema.TaggedError<ResolutionNotAllowed>()("ResolutionNotAllowed", {
  messageId: Schema.String,
  status: Schema.String
}) {}

export class ClickAlreadyAttributed extends Schema.TaggedError<ClickAlreadyAttributed>()("ClickAlreadyAttributed", {
  clickId: Schema.String,
  messageId: Schema.String
}) {}

export type DomainError =
  | NotRegistered
  | WabaOwnedByAnotherBusinessManager
  | TtlOutOfRange
  | ThroughputOutOfRange
  | IdempotencyKeyReused
  | RouteRejected
  | DispatchNotAllowed
  | ResolutionNotAllowed
  | ClickAlreadyAttributed
