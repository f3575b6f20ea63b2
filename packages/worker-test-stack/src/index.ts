/**
 * @mm-gateway/worker-test-stack — what the worker's tests run against (packages/worker-runners,
 * apps/worker): the real api in the test's process on a temp SQLite database or on a PostgreSQL
 * database the test gives (webhooks arrive signed, through its inbox), the real sandbox, and the
 * helpers that drive them. The tests start the worker themselves, in their process or as a process of
 * its own.
 */
import { StatusReports } from "@mm-gateway/domain"
import { apiConfig, ApiServer, layerApiServer } from "@mm-gateway/http-adapter"
import { type LeaseRecord, Leases } from "@mm-gateway/ports"
import { layerPostgresStore, type PostgresDatabase, type PostgresStore } from "@mm-gateway/postgres-projection"
import { layerSqliteStore } from "@mm-gateway/sqlite-projection"
import { signMetaWebhook } from "@mm-gateway/webhook-adapter"
import { type Sandbox, type SandboxOptions, startSandbox } from "@mm-gateway/sandbox"
import { ConfigProvider, Effect, Layer, ManagedRuntime } from "effect"
import { type SandboxStats } from "@mm-gateway/sandbox"
import { spawn } from "node:child_process"
import { build } from "esbuild"
import { mkdirSync, mkdtempSync, rmSync } from "node:fs"
import { createInterface } from "node:readline"
import { fileURLToPath } from "node:url"
import * as net from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"

export const ADMIN = "test-admin-token"
export const APP_SECRET = "test-app-secret"
export const SECRET_KEY = "test-secret-key"
export const BM = "271828182845904"
export const WABA = "102290129340398"
export const PHONE = "106540352242922"

export interface Answer {
  readonly status: number
  readonly json: any
}

export interface TestApi {
  readonly url: string
  readonly request: (method: string, path: string, body?: unknown) => Promise<Answer>
  /** Asks the api's own store (its leases, for one: what the workers hold). */
  readonly run: <A>(effect: Effect.Effect<A, never, StorePorts>) => Promise<A>
  readonly close: () => Promise<void>
}

/** Every port a store offers the api and the worker: what SQLite and PostgreSQL both provide. */
export type StorePorts = Exclude<PostgresStore, PostgresDatabase>

/** The store a stack runs on: the SQLite file `database`, or, given `postgresUrl`, that PostgreSQL database. */
export const storeLayer = (database: string, postgresUrl: string | null): Layer.Layer<StorePorts> =>
  postgresUrl === null ? layerSqliteStore({ database, durability: "normal", checkpoint: "background" }) : layerPostgresStore({ url: postgresUrl })

/**
 * The real api in this process, on a free port, over `database` (or the PostgreSQL database at
 * `postgresUrl`): the worker's webhooks arrive through it. Given `consoleDirectory` (a built
 * @mm-gateway/console), it serves the operator console too.
 */
export const startApi = async (
  database: string,
  options: {
    readonly postgresUrl?: string | null
    readonly consoleDirectory?: string | null
    /** More `MMGW_*` settings for the api (they win over the stack's). */
    readonly env?: Readonly<Record<string, string>>
  } = {}
): Promise<TestApi> => {
  const provider = ConfigProvider.fromMap(new Map(Object.entries({
    MMGW_API_PORT: "0",
    MMGW_DATABASE: database,
    MMGW_ADMIN_TOKEN: ADMIN,
    MMGW_SECRET_KEY: SECRET_KEY,
    MMGW_META_APP_SECRET: APP_SECRET,
    MMGW_META_VERIFY_TOKEN: "test-verify-token",
    MMGW_360DIALOG_WEBHOOK_SECRET: "test-360-secret",
    ...options.env
  })))
  const config = await Effect.runPromise(Effect.withConfigProvider(apiConfig, provider))
  const runtime = ManagedRuntime.make(Layer.orDie(layerApiServer(config, { consoleDirectory: options.consoleDirectory ?? null })).pipe(Layer.provideMerge(storeLayer(config.database, options.postgresUrl ?? null))))
  const { url } = await runtime.runPromise(ApiServer)
  return {
    url,
    run: (effect) => runtime.runPromise(effect),
    close: () => runtime.dispose(),
    request: async (method, path, body) => {
      const response = await fetch(`${url}${path}`, {
        method,
        headers: { authorization: `Bearer ${ADMIN}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) })
      })
      const text = await response.text()
      return { status: response.status, json: text === "" ? null : JSON.parse(text) }
    }
  }
}

/**
 * A TCP proxy in front of the sandbox that can go down: while down nothing listens (connections are
 * refused) and every connection through it is cut, as when the provider's host goes away.
 */
export interface Proxy {
  readonly url: string
  readonly down: () => Promise<void>
  readonly up: () => Promise<void>
  readonly close: () => Promise<void>
}

export const startProxy = async (target: { readonly host: string; readonly port: number }): Promise<Proxy> => {
  const sockets = new Set<net.Socket>()
  let server: net.Server | null = null
  let port = 0
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const s = net.createServer((client) => {
        const upstream = net.connect(target.port, target.host)
        for (const socket of [client, upstream]) {
          sockets.add(socket)
          socket.on("close", () => sockets.delete(socket))
          socket.on("error", () => {
            client.destroy()
            upstream.destroy()
          })
        }
        client.pipe(upstream).pipe(client)
      })
      s.once("error", reject)
      s.listen(port, "127.0.0.1", () => {
        port = (s.address() as net.AddressInfo).port
        server = s
        resolve()
      })
    })
  const down = () =>
    new Promise<void>((resolve) => {
      const s = server
      server = null
      for (const socket of sockets) socket.destroy()
      if (s === null) return resolve()
      s.close(() => resolve())
    })
  await listen()
  return { url: `http://127.0.0.1:${port}`, down, up: () => (server === null ? listen() : Promise.resolve()), close: down }
}

export interface TestStack {
  readonly dir: string
  /** The SQLite file (unused when the stack runs on PostgreSQL). */
  readonly database: string
  /** The PostgreSQL database the stack runs on, or `null` for SQLite. */
  readonly postgresUrl: string | null
  readonly api: TestApi
  readonly sandbox: Sandbox
  readonly proxy: Proxy | null
  readonly close: () => Promise<void>
}

/**
 * api + sandbox (+ an optional proxy) on a fresh temp SQLite database, or on the (fresh) PostgreSQL
 * database at `postgresUrl`; workers are started by the test. Quick webhooks, signed with the api's
 * secret.
 */
export const startTestStack = async (
  options: {
    readonly sandbox?: SandboxOptions
    readonly proxy?: boolean
    readonly postgresUrl?: string | null
    readonly consoleDirectory?: string | null
    /** More `MMGW_*` settings for the api. */
    readonly apiEnv?: Readonly<Record<string, string>>
  } = {}
): Promise<TestStack> => {
  const dir = mkdtempSync(join(tmpdir(), "mmgw-worker-"))
  const database = join(dir, "gateway.sqlite")
  const postgresUrl = options.postgresUrl ?? null
  const api = await startApi(database, { postgresUrl, consoleDirectory: options.consoleDirectory ?? null, env: options.apiEnv ?? {} })
  const sandbox = await startSandbox({
    port: 0,
    webhookUrl: `${api.url}/webhooks/meta`,
    appSecret: APP_SECRET,
    seed: 42,
    webhookLatencyMs: { min: 5, max: 40 },
    webhookBatchIntervalMs: 20,
    webhookRetryBaseMs: 50,
    rateLimitPerSecond: 0,
    ...options.sandbox
  })
  const proxy = options.proxy === true ? await startProxy({ host: "127.0.0.1", port: sandbox.port }) : null
  return {
    dir,
    database,
    postgresUrl,
    api,
    sandbox,
    proxy,
    close: async () => {
      await proxy?.close()
      await sandbox.close()
      await api.close()
      rmSync(dir, { recursive: true, force: true })
    }
  }
}

/** Polls `check` until it holds (returns a value other than undefined/false) or the deadline passes. */
export const eventually = async <A>(what: string, check: () => Promise<A | undefined | false> | A | undefined | false, timeoutMs = 30_000): Promise<A> => {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  for (;;) {
    try {
      const value = await check()
      if (value !== undefined && value !== false) return value
    } catch (error) {
      last = error
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last === undefined ? "" : `: ${String(last)}`}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

/** POSTs `body` (JSON text, or a value to stringify) to the api's Meta webhook, signed as Meta signs; throws unless it is answered 200. */
export const postSignedWebhook = async (api: TestApi, body: string | unknown): Promise<void> => {
  const raw = typeof body === "string" ? body : JSON.stringify(body)
  const response = await fetch(`${api.url}/webhooks/meta`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-hub-signature-256": signMetaWebhook(raw, APP_SECRET) },
    body: raw
  })
  const text = await response.text()
  if (response.status !== 200) throw new Error(`webhook: ${response.status} ${text}`)
}

/** A Meta status webhook of one status on the test channel (`PHONE` of `WABA`), as a body to post. */
export const statusWebhook = (wamid: string, status: string, timestamp: string, recipient: string): string =>
  JSON.stringify({
    object: "whatsapp_business_account",
    entry: [{
      id: WABA,
      changes: [{
        field: "messages",
        value: {
          messaging_product: "whatsapp",
          metadata: { display_phone_number: "15550100", phone_number_id: PHONE },
          statuses: [{ id: wamid, status, timestamp, recipient_id: recipient }]
        }
      }]
    }]
  })

export const ok = (answer: Answer, what: string): any => {
  if (answer.status >= 300) throw new Error(`${what}: ${answer.status} ${JSON.stringify(answer.json)}`)
  return answer.json
}

/** BM, WABA (onboarded to the MM API unless told otherwise) and a sandbox channel. */
export const registerChannel = async (
  api: TestApi,
  options: { readonly phone?: string; readonly waba?: string; readonly onboarded?: boolean; readonly throughputMps?: number } = {}
) => {
  const phone = options.phone ?? PHONE
  const waba = options.waba ?? WABA
  ok(await api.request("PUT", `/v1/business-managers/${BM}`, { name: "Acme" }), "bm")
  ok(await api.request("PUT", `/v1/wabas/${waba}`, { businessManagerId: BM }), "waba")
  if (options.onboarded !== false) {
    ok(await api.request("POST", `/v1/wabas/${waba}/mm-api-status`, { status: "onboarded", reason: "test" }), "onboard")
  }
  ok(await api.request("PUT", `/v1/channels/${phone}`, {
    wabaId: waba,
    displayPhoneNumber: "+15550100",
    provider: "sandbox",
    credentials: { apiKey: `key-${phone}` },
    ...(options.throughputMps === undefined ? {} : { throughputMps: options.throughputMps })
  }), "channel")
  ok(await api.request("PUT", `/v1/wabas/${waba}/templates/spring_sale/en`, { category: "MARKETING" }), "template")
}

export const templateBody = (to: string, name = "spring_sale", extra: Record<string, unknown> = {}) => ({
  messaging_product: "whatsapp",
  to,
  type: "template",
  template: { name, language: { code: "en" } },
  ...extra
})

/** Sends through the api; the gateway message id. */
export const send = async (
  api: TestApi,
  to: string,
  options: { readonly endpoint?: "messages" | "marketing_messages"; readonly phone?: string; readonly template?: string; readonly extra?: Record<string, unknown> } = {}
): Promise<string> => {
  const answer = ok(
    await api.request("POST", `/v1/channels/${options.phone ?? PHONE}/${options.endpoint ?? "marketing_messages"}`, templateBody(to, options.template, options.extra)),
    `send to ${to}`
  )
  return answer.messages[0].id as string
}

export const message = async (api: TestApi, id: string) => ok(await api.request("GET", `/v1/messages/${id}`), `message ${id}`)

export const events = async (api: TestApi, id: string): Promise<Array<{ type: string; data: any }>> =>
  ok(await api.request("GET", `/v1/messages/${id}/events`), `events of ${id}`).events

/** The sandbox has sent every webhook and the worker has processed every one the api stored (its metrics gauge). */
export const quiet = async (stack: TestStack) => {
  if (stack.sandbox.stats().webhooks.pending > 0) return false
  const metrics = await (await fetch(`${stack.api.url}/metrics`)).text()
  return /^mmgw_webhook_inbox_pending 0$/m.test(metrics)
}

/** Every lease held now (the store's, through the api's connection to it). */
export const leasesHeld = (api: TestApi): Promise<ReadonlyArray<LeaseRecord>> => api.run(Effect.flatMap(Leases, (leases) => leases.held(Date.now())))

/** Every lease held now, by name → holder. */
export const leaseHolders = async (api: TestApi): Promise<Record<string, string>> =>
  Object.fromEntries((await leasesHeld(api)).map((l) => [l.name, l.holder]))

/** Who holds each channel's dispatch lease now: phone number id → instance. */
export const channelHolders = async (api: TestApi): Promise<Record<string, string>> =>
  Object.fromEntries(Object.entries(await leaseHolders(api)).flatMap(([name, holder]) => (name.startsWith("channel:") ? [[name.slice(8), holder]] : [])))

/** The worker instances whose heartbeat has not lapsed, by instance. */
export const liveWorkers = async (api: TestApi): Promise<Array<string>> =>
  (await api.run(Effect.flatMap(Leases, (leases) => leases.liveWorkers(Date.now())))).map((w) => w.instance)

/** How many statuses are parked for `wamid`, through the store's `StatusMatching` port. */
export const parkedFor = async (api: TestApi, wamid: string): Promise<number> =>
  (await api.run(Effect.flatMap(StatusReports.StatusMatching, (matching) => matching.parkedFor([wamid])))).length

export interface SandboxProcess {
  readonly url: string
  readonly stats: () => Promise<SandboxStats>
  readonly close: () => Promise<void>
}

// The workspace layout: packages/worker-test-stack/src → packages/sandbox/src/main.ts.
const SANDBOX_MAIN = fileURLToPath(new URL("../../sandbox/src/main.ts", import.meta.url))
const OWN_DEV = fileURLToPath(new URL("../.dev", import.meta.url))

/**
 * An app's entry point bundled with esbuild from its sources, once per test file, as the release build
 * bundles it (better-sqlite3, a native addon, stays outside). The bundle is written under `devDir`, an
 * ignored `.dev/` of a workspace member the addon resolves from (the worker's, for the worker's entry
 * point); `removeBundles` (in `afterAll`) deletes them.
 */
const bundles = new Map<string, Promise<string>>()
const bundleDirs: Array<string> = []
export const bundle = (entry: string, devDir: string): Promise<string> => {
  let built = bundles.get(entry)
  if (built === undefined) {
    built = (async () => {
      mkdirSync(devDir, { recursive: true })
      const dir = mkdtempSync(join(devDir, "test-bundle-"))
      bundleDirs.push(dir)
      const out = join(dir, "main.mjs")
      await build({
        entryPoints: [entry],
        outfile: out,
        bundle: true,
        platform: "node",
        format: "esm",
        target: "node20",
        conditions: ["source"],
        external: ["better-sqlite3"],
        logLevel: "warning",
        // Some bundled CommonJS code calls require(); give the ESM bundle one.
        banner: { js: "import { createRequire as __mmgwCreateRequire } from 'node:module'; const require = __mmgwCreateRequire(import.meta.url);" }
      })
      return out
    })()
    bundles.set(entry, built)
  }
  return built
}

export const removeBundles = () => {
  for (const dir of bundleDirs.splice(0)) rmSync(dir, { recursive: true, force: true })
  bundles.clear()
}

/**
 * The sandbox in a process of its own: for tests that count on the sandbox's clock, which must not
 * wait behind the work of the api and the worker in this process.
 */
export const startSandboxProcess = async (env: Record<string, string>): Promise<SandboxProcess> => {
  const child = spawn(process.execPath, [await bundle(SANDBOX_MAIN, OWN_DEV)], {
    env: { ...process.env, MMGW_SANDBOX_PORT: "0", MMGW_HOST: "127.0.0.1", ...env },
    stdio: ["ignore", "pipe", "pipe"]
  })
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()))
  const url = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! })
    lines.on("line", (line) => {
      const match = /listening on (http:\/\/\S+)/.exec(line)
      if (match !== null) resolve(match[1]!)
    })
    child.stderr!.on("data", (chunk) => reject(new Error(`sandbox: ${String(chunk)}`)))
    child.once("exit", (code) => reject(new Error(`sandbox exited with ${code}`)))
  })
  return {
    url,
    stats: async () => (await (await fetch(`${url}/sandbox/stats`)).json()) as SandboxStats,
    close: async () => {
      child.kill("SIGTERM")
      await exited
    }
  }
}
