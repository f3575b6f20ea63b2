import type { IncomingMessage, ServerResponse } from "node:http"
import type { HeaderBag } from "@mm-gateway/webhook-adapter"
import type { Either } from "effect"
import { envelopeJson } from "./errors.js"

/** Meta's maximum webhook payload (docs/provider.md#webhook-payload-size). */
export const MAX_WEBHOOK_BYTES = 3 * 1024 * 1024
/** How much of an oversized body is read and discarded so the sender sees the 413; beyond it the socket is cut. */
export const MAX_DRAIN_BYTES = 16 * 1024 * 1024

export type WebhookSource = "meta" | "360dialog"

export interface WebhookIngressOptions {
  /** Verifies the raw bytes against the headers; `httpStatus` of the failure says 401 or 403. */
  readonly verify: Readonly<Record<WebhookSource, (body: Uint8Array, headers: HeaderBag) => Either.Either<void, { readonly httpStatus: number; readonly _tag: string }>>>
  /** Writes the delivery durably; resolves once it is committed. */
  readonly store: (body: Uint8Array, headers: Readonly<Record<string, string>>, source: WebhookSource, receivedAt: number) => Promise<unknown>
  /** The headers worth keeping beside the body (signature, content type, delivery ids). */
  readonly keepHeaders: (headers: HeaderBag) => Readonly<Record<string, string>>
  readonly now: () => number
  readonly onAnswer?: (source: WebhookSource, status: number) => void
  /** A delivery could not be stored (answered 503) or handled (answered 500). */
  readonly onError?: (error: unknown) => void
}

const tooLargeBody = envelopeJson("payload_too_large", `webhook bodies are limited to ${MAX_WEBHOOK_BYTES} bytes`)

const answer = (res: ServerResponse, status: number, body: string, contentType = "application/json") => {
  res.writeHead(status, { "content-type": contentType, "content-length": Buffer.byteLength(body) })
  res.end(body)
}

const responses = {
  "200": { description: "verified and stored in the inbox (`{\"status\":\"accepted\"}`); the worker applies it" },
  "401": { description: "invalid_signature: the signature (or the shared header) is missing or does not match; nothing is stored" },
  "413": { description: "payload_too_large: more than 3 MB" },
  "503": { description: "inbox_unavailable: not stored; the sender retries" }
}
const anyJson = { required: true, content: { "application/json": { schema: {} } } }

/**
 * The two operations of this path for `/openapi.json`: HttpApi does not serve them, so it cannot
 * describe them (`GatewayApi` adds these to its document).
 */
export const webhookOperations = {
  "/webhooks/meta": {
    post: {
      operationId: "webhooks.receiveMeta",
      tags: ["webhooks"],
      summary: "Receive a webhook from Meta, signed with the app secret",
      parameters: [{ name: "x-hub-signature-256", in: "header", required: true, schema: { type: "string" }, description: "sha256=<hex HMAC-SHA256 of the raw body with MMGW_META_APP_SECRET>" }],
      requestBody: anyJson,
      responses
    }
  },
  "/webhooks/360dialog": {
    post: {
      operationId: "webhooks.receive360dialog",
      tags: ["webhooks"],
      summary: "Receive a webhook from 360dialog, checked by the shared header and/or x-360dialog-signature",
      description: "The shared header is MMGW_360DIALOG_WEBHOOK_HEADER (default x-mmgw-webhook-secret) with MMGW_360DIALOG_WEBHOOK_SECRET; x-360dialog-signature is checked when MMGW_360DIALOG_PLATFORM_SECRET is set.",
      requestBody: anyJson,
      responses
    }
  }
} as const

/** The webhook path a request is for, when it is a POST to one. */
export const webhookSourceOf = (req: IncomingMessage): WebhookSource | null => {
  if (req.method !== "POST" || req.url === undefined) return null
  const path = req.url.split("?", 1)[0]
  return path === "/webhooks/meta" ? "meta" : path === "/webhooks/360dialog" ? "360dialog" : null
}

/**
 * The hot path of the api, in front of the framework: read the raw bytes (up to 3 MB), verify them,
 * store them in the inbox, and answer 200 only after the write is durable. A bad signature is 401 and
 * nothing is stored; a body over 3 MB is drained (up to a bound) and answered 413; a failed write is
 * 503, so the sender retries: nothing answered 200 is ever lost.
 */
export const makeWebhookIngress = (options: WebhookIngressOptions) =>
  (req: IncomingMessage, res: ServerResponse, source: WebhookSource): void => {
    const receivedAt = options.now()
    const done = (status: number, body: string) => {
      options.onAnswer?.(source, status)
      answer(res, status, body)
    }
    let cut = false
    // Beyond the drain bound the connection is closed, after the 413 has been flushed to the sender.
    const cutOff = () => {
      cut = true
      options.onAnswer?.(source, 413)
      res.writeHead(413, { "content-type": "application/json", "content-length": Buffer.byteLength(tooLargeBody), connection: "close" })
      res.end(tooLargeBody, () => req.destroy())
    }
    const declared = Number(req.headers["content-length"])
    if (Number.isFinite(declared) && declared > MAX_DRAIN_BYTES) return cutOff()
    const chunks: Array<Buffer> = []
    let size = 0
    let tooLarge = false
    req.on("data", (chunk: Buffer) => {
      if (cut) return
      size += chunk.length
      if (size > MAX_DRAIN_BYTES) return cutOff()
      if (size > MAX_WEBHOOK_BYTES) {
        tooLarge = true
        chunks.length = 0
        return
      }
      chunks.push(chunk)
    })
    req.on("error", () => {
      if (!res.headersSent) res.destroy()
    })
    req.on("end", () => {
      if (cut) return
      if (tooLarge) return done(413, tooLargeBody)
      // A throw here would escape the event handler and take the process down with every delivery in flight.
      try {
        const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)
        const verified = options.verify[source](body, req.headers)
        if (verified._tag === "Left") {
          const status = verified.left.httpStatus === 403 ? 403 : 401
          return done(status, envelopeJson("invalid_signature", "the webhook signature is missing or does not match", { reason: verified.left._tag }))
        }
        options.store(body, options.keepHeaders(req.headers), source, receivedAt).then(
          () => done(200, "{\"status\":\"accepted\"}"),
          (error: unknown) => {
            options.onError?.(error)
            done(503, envelopeJson("inbox_unavailable", "the webhook could not be stored; retry later"))
          }
        )
      } catch (error) {
        options.onError?.(error)
        done(500, envelopeJson("internal_error", "internal error"))
      }
    })
  }
