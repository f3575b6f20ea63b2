import * as http from "node:http"
import * as https from "node:https"
import { META_SIGNATURE_HEADER, signMetaWebhook } from "@mm-gateway/webhook-adapter"
import type { MessagesItem } from "./wire.js"
import { messagesWebhook } from "./wire.js"

export interface WebhookDispatcherOptions {
  readonly url: string
  readonly appSecret: string
  readonly batchSize: number
  readonly batchIntervalMs: number
  readonly maxAttempts: number
  readonly retryBaseMs: number
  readonly concurrency: number
}

export interface WebhookStats {
  /** POSTs the receiver answered with 2xx. */
  readonly delivered: number
  /** POSTs given up on after `maxAttempts`. */
  readonly failed: number
  /** Attempts after the first one. */
  readonly retries: number
  readonly statuses: number
  readonly userActions: number
  readonly accountUpdates: number
  /** Items scheduled or POSTs queued or in flight. */
  readonly pending: number
}

interface Post {
  readonly body: Buffer
  readonly signature: string
  readonly statuses: number
  readonly userActions: number
  readonly accountUpdates: number
  attempts: number
}

/**
 * Delivers webhooks in the background. Items are due at a time; every tick collects what is due and
 * sends it in POSTs of at most `batchSize` items, signed like Meta. Scheduling is O(1) and never waits
 * on the network, so the send path is not slowed by a slow or absent receiver.
 */
export const createWebhookDispatcher = (options: WebhookDispatcherOptions) => {
  const target = new URL(options.url)
  const transport = target.protocol === "https:" ? https : http
  const agent = new transport.Agent({ keepAlive: true, maxSockets: options.concurrency })
  const byTick = new Map<number, Array<MessagesItem>>()
  const queue: Array<Post> = []
  const retryTimers = new Set<NodeJS.Timeout>()
  let scheduled = 0
  let inFlight = 0
  let closed = false
  const counters = { delivered: 0, failed: 0, retries: 0, statuses: 0, userActions: 0, accountUpdates: 0 }

  const enqueue = (payload: unknown, counts: Pick<Post, "statuses" | "userActions" | "accountUpdates">) => {
    const body = Buffer.from(JSON.stringify(payload))
    queue.push({ body, signature: signMetaWebhook(body, options.appSecret), ...counts, attempts: 0 })
    pump()
  }

  const settle = (post: Post, ok: boolean) => {
    inFlight--
    if (ok) {
      counters.delivered++
      counters.statuses += post.statuses
      counters.userActions += post.userActions
      counters.accountUpdates += post.accountUpdates
    } else if (post.attempts >= options.maxAttempts || closed) {
      counters.failed++
    } else {
      // Meta retries with decreasing frequency; a doubling delay with a small cap keeps a local run moving.
      const delay = Math.min(options.retryBaseMs * 2 ** (post.attempts - 1), 30_000)
      const timer = setTimeout(() => {
        retryTimers.delete(timer)
        counters.retries++
        queue.push(post)
        pump()
      }, delay)
      timer.unref()
      retryTimers.add(timer)
    }
    pump()
  }

  const attempt = (post: Post) => {
    inFlight++
    post.attempts++
    let done = false
    const finish = (ok: boolean) => {
      if (done) return
      done = true
      settle(post, ok)
    }
    const request = transport.request(
      target,
      {
        method: "POST",
        agent,
        timeout: 10_000,
        headers: {
          "content-type": "application/json",
          "content-length": post.body.length,
          "user-agent": "mm-gateway-sandbox",
          [META_SIGNATURE_HEADER]: post.signature
        }
      },
      (response) => {
        response.resume()
        response.on("end", () => finish(response.statusCode !== undefined && response.statusCode < 300))
        response.on("error", () => finish(false))
      }
    )
    request.on("timeout", () => request.destroy(new Error("webhook receiver timed out")))
    request.on("error", () => finish(false))
    request.end(post.body)
  }

  function pump() {
    while (!closed && inFlight < options.concurrency && queue.length > 0) {
      attempt(queue.shift() as Post)
    }
  }

  const flush = (items: ReadonlyArray<MessagesItem>) => {
    for (let i = 0; i < items.length; i += options.batchSize) {
      const batch = items.slice(i, i + options.batchSize)
      const userActions = batch.filter((item) => item.kind === "user_action").length
      enqueue(messagesWebhook(batch), { statuses: batch.length - userActions, userActions, accountUpdates: 0 })
    }
  }

  const tick = () => {
    const current = Math.floor(Date.now() / options.batchIntervalMs)
    const due: Array<number> = []
    for (const key of byTick.keys()) if (key <= current) due.push(key)
    if (due.length === 0) return
    due.sort((a, b) => a - b)
    const items: Array<MessagesItem> = []
    for (const key of due) {
      const bucket = byTick.get(key) as Array<MessagesItem>
      byTick.delete(key)
      for (const item of bucket) items.push(item)
    }
    scheduled -= items.length
    flush(items)
  }

  const ticker = setInterval(tick, options.batchIntervalMs)
  ticker.unref()

  return {
    /** Sends `item` in a batch once `delayMs` have passed. */
    schedule: (item: MessagesItem, delayMs: number): void => {
      if (closed) return
      const key = Math.ceil((Date.now() + delayMs) / options.batchIntervalMs)
      const bucket = byTick.get(key)
      if (bucket === undefined) byTick.set(key, [item])
      else bucket.push(item)
      scheduled++
    },
    /** Account updates are rare and not batched with statuses: they go out in their own POST at once. */
    sendAccountUpdate: (payload: unknown): void => {
      if (closed) return
      enqueue(payload, { statuses: 0, userActions: 0, accountUpdates: 1 })
    },
    stats: (): WebhookStats => ({ ...counters, pending: scheduled + queue.length + inFlight + retryTimers.size }),
    resetStats: (): void => {
      counters.delivered = 0
      counters.failed = 0
      counters.retries = 0
      counters.statuses = 0
      counters.userActions = 0
      counters.accountUpdates = 0
    },
    /** Drops what is not yet sent: the sandbox is a test double, not a durable queue. */
    close: (): void => {
      closed = true
      clearInterval(ticker)
      for (const timer of retryTimers) clearTimeout(timer)
      retryTimers.clear()
      byTick.clear()
      queue.length = 0
      scheduled = 0
      agent.destroy()
    }
  }
}

export type WebhookDispatcher = ReturnType<typeof createWebhookDispatcher>
