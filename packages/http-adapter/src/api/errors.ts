import { HttpApiSchema } from "@effect/platform"
import { Schema } from "effect"

/**
 * The error envelope of the API (docs/api.md#error-envelope): `{"error": {"code", "message", "details"}}`
 * with a fitting status. One class per status, so HttpApi encodes each with its status and OpenAPI documents
 * them.
 */
export const ErrorBody = Schema.Struct({
  code: Schema.String,
  message: Schema.String,
  details: Schema.optional(Schema.Unknown)
})
export type ErrorBody = typeof ErrorBody.Type

/**
 * The envelope for one status, with the codes that status may carry. The codes are literals on
 * purpose: HttpApi encodes a failure with the first error schema of the union that accepts it, and
 * classes of the same shape would all accept each other's instances (every error would leave with the
 * first status). The literals tell them apart, and list the codes in the OpenAPI document.
 */
const envelope = <const Codes extends ReadonlyArray<string>>(...codes: Codes) => ({
  error: Schema.Struct({
    code: Schema.Literal(...codes),
    message: Schema.String,
    details: Schema.optional(Schema.Unknown)
  })
})

export class BadRequest extends Schema.Class<BadRequest>("BadRequest")(
  envelope("invalid_json", "invalid_request"),
  HttpApiSchema.annotations({ status: 400, description: "invalid_json, invalid_request (details.field names the first bad field)" })
) {}
export class Unauthorized extends Schema.Class<Unauthorized>("Unauthorized")(
  envelope("unauthorized"),
  HttpApiSchema.annotations({ status: 401, description: "missing or unknown token" })
) {}
export class Forbidden extends Schema.Class<Forbidden>("Forbidden")(
  envelope("forbidden", "meta_insufficient_permissions"),
  HttpApiSchema.annotations({
    status: 403,
    description: "forbidden: the token may not do this; meta_insufficient_permissions: Meta refused the partner's system-user token the permission (details.graph)"
  })
) {}
export class NotFound extends Schema.Class<NotFound>("NotFound")(
  envelope("not_found"),
  HttpApiSchema.annotations({ status: 404, description: "no such resource (or not visible to this key)" })
) {}
export class Conflict extends Schema.Class<Conflict>("Conflict")(
  envelope(
    "idempotency_key_reused",
    "waba_owned_by_another_business_manager",
    "not_dispatch_unknown",
    "click_already_attributed",
    "click_on_another_channel",
    "not_quarantined",
    "meta_request_already_sent"
  ),
  HttpApiSchema.annotations({
    status: 409,
    description:
      "idempotency_key_reused, waba_owned_by_another_business_manager, not_dispatch_unknown, click_already_attributed, click_on_another_channel, not_quarantined, meta_request_already_sent"
  })
) {}
export class PayloadTooLarge extends Schema.Class<PayloadTooLarge>("PayloadTooLarge")(
  envelope("payload_too_large"),
  HttpApiSchema.annotations({ status: 413, description: "the request body is larger than the API accepts" })
) {}
export class Unprocessable extends Schema.Class<Unprocessable>("Unprocessable")(
  envelope("route_rejected", "meta_not_configured", "meta_invalid_recipient_type"),
  HttpApiSchema.annotations({
    status: 422,
    description:
      "route_rejected: the routing policy refuses the message (details.reasons); meta_not_configured: a setting Meta's Intent API needs is not set (details.setting); meta_invalid_recipient_type: Meta will not invite this business (details.cause, details.graph)"
  })
) {}
export class BadGateway extends Schema.Class<BadGateway>("BadGateway")(
  envelope("meta_error", "meta_no_answer"),
  HttpApiSchema.annotations({
    status: 502,
    description: "meta_error: Meta answered with an error this endpoint does not document (details.graph: its HTTP status, code and message); meta_no_answer: the request reached Meta but no answer came back"
  })
) {}
export class ServiceUnavailable extends Schema.Class<ServiceUnavailable>("ServiceUnavailable")(
  envelope("not_ready", "meta_unreachable"),
  HttpApiSchema.annotations({
    status: 503,
    description: "not_ready: the database is unreachable or its migrations are not applied; meta_unreachable: Meta's Graph API could not be reached, nothing was sent"
  })
) {}

type CodeOf<E extends { readonly error: { readonly code: string } }> = E["error"]["code"]

const body = <C extends string>(code: C, message: string, details?: unknown) =>
  details === undefined ? { code, message } : { code, message, details }

export const badRequest = (code: CodeOf<BadRequest>, message: string, details?: unknown) => new BadRequest({ error: body(code, message, details) })
export const invalidRequest = (field: string, message: string) =>
  new BadRequest({ error: body("invalid_request", message, { field }) })
export const unauthorized = (message = "missing or unknown bearer token") => new Unauthorized({ error: body("unauthorized", message) })
export const forbidden = (message: string) => new Forbidden({ error: body("forbidden", message) })
export const notFound = (what: string, id: string) => new NotFound({ error: body("not_found", `${what} ${id} not found`, { resource: what, id }) })
export const conflict = (code: CodeOf<Conflict>, message: string, details?: unknown) => new Conflict({ error: body(code, message, details) })
export const forbiddenBy = (code: CodeOf<Forbidden>, message: string, details?: unknown) => new Forbidden({ error: body(code, message, details) })
export const badGateway = (code: CodeOf<BadGateway>, message: string, details?: unknown) => new BadGateway({ error: body(code, message, details) })
export const serviceUnavailable = (code: CodeOf<ServiceUnavailable>, message: string, details?: unknown) =>
  new ServiceUnavailable({ error: body(code, message, details) })
export const unprocessable = (code: CodeOf<Unprocessable>, message: string, details?: unknown) =>
  new Unprocessable({ error: body(code, message, details) })

/** The JSON of an error envelope, for the paths that answer outside HttpApi (webhooks, the JSON guard). */
export const envelopeJson = (code: string, message: string, details?: unknown): string =>
  JSON.stringify({ error: body(code, message, details) })
