import { type DeliveryAttempt, WebhookDeliverer } from "@mm-gateway/ports"
import { signMetaWebhook } from "@mm-gateway/webhook-adapter"
import { Effect, Either, Layer, Redacted } from "effect"
import { lookup as dnsLookup, type LookupAddress } from "node:dns"
import * as http from "node:http"
import * as https from "node:https"
import type { LookupFunction } from "node:net"
import { urlToHttpOptions } from "node:url"
import { type CredentialsKey, openSecret } from "../provider/credentials.js"
import { addressProblem, type ForwardAddressPolicy, hostOf, urlProblem } from "./address-policy.js"

/** The purpose an endpoint's signing secret is sealed under (`sealSecret`). */
export const ENDPOINT_SECRET_PURPOSE = "mm-gateway webhook endpoint secret v1"

export interface DelivererOptions extends ForwardAddressPolicy {
  readonly key: CredentialsKey
  /** The longest one attempt may take, connection to the end of the answer. */
  readonly timeoutMs: number
}

/** How much of an endpoint's answer is read (and thrown away) before the connection is let go. */
const MAX_ANSWER_BYTES = 64 * 1024

/** `Retry-After` as milliseconds: seconds, or an HTTP date. */
const retryAfterOf = (value: string | undefined, now: number): number | null => {
  if (value === undefined) return null
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1_000
  const at = Date.parse(value)
  return Number.isNaN(at) ? null : Math.max(0, at - now)
}

class AddressRefused extends Error {
  readonly code = "ADDRESS_REFUSED"
}

/**
 * A lookup that resolves as the system does and refuses the connection when an address it found is
 * not public (unless the host is allowed): the socket connects to exactly the address that was
 * checked, so a name that resolves differently a moment later changes nothing.
 */
const vettedLookup = (policy: ForwardAddressPolicy, host: string): LookupFunction => (hostname, options, callback) => {
  dnsLookup(hostname, { ...options, all: true }, (error, addresses: Array<LookupAddress>) => {
    if (error !== null) return callback(error, "", 4)
    const problem = addressProblem(policy, host, addresses.map((a) => a.address))
    if (problem !== null) return callback(new AddressRefused(problem), "", 4)
    if ((options as { all?: boolean }).all === true) return (callback as unknown as (e: null, a: Array<LookupAddress>) => void)(null, addresses)
    const first = addresses[0]!
    return callback(null, first.address, first.family)
  })
}

/**
 * The `WebhookDeliverer` over Node's HTTP clients (docs/forwarding.md#delivery): one POST with
 * keep-alive, `X-Hub-Signature-256` (the endpoint's secret, decrypted here), `X-Mmgw-Delivery-Id`;
 * a 2xx is delivered, anything else (a redirect included: none is followed) a failed attempt.
 */
export const makeWebhookDeliverer = (options: DelivererOptions) => {
  const agents = { "http:": new http.Agent({ keepAlive: true }), "https:": new https.Agent({ keepAlive: true }) }

  /** What every request to one endpoint shares, worked out once when it is opened. */
  interface Target {
    readonly client: typeof http | typeof https
    readonly options: http.RequestOptions
  }
  const targetOf = (url: URL): Target => ({
    client: url.protocol === "https:" ? https : http,
    options: {
      ...urlToHttpOptions(url),
      method: "POST",
      agent: agents[url.protocol as "http:" | "https:"],
      lookup: vettedLookup(options, hostOf(url))
    }
  })

  const post = ({ client, options: target }: Target, headers: Record<string, string>, body: Uint8Array): Promise<DeliveryAttempt> =>
    new Promise((resolve) => {
      let timer: ReturnType<typeof setTimeout> | undefined
      const done = (attempt: DeliveryAttempt) => {
        clearTimeout(timer)
        resolve(attempt)
      }
      const failed = (error: string, status: number | null = null, retryAfterMs: number | null = null) =>
        done({ _tag: "Failed", status, error, retryAfterMs })
      const request = client.request({ ...target, headers }, (response) => {
        const status = response.statusCode ?? 0
        let read = 0
        response.on("data", (chunk: Buffer) => {
          read += chunk.length
          if (read > MAX_ANSWER_BYTES) response.destroy()
        })
        response.on("close", () => {
          if (status >= 200 && status < 300) return done({ _tag: "Delivered", status })
          if (status >= 300 && status < 400) return failed(`HTTP ${status}: redirects are not followed`, status)
          failed(`HTTP ${status}`, status, retryAfterOf(response.headers["retry-after"] as string | undefined, Date.now()))
        })
        response.on("error", () => {})
      })
      // The whole attempt, connection to the end of the answer: a trickling answer is cut off too.
      timer = setTimeout(() => request.destroy(new Error(`no answer within ${options.timeoutMs} ms`)), options.timeoutMs)
      request.on("error", (error: Error & { code?: string }) => {
        if (error instanceof AddressRefused) return failed(error.message)
        failed(error.code !== undefined && !error.message.includes(error.code) ? `${error.code}: ${error.message}` : error.message)
      })
      request.end(body)
    })

  const deliverer = WebhookDeliverer.of({
    to: (endpoint) => {
      // An endpoint that cannot be opened: every attempt fails, saying why.
      const failing = (error: string) => () => Effect.succeed<DeliveryAttempt>({ _tag: "Failed", status: null, error, retryAfterMs: null })
      const problem = urlProblem(options, endpoint.url)
      if (problem !== null) return failing(`url ${problem}`)
      const opened = openSecret(endpoint.secretCiphertext, options.key, ENDPOINT_SECRET_PURPOSE)
      if (Either.isLeft(opened)) return failing(opened.left.message)
      const secret = Redacted.make(opened.right)
      const target = targetOf(new URL(endpoint.url))
      return (deliveryId, body) =>
        Effect.promise(() =>
          post(target, {
            "content-type": "application/json",
            "content-length": String(body.byteLength),
            "user-agent": "mm-gateway",
            "x-hub-signature-256": signMetaWebhook(body, secret),
            "x-mmgw-delivery-id": deliveryId
          }, body)
        )
    }
  })
  const close = () => {
    agents["http:"].destroy()
    agents["https:"].destroy()
  }
  return { deliverer, close }
}

/** The deliverer for as long as the layer is in use; its kept-alive connections are closed with it. */
export const layerWebhookDeliverer = (options: DelivererOptions): Layer.Layer<WebhookDeliverer> =>
  Layer.scoped(
    WebhookDeliverer,
    Effect.map(
      Effect.acquireRelease(Effect.sync(() => makeWebhookDeliverer(options)), (made) => Effect.sync(made.close)),
      (made) => made.deliverer
    )
  )
