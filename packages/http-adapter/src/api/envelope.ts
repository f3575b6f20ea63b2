import { HttpApiError, type HttpApp, HttpMethod, HttpServerError, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { JsonLimits } from "@mm-gateway/webhook-adapter"
import { Cause, Effect, Layer, Option } from "effect"
import { GraphJsonBodyBounds, JsonBodyBounds } from "./definition.js"
import { badRequest, envelopeJson, invalidRequest, NotFound, PayloadTooLarge } from "./errors.js"
import { graphInternalErrorJson, graphInvalidParameter, isDropInRequest } from "./graph-errors.js"
import { looksLikeStatusUpdate } from "./message-body.js"

/** The dotted path of a decode issue (`["template", "name"]` → `template.name`, array indexes included). */
export const dottedPath = (path: ReadonlyArray<PropertyKey>): string => path.map((p) => String(p)).join(".")

const MAX_MESSAGE_CHARS = 300

/**
 * What a decode issue says, without the value that failed: Schema appends `, actual <value>`, which
 * would echo a client's secret (a too-long `credentials.apiKey`) or a whole 1000-item batch back to it.
 */
export const issueText = (message: string): string => {
  const cut = message.indexOf(", actual ")
  const text = cut === -1 ? message : message.slice(0, cut)
  return text.length > MAX_MESSAGE_CHARS ? `${text.slice(0, MAX_MESSAGE_CHARS)}…` : text
}

/**
 * The first issue of a failed decode as the envelope's `field` and `message`; `reason` is the message
 * without the field (what the Graph envelope puts after `Param <field>`).
 */
export const firstIssue = (issues: ReadonlyArray<{ readonly path: ReadonlyArray<PropertyKey>; readonly message: string }>) => {
  const first = issues[0]
  if (first === undefined) return { field: "", message: "the request is not valid", reason: "The request is not valid" }
  const field = dottedPath(first.path)
  // An issue at the root is the body's own shape (an array, a string, null where an object belongs).
  if (field === "") {
    return { field, message: "the request body must be a JSON object of the documented shape", reason: "The request body must be a JSON object of the documented shape" }
  }
  const reason = issueText(first.message)
  return { field, message: `${field}: ${reason}`, reason }
}

/** Bodies of `/v1` requests are JSON documents; 1000 messages of a batch fit with room to spare. */
export const MAX_API_BODY_BYTES = 10 * 1024 * 1024

/** The framework's failures in each envelope: the API's own, and Graph's on the drop-in path. */
const ENVELOPES = {
  v1: {
    invalidJson: () => badRequest("invalid_json", "the request body is not valid JSON"),
    emptyJson: () => badRequest("invalid_json", "the request body is empty; a JSON document is expected"),
    tooLarge: () => new PayloadTooLarge({ error: { code: "payload_too_large", message: `request bodies are limited to ${MAX_API_BODY_BYTES} bytes` } }),
    invalid: (issue: ReturnType<typeof firstIssue>) => invalidRequest(issue.field, issue.message)
  },
  graph: {
    invalidJson: () => graphInvalidParameter("", "The request body is not valid JSON"),
    emptyJson: () => graphInvalidParameter("", "The request body is empty; a JSON document is expected"),
    tooLarge: () => graphInvalidParameter("", `The request body is larger than ${MAX_API_BODY_BYTES} bytes`),
    invalid: (issue: ReturnType<typeof firstIssue>) => graphInvalidParameter(issue.field, issue.reason)
  }
} as const

const envelopeOf = (request: HttpServerRequest.HttpServerRequest) => (isDropInRequest(request.method, request.url) ? ENVELOPES.graph : ENVELOPES.v1)

/**
 * Whether a body `/marketing_messages` could not decode is a Cloud API status update (a read receipt
 * or a typing indicator, docs/api.md#status-updates): it belongs on `/messages`, and the answer says
 * so rather than that `type` is missing. (`/messages` decodes status updates as such.)
 */
const misplacedStatusUpdate = (request: HttpServerRequest.HttpServerRequest) =>
  Effect.map(Effect.option(request.text), (text) => {
    if (Option.isNone(text) || request.url.split("?", 1)[0]!.endsWith("/messages")) return false
    try {
      return looksLikeStatusUpdate(JSON.parse(text.value))
    } catch {
      return false
    }
  })

const MISPLACED_STATUS_UPDATE = "is a status update (a read receipt or a typing indicator): post it to /messages, as the Cloud API takes it"

/** The body of the answer to a request over the API's size limit, in the envelope of its path (answered before the framework reads it). */
export const tooLargeJson = (method: string | undefined, url: string | undefined): { readonly status: number; readonly body: string } =>
  isDropInRequest(method, url)
    ? { status: 400, body: JSON.stringify(ENVELOPES.graph.tooLarge()) }
    : { status: 413, body: JSON.stringify(ENVELOPES.v1.tooLarge()) }

const emptyBody = Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) =>
  request.method === "GET" || request.method === "DELETE"
    ? Effect.succeed(false)
    : Effect.map(Effect.orElseSucceed(request.text, () => "x"), (text) => text.trim() === ""))

const bodyFailure = (u: unknown): "invalid_json" | "too_large" | null =>
  u instanceof HttpServerError.RequestError && u.reason === "Decode"
    ? (u.cause instanceof Error && u.cause.message === "maxBytes exceeded" ? "too_large" : "invalid_json")
    : null

/** A body beyond the JSON bounds, as a validation error naming the place and the bound. */
export const boundsError = (violation: JsonLimits.Violation) => {
  const field = dottedPath(violation.path)
  return invalidRequest(field, field === "" ? `the request body ${violation.message}` : `${field}: ${violation.message}`)
}

/**
 * The JSON bounds in front of the framework's body decoding. The platform caches `request.text`, so the
 * decoder reads the same text again. A body that cannot be read or parsed is left to the decoder, which
 * answers it as before (`payload_too_large`, `invalid_json`).
 */
const checkBounds = <E>(onViolation: (violation: JsonLimits.Violation) => E) =>
  Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) =>
    HttpMethod.hasBody(request.method)
      ? Effect.flatMap(Effect.option(request.text), (text) => {
        if (Option.isNone(text)) return Effect.void
        let document: unknown
        try {
          document = JSON.parse(text.value)
        } catch {
          return Effect.void
        }
        const violation = JsonLimits.firstViolation(document)
        return violation === undefined ? Effect.void : Effect.fail(onViolation(violation))
      })
      : Effect.void)

export const JsonBodyBoundsLive = Layer.succeed(JsonBodyBounds, checkBounds(boundsError))

/** The same bounds on the drop-in path, answered in Graph's envelope. */
export const GraphJsonBodyBoundsLive = Layer.succeed(
  GraphJsonBodyBounds,
  checkBounds((violation) => {
    const field = dottedPath(violation.path)
    return graphInvalidParameter(field, field === "" ? `The request body ${violation.message}` : violation.message)
  })
)

/**
 * The API-level middleware that puts the framework's own answers into the API's error envelope
 * (docs/api.md#error-envelope). @effect/platform 0.97 reads JSON bodies with `Effect.orDie(request.json)` —
 * malformed JSON would be a 500 — and answers validation failures with its own `HttpApiDecodeError` shape.
 * Here they become our `BadRequest`: `invalid_json`, or `invalid_request` with `details.field` the dotted
 * path of the first bad field. A body over the limit is a 413, an unknown route a `not_found`. Every other
 * failure passes through to HttpApi, which encodes the errors each endpoint declares.
 */
export const frameworkErrorsToEnvelope = <E, R>(app: HttpApp.Default<E, R>): HttpApp.Default<unknown, R> =>
  app.pipe(
    Effect.catchAll((error: unknown) =>
      Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
        const envelope = envelopeOf(request)
        if (error instanceof HttpApiError.HttpApiDecodeError) {
          const issue = firstIssue(error.issues)
          // The platform reads an empty body as `null`; for the client that is a missing JSON document.
          const refusal = issue.field === ""
            ? Effect.flatMap(emptyBody, (empty) => Effect.fail(empty ? envelope.emptyJson() : envelope.invalid(issue)))
            : Effect.fail(envelope.invalid(issue))
          return envelope === ENVELOPES.graph
            ? Effect.flatMap(misplacedStatusUpdate(request), (misplaced) => (misplaced ? Effect.fail(graphInvalidParameter("status", MISPLACED_STATUS_UPDATE)) : refusal))
            : refusal
        }
        if (error instanceof HttpServerError.RouteNotFound) {
          const path = error.request.url.split("?", 1)[0]
          return Effect.fail(new NotFound({ error: { code: "not_found", message: `no route for ${error.request.method} ${path}` } }))
        }
        const body = bodyFailure(error)
        return Effect.fail(body === null ? error : body === "too_large" ? envelope.tooLarge() : envelope.invalidJson())
      })
    ),
    Effect.catchSomeDefect((defect) => {
      const body = bodyFailure(defect)
      return body === null ? Option.none() : Option.some(Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
        const envelope = envelopeOf(request)
        return Effect.fail(body === "too_large" ? envelope.tooLarge() : envelope.invalidJson())
      }))
    })
  )

/**
 * The outermost guard: whatever is still a failure or a defect after HttpApi encoded its errors is an
 * internal error — logged with its cause, answered as a 500 in the envelope, never with the cause.
 */
export const internalErrorsToEnvelope = <E, R>(app: HttpApp.Default<E, R>): HttpApp.Default<never, R> =>
  app.pipe(
    Effect.catchAllCause((cause) =>
      Cause.isInterruptedOnly(cause)
        ? Effect.failCause(cause as Cause.Cause<never>)
        : Effect.logError("request failed", cause).pipe(
          Effect.zipRight(HttpServerRequest.HttpServerRequest),
          Effect.map((request) =>
            HttpServerResponse.text(
              isDropInRequest(request.method, request.url) ? graphInternalErrorJson() : envelopeJson("internal_error", "internal error"),
              { status: 500, contentType: "application/json" }
            )
          )
        )
    )
  )
