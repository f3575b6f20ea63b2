import { createHmac } from "node:crypto"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { ConfigProvider, Effect, Layer, ManagedRuntime } from "effect"
import { apiConfig } from "../../src/api/config.js"
import { ApiServer, layerApiServer } from "../../src/api/server.js"

export const ADMIN = "test-admin-token"
export const APP_SECRET = "test-app-secret"
export const VERIFY_TOKEN = "test-verify-token"
export const D360_SECRET = "test-360-secret"

export interface TestApi {
  readonly url: string
  readonly dir: string
  readonly database: string
  readonly close: () => Promise<void>
  readonly request: (method: string, path: string, options?: { readonly token?: string | null; readonly body?: unknown; readonly raw?: string; readonly headers?: Record<string, string> }) => Promise<{ readonly status: number; readonly json: any; readonly text: string; readonly headers: Headers }>
}

/** Boots the real api on 127.0.0.1 (a free port) over a fresh temp database. */
export const startApi = async (env: Record<string, string> = {}): Promise<TestApi> => {
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
  const runtime = ManagedRuntime.make(Layer.orDie(layerApiServer(config)))
  const { url } = await runtime.runPromise(ApiServer)
  return {
    url,
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

export const sign = (body: string | Buffer, secret = APP_SECRET) => `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`

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

export const templateBody = (to: string, name = "spring_sale") => ({
  messaging_product: "whatsapp",
  to,
  type: "template",
  template: { name, language: { code: "en" } }
})
