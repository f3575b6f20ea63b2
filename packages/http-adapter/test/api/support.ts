import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { CommandHandler, type EventStore, type Ids, Streams } from "@mm-gateway/domain"
import { type Database, inboxPathFor, layer as layerSqlite, layerSqliteStore, openInbox, type SqliteInbox } from "@mm-gateway/sqlite-projection"
import { signMetaWebhook } from "@mm-gateway/webhook-adapter"
import { ConfigProvider, Effect, Layer, ManagedRuntime } from "effect"
import { type ApiConfig, apiConfig } from "../../src/api/config.js"
import { ApiServer, layerApiServer } from "../../src/api/server.js"

export const ADMIN = "test-admin-token"
export const APP_SECRET = "test-app-secret"
export const VERIFY_TOKEN = "test-verify-token"
export const D360_SECRET = "test-360-secret"

export interface TestApi {
  readonly url: string
  readonly config: ApiConfig
  readonly dir: string
  readonly database: string
  readonly close: () => Promise<void>
  readonly request: (method: string, path: string, options?: { readonly token?: string | null; readonly body?: unknown; readonly raw?: string; readonly headers?: Record<string, string> }) => Promise<{ readonly status: number; readonly json: any; readonly text: string; readonly headers: Headers }>
}

/**
 * Boots the real api on 127.0.0.1 (a free port) over a fresh temp database. `around` is provided to the
 * server's layer (a logger, a log level).
 */
export const startApi = async (env: Record<string, string> = {}, around: Layer.Layer<never> = Layer.empty): Promise<TestApi> => {
  const dir = mkdtempSync(join(tmpdir(), "mmgw-api-"))
  const database = join(dir, "gateway.sqlite")
  const provider = ConfigProvider.fromMap(new Map(Object.entries({
    MMGW_API_PORT: "0",
    MMGW_DATABASE: database,
    MMGW_ADMIN_TOKEN: ADMIN,
    MMGW_SECRET_KEY: "test-secret-key",
    MMGW_META_APP_SECRET: APP_SECRET,
    MMGW_META_VERIFY_TOKEN: VERIFY_TOKEN,
    MMGW_360DIALOG_WEBHOOK_SECRET: D360_SECRET,
    ...env
  })))
  const config = await Effect.runPromise(Effect.withConfigProvider(apiConfig, provider))
  const store = layerSqliteStore({ database: config.database, durability: config.durability, checkpoint: "background" })
  const runtime = ManagedRuntime.make(Layer.orDie(layerApiServer(config)).pipe(Layer.provide(store), Layer.provide(around)))
  const { url } = await runtime.runPromise(ApiServer)
  return {
    url,
    config,
    dir,
    database,
    close: async () => {
      await runtime.dispose()
      rmSync(dir, { recursive: true, force: true })
    },
    request: async (method, path, options = {}) => {
      const token = options.token === undefined ? ADMIN : options.token
      const headers: Record<string, string> = { ...(options.headers ?? {}) }
      if (token !== null) headers["authorization"] = `Bearer ${token}`
      let body: string | undefined
      if (options.raw !== undefined) body = options.raw
      else if (options.body !== undefined) body = JSON.stringify(options.body)
      if (body !== undefined && headers["content-type"] === undefined) headers["content-type"] = "application/json"
      const response = await fetch(`${url}${path}`, { method, headers, ...(body === undefined ? {} : { body }) })
      const text = await response.text()
      let json: unknown = null
      try {
        json = text === "" ? null : JSON.parse(text)
      } catch {
        json = null
      }
      return { status: response.status, json, text, headers: response.headers }
    }
  }
}

export const sign = (body: string | Buffer, secret = APP_SECRET) => signMetaWebhook(body, secret)

export const postWebhook = async (api: TestApi, body: string | Buffer, headers: Record<string, string>, path = "/webhooks/meta") => {
  const response = await fetch(`${api.url}${path}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body })
  return { status: response.status, text: await response.text() }
}

/** Registers a BM, a WABA, a sandbox channel and a MARKETING template through the API. */
export const seed = async (api: TestApi, ids: { readonly bm: string; readonly waba: string; readonly phone: string }) => {
  const steps = [
    await api.request("PUT", `/v1/business-managers/${ids.bm}`, { body: { name: `BM ${ids.bm}` } }),
    await api.request("PUT", `/v1/wabas/${ids.waba}`, { body: { businessManagerId: ids.bm, name: `WABA ${ids.waba}` } }),
    await api.request("PUT", `/v1/channels/${ids.phone}`, {
      body: { wabaId: ids.waba, displayPhoneNumber: "+1 555 0100", provider: "sandbox", credentials: { apiKey: `secret-${ids.phone}` } }
    }),
    await api.request("PUT", `/v1/wabas/${ids.waba}/templates/spring_sale/en`, { body: { category: "MARKETING" } }),
    await api.request("PUT", `/v1/wabas/${ids.waba}/templates/order_update/en`, { body: { category: "UTILITY" } })
  ]
  for (const s of steps) if (s.status !== 200) throw new Error(`seed failed: ${s.status} ${s.text}`)
}

/** The tenant `startSeededApi` registers. */
export const SEEDED = { bm: "271828182845904", waba: "102290129340398", phone: "106540352242922" } as const

/** An api with the `SEEDED` tenant registered (`seed`). */
export const startSeededApi = async (): Promise<TestApi> => {
  const api = await startApi()
  await seed(api, SEEDED)
  return api
}

export const templateBody = (to: string, name = "spring_sale") => ({
  messaging_product: "whatsapp",
  to,
  type: "template",
  template: { name, language: { code: "en" } }
})

/** The same database files as the api, through connections of their own: what the worker would do. */
export interface Backdoor {
  /** Runs domain commands (EventStore, ReadModels) on the api's main database. */
  readonly run: <A, E>(effect: Effect.Effect<A, E, Layer.Layer.Success<ReturnType<typeof layerSqlite>>>) => Promise<A>
  readonly inbox: SqliteInbox
  readonly inboxDb: Database
  readonly close: () => Promise<void>
}

export const backdoor = async (api: TestApi): Promise<Backdoor> => {
  const runtime = ManagedRuntime.make(layerSqlite({ path: api.database }))
  const { db, inbox } = await openInbox({ path: inboxPathFor(api.database) })
  return {
    run: (effect) => runtime.runPromise(effect),
    inbox,
    inboxDb: db,
    close: async () => {
      db.close()
      await runtime.dispose()
    }
  }
}

/** Drives an accepted message as the worker would: dispatch started, then the provider's answer. */
export const dispatch = (messageId: string, outcome: { readonly wamid: string } | "unknown", at = Date.now()): Effect.Effect<void, unknown, EventStore.EventStore> =>
  Effect.gen(function*() {
    const id = messageId as Ids.MessageId
    const stream = Streams.streamId.message(messageId)
    yield* CommandHandler.handleCommand(Streams.MessageStream, stream, { _tag: "StartDispatch", messageId: id, attempt: 1, at })
    if (outcome === "unknown") {
      yield* CommandHandler.handleCommand(Streams.MessageStream, stream, { _tag: "RecordDispatchOutcomeUnknown", messageId: id, attempt: 1, reason: "timeout after the request was sent", at: at + 1 })
      yield* CommandHandler.handleCommand(Streams.MessageStream, stream, { _tag: "MarkDispatchUnknown", messageId: id, at: at + 2 })
    } else {
      yield* CommandHandler.handleCommand(Streams.MessageStream, stream, {
        _tag: "RecordDispatchSucceeded",
        messageId: id,
        attempt: 1,
        wamid: outcome.wamid as Ids.Wamid,
        providerStatus: "accepted",
        at: at + 1
      })
    }
  })

/** A status webhook as the worker applies it to the message. */
export const observe = (
  messageId: string,
  wamid: string,
  status: "sent" | "delivered" | "read" | "failed",
  timestamp: number,
  extra: { readonly category?: string; readonly errorCode?: number } = {}
): Effect.Effect<void, unknown, EventStore.EventStore> =>
  Effect.asVoid(CommandHandler.handleCommand(Streams.MessageStream, Streams.streamId.message(messageId), {
    _tag: "ObserveStatus",
    messageId: messageId as Ids.MessageId,
    observation: {
      wamid: wamid as Ids.Wamid,
      status,
      timestamp,
      recipient: null,
      pricing: extra.category === undefined ? null : { category: extra.category, pricingModel: "PMP", type: "regular", billable: true },
      originType: null,
      errors: extra.errorCode === undefined ? [] : [{ code: extra.errorCode, title: "error title", message: "error message", details: null }]
    },
    at: timestamp
  }))

/** A user action (a click on a message's link) as the worker records it from a webhook on `channel`. */
export const recordClick = (
  channel: string,
  clickId: string | null,
  occurredAt: number,
  actionType = "marketing_messages_link_click",
  trackingToken: string | null = `token-${clickId}`
): Effect.Effect<void, unknown, EventStore.EventStore> =>
  Effect.asVoid(CommandHandler.handleCommand(Streams.UserActionStream, Streams.streamId.userAction(channel, actionType, clickId, trackingToken, occurredAt), {
    _tag: "RecordUserAction",
    channel: channel as Ids.PhoneNumberId,
    actionType,
    clickId,
    trackingToken,
    component: "CTA",
    productId: null,
    occurredAt,
    at: occurredAt
  }))

/** Pages through a list endpoint with `limit`, returning every item and the number of pages. */
export const collectPages = async (api: TestApi, path: string, limit: number, token?: string) => {
  const items: Array<any> = []
  let cursor: string | null = null
  let pages = 0
  do {
    const sep = path.includes("?") ? "&" : "?"
    const r = await api.request("GET", `${path}${sep}limit=${limit}${cursor === null ? "" : `&cursor=${encodeURIComponent(cursor)}`}`, token === undefined ? {} : { token })
    if (r.status !== 200) throw new Error(`${path}: ${r.status} ${r.text}`)
    if (r.json.items.length > limit) throw new Error(`${path}: a page of ${r.json.items.length} items for limit ${limit}`)
    items.push(...r.json.items)
    cursor = r.json.nextCursor
    pages++
    if (pages > 1000) throw new Error(`${path}: pagination does not end`)
  } while (cursor !== null)
  return { items, pages }
}
