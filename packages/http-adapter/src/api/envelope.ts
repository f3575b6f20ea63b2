import { HttpApiError, type HttpApp, HttpServerError, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Cause, Effect, Option } from "effect"
import { badRequest, envelopeJson, invalidRequest, NotFound } from "./errors.js"

/** The dotted path of a decode issue (`["template", "name"]` → `template.name`, array indexes included). */
export const dottedPath = (path: ReadonlyArray<PropertyKey>): string => path.map((p) => String(p)).join(".")

const invalidJson = () => badRequest("invalid_json", "the request body is not valid JSON")

const emptyJson = () => badRequest("invalid_json", "the request body is empty; a JSON document is expected")

const emptyBody = Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) =>
  request.method === "GET" || request.method === "DELETE"
    ? Effect.succeed(false)
    : Effect.map(Effect.orElseSucceed(request.text, () => "x"), (text) => text.trim() === ""))

const isBodyDecodeFailure = (u: unknown): boolean => u instanceof HttpServerError.RequestError && u.reason === "Decode"

/**
 * The API-level middleware that puts the framework's own answers into the API's error envelope
 * (SPEC §3). @effect/platform 0.97 reads JSON bodies with `Effect.orDie(request.json)` — malformed JSON
 * would be a 500 — and answers validation failures with its own `HttpApiDecodeError` shape. Here they
 * become our `BadRequest`: `invalid_json`, or `invalid_request` with `details.field` the dotted path of
 * the first bad field. An unknown route becomes a `not_found`. Every other failure passes through to
 * HttpApi, which encodes the errors each endpoint declares.
 */
export const frameworkErrorsToEnvelope = <E, R>(app: HttpApp.Default<E, R>): HttpApp.Default<unknown, R> =>
  app.pipe(
    Effect.catchAll((error: unknown) => {
      if (error instanceof HttpApiError.HttpApiDecodeError) {
        const first = error.issues[0]
        const field = first === undefined ? "" : dottedPath(first.path)
        const message = first === undefined ? "the request is not valid" : field === "" ? first.message : `${field}: ${first.message}`
        // The platform reads an empty body as `null`; for the client that is a missing JSON document.
        return field === ""
          ? Effect.flatMap(emptyBody, (empty) => Effect.fail(empty ? emptyJson() : invalidRequest(field, message)))
          : Effect.fail(invalidRequest(field, message))
      }
      if (error instanceof HttpServerError.RouteNotFound) {
        const path = error.request.url.split("?", 1)[0]
        return Effect.fail(new NotFound({ error: { code: "not_found", message: `no route for ${error.request.method} ${path}` } }))
      }
      return Effect.fail(isBodyDecodeFailure(error) ? invalidJson() : error)
    }),
    Effect.catchSomeDefect((defect) => isBodyDecodeFailure(defect) ? Option.some(Effect.fail(invalidJson())) : Option.none())
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
          Effect.as(HttpServerResponse.text(envelopeJson("internal_error", "internal error"), { status: 500, contentType: "application/json" }))
        )
    )
  )
