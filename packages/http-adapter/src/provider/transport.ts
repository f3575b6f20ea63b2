import { Context, Data, Effect, Layer } from "effect"
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

/** What came back: all the gateway reads of an answer. */
export interface ProviderAnswer {
  readonly status: number
  readonly retryAfter: string | undefined
  readonly text: string
}

/**
 * How the gateway POSTs a JSON body (a send), or GETs a Graph object (a status read). Our own
 * (`makeProviderTransport`) is plain node:http; any `HttpClient` can stand in through
 * `transportOverHttpClient` (tests, other runtimes).
 */
export class ProviderTransport extends Context.Tag("@mm-gateway/http-adapter/ProviderTransport")<ProviderTransport, {
  readonly post: (url: string, headers: Readonly<Record<string, string>>, json: string) => Effect.Effect<ProviderAnswer, TransportFailure>
  readonly get: (url: string, headers: Readonly<Record<string, string>>) => Effect.Effect<ProviderAnswer, TransportFailure>
}>() {}

/**
 * One request on node:http with its own bookkeeping of where it got to. The platform's
 * `NodeHttpClient` hands back the bare socket error, which cannot tell "reset while connecting"
 * from "reset after the server read the request"; here the phase is known when the error happens.
 * Answers are buffered whole (provider answers are small), so a connection dropped mid-body is a
 * transport failure in the `sent` phase, not a half-readable response. Nothing else is built per
 * request (no web `Response`, no span): this is the dispatcher's hot path.
 */
const requestOne = (
  agents: { readonly http: Http.Agent; readonly https: Https.Agent },
  options: TransportOptions,
  target: string,
  requestHeaders: Readonly<Record<string, string>>,
  /** The JSON body of a POST; `null` for a GET. */
  json: string | null
): Effect.Effect<ProviderAnswer, TransportFailure> =>
  Effect.async<ProviderAnswer, TransportFailure>((resume) => {
    let url: URL
    try {
      url = new URL(target)
    } catch {
      resume(Effect.fail(new TransportFailure({ phase: "not_sent", reason: "invalid_url" })))
      return
    }
    let connected = false
    let settled = false
    const isHttps = url.protocol === "https:"
    const headers: Record<string, string> = json === null ? { ...requestHeaders } : { ...requestHeaders, "content-length": String(Buffer.byteLength(json)) }

    let nodeRequest: Http.ClientRequest
    try {
      nodeRequest = (isHttps ? Https : Http).request(url, { agent: isHttps ? agents.https : agents.http, method: json === null ? "GET" : "POST", headers })
    } catch (cause) {
      // Node refuses the request before any I/O, e.g. a credential with a line break in a header.
      resume(Effect.fail(new TransportFailure({ phase: "not_sent", reason: describe("invalid_request", cause) })))
      return
    }

    const finish = (effect: Effect.Effect<ProviderAnswer, TransportFailure>) => {
      if (settled) return
      settled = true
      clearTimeout(connectTimer)
      clearTimeout(requestTimer)
      resume(effect)
    }
    const fail = (phase: TransportFailure["phase"], reason: string) => {
      finish(Effect.fail(new TransportFailure({ phase, reason })))
      nodeRequest.destroy()
    }

    const connectTimer = setTimeout(() => {
      if (!connected) fail("not_sent", "connect_timeout")
    }, options.connectTimeoutMs)
    const requestTimer = setTimeout(() => {
      fail(connected ? "sent" : "not_sent", connected ? "timeout_after_send" : "connect_timeout")
    }, options.requestTimeoutMs)

    nodeRequest.on("socket", (socket: Socket) => {
      // A reused keep-alive socket is connected (and handshaken) already; a fresh one is still
      // connecting here, since `socket` is emitted on the next tick after it was created.
      if (nodeRequest.reusedSocket || (!socket.connecting && !isHttps)) connected = true
      else {
        socket.once(isHttps ? "secureConnect" : "connect", () => {
          connected = true
        })
      }
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
        const retryAfter = response.headers["retry-after"]
        const text = chunks.length === 1 ? chunks[0]!.toString("utf8") : Buffer.concat(chunks).toString("utf8")
        finish(Effect.succeed({ status, retryAfter, text }))
      })
    })

    if (json === null) nodeRequest.end()
    else nodeRequest.end(json)

    return Effect.sync(() => {
      if (!settled) {
        settled = true
        clearTimeout(connectTimer)
        clearTimeout(requestTimer)
      }
      nodeRequest.destroy()
    })
  })

/**
 * The transport on node:http(s) with keep-alive agents (bounded sockets per origin, idle sockets
 * closed after `idleSocketTimeoutMs`) and the two timeouts. The agents close with the scope.
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
    return ProviderTransport.of({
      post: (url, headers, json) => requestOne(agents, options, url, headers, json),
      get: (url, headers) => requestOne(agents, options, url, headers, null)
    })
  })

export const providerTransportLayer = (options: TransportOptions): Layer.Layer<ProviderTransport> =>
  Layer.scoped(ProviderTransport, makeProviderTransport(options))
