import { HttpClient, HttpClientError, HttpClientResponse } from "@effect/platform"
import type { HttpClientRequest } from "@effect/platform"
import { Data, Effect, Layer } from "effect"
import * as Http from "node:http"
import * as Https from "node:https"
import type { Socket } from "node:net"

/**
 * Why a request produced no response, and how far it got. `not_sent`: no byte can have reached
 * the server (refused, DNS, TLS handshake, connect timeout, still waiting for a socket).
 * `sent`: the request was on a connected socket, so the server may have acted on it.
 */
export class TransportFailure extends Data.TaggedError("TransportFailure")<{
  readonly phase: "not_sent" | "sent"
  readonly reason: string
}> {
  override get message() {
    return `${this.phase}: ${this.reason}`
  }
}

export interface TransportOptions {
  readonly requestTimeoutMs: number
  readonly connectTimeoutMs: number
  readonly maxSocketsPerOrigin: number
  readonly idleSocketTimeoutMs: number
  readonly tlsCa?: string
}

/** Node error codes that can only come from opening a connection. */
const CONNECT_CODES: Record<string, string> = {
  ECONNREFUSED: "connection_refused",
  ENOTFOUND: "dns_failure",
  EAI_AGAIN: "dns_failure",
  EAI_FAIL: "dns_failure",
  EAI_NONAME: "dns_failure",
  ENETUNREACH: "network_unreachable",
  EHOSTUNREACH: "host_unreachable",
  EADDRNOTAVAIL: "address_not_available"
}

const codeOf = (cause: unknown): string | undefined => {
  const code = typeof cause === "object" && cause !== null ? (cause as { code?: unknown }).code : undefined
  return typeof code === "string" ? code : undefined
}

const describe = (prefix: string, cause: unknown): string => {
  const code = codeOf(cause)
  return code === undefined ? prefix : `${prefix} (${code})`
}

/** Statuses a web `Response` must carry without a body. */
const NULL_BODY = new Set([101, 103, 204, 205, 304])

const bodyBytes = (request: HttpClientRequest.HttpClientRequest): Uint8Array | string | null | undefined => {
  const body = request.body
  switch (body._tag) {
    case "Empty":
      return null
    case "Uint8Array":
      return body.body
    case "Raw":
      return typeof body.body === "string" || body.body instanceof Uint8Array ? body.body : undefined
    default:
      return undefined
  }
}

/**
 * One request on node:http with its own bookkeeping of where it got to. The platform's
 * `NodeHttpClient` hands back the bare socket error, which cannot tell "reset while connecting"
 * from "reset after the server read the request"; here the phase is known when the error happens.
 * Answers are buffered whole (provider answers are small), so a connection dropped mid-body is a
 * transport failure in the `sent` phase, not a half-readable response.
 */
const sendOne = (
  agents: { readonly http: Http.Agent; readonly https: Https.Agent },
  options: TransportOptions,
  request: HttpClientRequest.HttpClientRequest,
  url: URL,
  signal: AbortSignal
): Effect.Effect<HttpClientResponse.HttpClientResponse, HttpClientError.HttpClientError> =>
  Effect.async<HttpClientResponse.HttpClientResponse, HttpClientError.HttpClientError>((resume) => {
    const body = bodyBytes(request)
    if (body === undefined) {
      resume(Effect.fail(new HttpClientError.RequestError({ request, reason: "Encode", description: "only in-memory bodies are supported" })))
      return
    }
    let connected = false
    let settled = false
    const timers: Array<NodeJS.Timeout> = []
    const isHttps = url.protocol === "https:"
    const headers: Record<string, string> = { ...request.headers }
    if (body !== null) headers["content-length"] = String(typeof body === "string" ? Buffer.byteLength(body) : body.byteLength)

    let nodeRequest: Http.ClientRequest
    try {
      nodeRequest = (isHttps ? Https : Http).request(url, {
        agent: isHttps ? agents.https : agents.http,
        method: request.method,
        headers
      })
    } catch (cause) {
      // Node refuses the request before any I/O, e.g. a credential with a line break in a header.
      const failure = new TransportFailure({ phase: "not_sent", reason: describe("invalid_request", cause) })
      resume(Effect.fail(new HttpClientError.RequestError({ request, reason: "Transport", cause: failure, description: failure.message })))
      return
    }

    const finish = (effect: Effect.Effect<HttpClientResponse.HttpClientResponse, HttpClientError.HttpClientError>) => {
      if (settled) return
      settled = true
      for (const timer of timers) clearTimeout(timer)
      signal.removeEventListener("abort", onAbort)
      resume(effect)
    }
    const fail = (phase: TransportFailure["phase"], reason: string) => {
      finish(Effect.fail(new HttpClientError.RequestError({
        request,
        reason: "Transport",
        cause: new TransportFailure({ phase, reason }),
        description: `${phase}: ${reason}`
      })))
      nodeRequest.destroy()
    }
    const onAbort = () => fail(connected ? "sent" : "not_sent", "aborted")
    signal.addEventListener("abort", onAbort, { once: true })

    timers.push(setTimeout(() => {
      if (!connected) fail("not_sent", "connect_timeout")
    }, options.connectTimeoutMs))
    timers.push(setTimeout(() => {
      fail(connected ? "sent" : "not_sent", connected ? "timeout_after_send" : "connect_timeout")
    }, options.requestTimeoutMs))

    nodeRequest.on("socket", (socket: Socket) => {
      const established = () => {
        connected = true
      }
      // A reused keep-alive socket is connected (and handshaken) already; a fresh one is still
      // connecting here, since `socket` is emitted on the next tick after it was created.
      if (nodeRequest.reusedSocket || (!socket.connecting && !isHttps)) established()
      else socket.once(isHttps ? "secureConnect" : "connect", established)
    })

    nodeRequest.on("error", (cause) => {
      if (!connected) {
        const known = CONNECT_CODES[codeOf(cause) ?? ""]
        fail("not_sent", known ?? (isHttps ? describe("tls_handshake_failed", cause) : describe("connect_failed", cause)))
      } else if (codeOf(cause)?.startsWith("HPE_")) {
        fail("sent", describe("unparseable_response", cause))
      } else {
        fail("sent", describe(nodeRequest.reusedSocket ? "connection_lost_on_reused_socket" : "connection_lost", cause))
      }
    })

    nodeRequest.on("response", (response) => {
      const chunks: Array<Buffer> = []
      response.on("data", (chunk: Buffer) => chunks.push(chunk))
      response.on("error", (cause) => fail("sent", describe("response_incomplete", cause)))
      response.on("close", () => {
        if (!response.complete) fail("sent", "response_incomplete")
      })
      response.on("end", () => {
        if (!response.complete) return fail("sent", "response_incomplete")
        const status = response.statusCode ?? 0
        if (status < 200 || status > 599) return fail("sent", `unexpected_status_${status}`)
        const responseHeaders = new globalThis.Headers()
        for (const [name, value] of Object.entries(response.headers)) {
          if (value === undefined) continue
          for (const v of Array.isArray(value) ? value : [value]) responseHeaders.append(name, v)
        }
        const web = new Response(NULL_BODY.has(status) ? null : Buffer.concat(chunks), { status, headers: responseHeaders })
        finish(Effect.succeed(HttpClientResponse.fromWeb(request, web)))
      })
    })

    if (body === null) nodeRequest.end()
    else nodeRequest.end(body)

    return Effect.sync(() => {
      if (!settled) {
        settled = true
        for (const timer of timers) clearTimeout(timer)
        signal.removeEventListener("abort", onAbort)
      }
      nodeRequest.destroy()
    })
  })

/**
 * An `HttpClient` on node:http(s) with keep-alive agents (bounded sockets per origin, idle sockets
 * closed after `idleSocketTimeoutMs`) and the two timeouts. Transport failures are
 * `RequestError { reason: "Transport", cause: TransportFailure }`. The agents close with the scope.
 */
export const makeProviderTransport = (options: TransportOptions) =>
  Effect.gen(function*() {
    const agentOptions = {
      keepAlive: true,
      maxSockets: options.maxSocketsPerOrigin,
      maxFreeSockets: options.maxSocketsPerOrigin,
      scheduling: "lifo" as const,
      timeout: options.idleSocketTimeoutMs
    }
    const agents = yield* Effect.acquireRelease(
      Effect.sync(() => ({
        http: new Http.Agent(agentOptions),
        https: new Https.Agent(options.tlsCa === undefined ? agentOptions : { ...agentOptions, ca: options.tlsCa })
      })),
      ({ http, https }) =>
        Effect.sync(() => {
          http.destroy()
          https.destroy()
        })
    )
    return HttpClient.make((request, url, signal) => sendOne(agents, options, request, url, signal)).pipe(
      HttpClient.withTracerPropagation(false)
    )
  })

export const providerTransportLayer = (options: TransportOptions): Layer.Layer<HttpClient.HttpClient> =>
  Layer.scoped(HttpClient.HttpClient, makeProviderTransport(options))
