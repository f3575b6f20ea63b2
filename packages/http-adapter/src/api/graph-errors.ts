import { HttpApiSchema } from "@effect/platform"
import { Schema } from "effect"
import { randomBytes } from "node:crypto"

/**
 * Graph's error envelope, which the drop-in send path answers in (docs/api.md#drop-in-errors):
 * `{"error": {"message", "type", "code", "error_subcode"?, "error_data"?: {"messaging_product", "details"}, "fbtrace_id"}}`
 * with Graph's numeric codes, so a client written against the Cloud API (and its SDK) reads it as it
 * reads Meta's. One class per HTTP status; the code literals tell them apart when HttpApi encodes a
 * failure (it takes the first error schema that accepts it, see errors.ts).
 */

/** The Graph codes the drop-in path answers with (docs/api.md#drop-in-errors says when). */
export const GRAPH_CODES = {
  invalidParameter: 100,
  parameterValueNotValid: 131009,
  businessAccountLocked: 131031,
  perUserMarketingLimit: 131049,
  userStoppedMarketing: 131050,
  methodNotAllowed: 131055,
  invalidToken: 190,
  permissionDenied: 10,
  unknownError: 1,
  temporarilyUnavailable: 2
} as const

const envelope = <const Codes extends ReadonlyArray<number>>(...codes: Codes) => ({
  error: Schema.Struct({
    message: Schema.String,
    type: Schema.Literal("OAuthException", "GraphMethodException"),
    code: Schema.Literal(...codes),
    error_subcode: Schema.optional(Schema.Number),
    error_data: Schema.optional(Schema.Struct({ messaging_product: Schema.Literal("whatsapp"), details: Schema.String })),
    fbtrace_id: Schema.String
  })
})

export class GraphBadRequest extends Schema.Class<GraphBadRequest>("GraphBadRequest")(
  envelope(
    GRAPH_CODES.invalidParameter,
    GRAPH_CODES.parameterValueNotValid,
    GRAPH_CODES.businessAccountLocked,
    GRAPH_CODES.perUserMarketingLimit,
    GRAPH_CODES.userStoppedMarketing,
    GRAPH_CODES.methodNotAllowed
  ),
  HttpApiSchema.annotations({
    status: 400,
    description:
      "Graph error: 100 a bad parameter (error_data.details names it) or, with error_subcode 33, an unknown phone number id; 131055, 131031, 131050, 131049, 131009 the routing policy refuses the message"
  })
) {}

export class GraphUnauthorized extends Schema.Class<GraphUnauthorized>("GraphUnauthorized")(
  envelope(GRAPH_CODES.invalidToken),
  HttpApiSchema.annotations({ status: 401, description: "Graph error 190: the token or key is missing, unknown or revoked" })
) {}

export class GraphForbidden extends Schema.Class<GraphForbidden>("GraphForbidden")(
  envelope(GRAPH_CODES.permissionDenied),
  HttpApiSchema.annotations({ status: 403, description: "Graph error 10: the key may not do this (a D360-API-KEY must be scoped to exactly one channel)" })
) {}

export class GraphUnavailable extends Schema.Class<GraphUnavailable>("GraphUnavailable")(
  envelope(GRAPH_CODES.temporarilyUnavailable),
  HttpApiSchema.annotations({ status: 503, description: "Graph error 2: a status update could not be relayed to the channel's provider (error_data.details says why)" })
) {}

/** Graph's trace id of an error: opaque, unique per answer. */
const fbtraceId = (): string => `A${randomBytes(15).toString("base64url")}`

const details = (text: string) => ({ messaging_product: "whatsapp" as const, details: text })

/** Bad input, naming the field (a dotted path; empty for the body as a whole). */
export const graphInvalidParameter = (field: string, why: string) => {
  const text = field === "" ? why : `Param ${field} ${why}`
  return new GraphBadRequest({
    error: { message: `(#100) ${text}`, type: "OAuthException", code: GRAPH_CODES.invalidParameter, error_data: details(text), fbtrace_id: fbtraceId() }
  })
}

/**
 * Graph's answer for an object that does not exist or may not be seen, the same for both (a key never
 * learns another tenant's numbers). `id` is quoted only when it has the shape of one.
 */
export const graphUnknownObject = (id: string) =>
  new GraphBadRequest({
    error: {
      message: `Unsupported post request. Object with ID '${/^[0-9]{1,32}$/.test(id) ? id : "…"}' does not exist, cannot be loaded due to missing permissions, or does not support this operation.`,
      type: "GraphMethodException",
      code: GRAPH_CODES.invalidParameter,
      error_subcode: 33,
      fbtrace_id: fbtraceId()
    }
  })

type RefusalCode = typeof GRAPH_CODES[
  "methodNotAllowed" | "businessAccountLocked" | "userStoppedMarketing" | "perUserMarketingLimit" | "parameterValueNotValid"
]

/**
 * The routing policy's refusals (docs/domain.md#routing-policy) as the Graph error Meta answers for the
 * same situation, so a client's existing handling applies: 131055 for what the MM API does not take,
 * 131031 for a locked account, 131050 / 131049 for a recipient who stopped marketing or is in its
 * per-user cooldown, 131009 for a TTL the fallback cannot honour. The gateway's reasons follow in
 * `error_data.details`.
 */
const REFUSALS: Readonly<Record<string, { readonly code: RefusalCode; readonly message: string; readonly details: string }>> = {
  not_a_marketing_template: {
    code: GRAPH_CODES.methodNotAllowed,
    message: "(#131055) Method not allowed",
    details: "Only marketing template messages are supported"
  },
  mm_api_not_available: {
    code: GRAPH_CODES.methodNotAllowed,
    message: "(#200) You must accept the Marketing Messages Lite API terms to use the API.",
    details: "The WhatsApp Business Account has not accepted the Marketing Messages API terms, and product_policy STRICT allows no fallback"
  },
  waba_suspended: {
    code: GRAPH_CODES.businessAccountLocked,
    message: "(#131031) Business Account locked",
    details: "The WhatsApp Business Account is restricted or disabled: it cannot send business-initiated messages"
  },
  recipient_opted_out: {
    code: GRAPH_CODES.userStoppedMarketing,
    message: "(#131050) Unable to deliver the message. This recipient has chosen to stop receiving marketing messages on WhatsApp from your business.",
    details: "The recipient stopped marketing messages from this WhatsApp Business Account"
  },
  recipient_marketing_cooldown: {
    code: GRAPH_CODES.perUserMarketingLimit,
    message: "(#131049) This message was not delivered to maintain healthy ecosystem engagement.",
    details: "The recipient reached the per-user marketing limit less than 24 hours ago; a marketing message is not resent before then"
  },
  ttl_requires_mm_api: {
    code: GRAPH_CODES.parameterValueNotValid,
    message: "(#131009) Parameter value is not valid",
    details: "The template's message_send_ttl_seconds is honoured only on the MM API, which this message cannot use, and the partner policy refuses the Cloud API fallback"
  }
}

export const graphRouteRejected = (reasons: ReadonlyArray<string>) => {
  const first = REFUSALS[reasons[0] ?? ""] ?? REFUSALS["not_a_marketing_template"]!
  return new GraphBadRequest({
    error: {
      message: first.message,
      type: "OAuthException",
      code: first.code,
      error_data: details(`${first.details} (mm-gateway route_rejected: ${reasons.join(", ")})`),
      fbtrace_id: fbtraceId()
    }
  })
}

export const graphIdempotencyKeyReused = () =>
  graphInvalidParameter("Idempotency-Key", "was used before with a different request")

export const graphUnauthorized = (message: string) =>
  new GraphUnauthorized({ error: { message, type: "OAuthException", code: GRAPH_CODES.invalidToken, fbtrace_id: fbtraceId() } })

export const graphForbidden = (why: string) =>
  new GraphForbidden({
    error: {
      message: "(#10) Application does not have permission for this action",
      type: "OAuthException",
      code: GRAPH_CODES.permissionDenied,
      error_data: details(why),
      fbtrace_id: fbtraceId()
    }
  })

/** A bug, in Graph's shape: logged with its cause by the caller, answered without it. */
export const graphInternalErrorJson = (): string =>
  JSON.stringify({ error: { message: "An unknown error occurred", type: "OAuthException", code: GRAPH_CODES.unknownError, fbtrace_id: fbtraceId() } })

/**
 * The drop-in paths: `POST /messages`, `/marketing_messages`, `/{phone-number-id}/…` and
 * `/{version}/{phone-number-id}/…` (docs/api.md#the-drop-in-send-path). Their errors, the framework's
 * own included, are answered in Graph's envelope.
 */
const DROP_IN_PATH = /^(?:\/[^/]+){0,2}\/(?:messages|marketing_messages)$/

export const isDropInRequest = (method: string | undefined, url: string | undefined): boolean =>
  method === "POST" && DROP_IN_PATH.test((url ?? "/").split("?", 1)[0]!)

/**
 * A status update the provider did not answer: `sent` says whether it may have reached it (a read
 * receipt is harmless to send again, so the client may simply retry).
 */
export const graphProviderUnavailable = (reason: string, sent: boolean) => {
  const text = sent
    ? `The channel's provider gave no complete answer (${reason}); the status update may have been applied, and is safe to send again`
    : `The status update could not be sent to the channel's provider (${reason})`
  return new GraphUnavailable({
    error: { message: `(#2) ${text}`, type: "OAuthException", code: GRAPH_CODES.temporarilyUnavailable, error_data: details(text), fbtrace_id: fbtraceId() }
  })
}
