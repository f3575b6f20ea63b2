import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { signMetaWebhook } from "@mm-gateway/webhook-adapter"
import {
  freePort,
  type ProcessName,
  type StackProcess,
  startProcess,
  startStack,
  stopProcesses
} from "../../scripts/stack.mjs"

/** Secrets of the test stacks: not the development defaults, so nothing passes by falling back on them. */
export const SECRETS = {
  MMGW_ADMIN_TOKEN: "e2e-admin-token",
  MMGW_SECRET_KEY: "e2e-secret-key",
  MMGW_META_APP_SECRET: "e2e-app-secret",
  MMGW_META_VERIFY_TOKEN: "e2e-verify-token",
  MMGW_360DIALOG_WEBHOOK_SECRET: "e2e-360dialog-secret"
}

/**
 * The environment of a test stack: free ports, a database in `dir`, the test secrets, a seeded sandbox
 * with quick webhooks. `MMGW_*` variables of whoever runs the tests are left out, so a developer's own
 * configuration cannot change what is tested.
 */
export const stackEnv = async (
  dir: string,
  extra: (sandboxUrl: string) => Record<string, string> = () => ({})
): Promise<NodeJS.ProcessEnv> => {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("MMGW_")))
  const sandboxPort = await freePort()
  return {
    ...inherited,
    ...SECRETS,
    MMGW_API_PORT: String(await freePort()),
    MMGW_SANDBOX_PORT: String(sandboxPort),
    MMGW_DATABASE: join(dir, "mm-gateway.sqlite"),
    MMGW_SANDBOX_SEED: "20261129",
    MMGW_SANDBOX_WEBHOOK_LATENCY_MS: "5-40",
    ...extra(`http://127.0.0.1:${sandboxPort}`)
  }
}

export interface Answer {
  readonly status: number
  readonly json: any
}

/** What a process wrote, kept for assertions and printed when a test fails. */
export type Logs = Array<string>

export interface TestStack {
  readonly apiUrl: string
  readonly sandboxUrl: string
  readonly env: NodeJS.ProcessEnv
  readonly logs: Logs
  /** The public API with the admin token. */
  readonly api: (method: string, path: string, body?: unknown) => Promise<Answer>
  readonly sandbox: (method: string, path: string, body?: unknown) => Promise<Answer>
  /** The running process of that name (the latest one started). */
  readonly process: (name: ProcessName) => StackProcess
  /** Starts another process of the stack with the same configuration (a worker after a crash). */
  readonly restart: (name: ProcessName) => StackProcess
  /** Stops every process still running; resolves to how each one exited. */
  readonly stop: () => Promise<Array<{ name: ProcessName; code: number | null; signal: NodeJS.Signals | null }>>
}

const request = async (url: string, method: string, body: unknown, headers: Record<string, string>): Promise<Answer> => {
  const response = await fetch(url, {
    method,
    headers: { ...headers, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) })
  })
  const text = await response.text()
  let json: unknown = text
  try {
    json = text === "" ? null : JSON.parse(text)
  } catch {
    // not JSON (metrics): the text itself
  }
  return { status: response.status, json }
}

/** Boots api, worker and sandbox from their builds (`scripts/stack.mjs`, as `pnpm start` does) on a temp database. */
export const bootStack = async (
  extra: (sandboxUrl: string) => Record<string, string> = () => ({})
): Promise<TestStack & { readonly dir: string }> => {
  const dir = mkdtempSync(join(tmpdir(), "mmgw-e2e-"))
  const logs: Logs = []
  const onLine = (name: ProcessName, line: string) => logs.push(`${name.padEnd(7)} │ ${line}`)
  // The ports are free when chosen, but a test file running beside this one may take one before a
  // process binds it: then that process exits with EADDRINUSE, and the stack starts again on others.
  const boot = async (attempt: number): Promise<Awaited<ReturnType<typeof startStack>>> => {
    try {
      return await startStack({ env: await stackEnv(dir, extra), onLine, readyTimeoutMs: 60_000 })
    } catch (error) {
      if (attempt >= 3 || !String(error).includes("EADDRINUSE")) throw error
      return boot(attempt + 1)
    }
  }
  const stack = await boot(1)
  const processes: Array<StackProcess> = [...stack.processes]
  const auth = { authorization: `Bearer ${SECRETS.MMGW_ADMIN_TOKEN}` }
  return {
    dir,
    apiUrl: stack.settings.apiUrl,
    sandboxUrl: stack.settings.sandboxUrl,
    env: stack.env,
    logs,
    api: (method, path, body) => request(`${stack.settings.apiUrl}${path}`, method, body, auth),
    sandbox: (method, path, body) => request(`${stack.settings.sandboxUrl}${path}`, method, body, {}),
    process: (name) => {
      const found = processes.filter((p) => p.name === name).at(-1)
      if (found === undefined) throw new Error(`no ${name} process`)
      return found
    },
    restart: (name) => {
      const started = startProcess(name, stack.env, (line) => onLine(name, line))
      processes.push(started)
      return started
    },
    stop: async () => {
      const exits = await stopProcesses(processes)
      rmSync(dir, { recursive: true, force: true })
      return exits.map((e, i) => ({ name: processes[i]!.name, ...e }))
    }
  }
}

/** Polls `condition` until it holds; fails with `what` after `timeoutMs`. Asserts nothing about time. */
export const eventually = async (what: string, condition: () => Promise<boolean>, timeoutMs = 90_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (await condition()) return
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 200))
  }
}

/** The answer's JSON when its status is the expected one; otherwise an error that shows the answer. */
export const expectStatus = (answer: Answer, status: number, what: string): any => {
  if (answer.status !== status) throw new Error(`${what}: expected ${status}, got ${answer.status} ${JSON.stringify(answer.json)}`)
  return answer.json
}

/** Verified webhooks the api stored and the worker has not processed yet (the api's own gauge). */
export const inboxPending = async (stack: TestStack): Promise<number> => {
  const metrics = await stack.api("GET", "/metrics")
  const line = String(metrics.json).split("\n").find((l) => l.startsWith("mmgw_webhook_inbox_pending "))
  if (line === undefined) throw new Error("/metrics has no mmgw_webhook_inbox_pending")
  return Number(line.split(" ")[1])
}

/** Nothing left in flight anywhere: the sandbox has no webhook to deliver and the api's inbox is empty. */
export const quiet = async (stack: TestStack): Promise<boolean> => {
  const stats = expectStatus(await stack.sandbox("GET", "/sandbox/stats"), 200, "sandbox stats")
  return stats.webhooks.pending === 0 && (await inboxPending(stack)) === 0
}

/** Every page of a list endpoint. */
export const allItems = async (stack: TestStack, path: string): Promise<Array<any>> => {
  const items: Array<any> = []
  let cursor: string | null = null
  do {
    const separator = path.includes("?") ? "&" : "?"
    const page: any = expectStatus(
      await stack.api("GET", `${path}${separator}limit=500${cursor === null ? "" : `&cursor=${encodeURIComponent(cursor)}`}`),
      200,
      path
    )
    items.push(...page.items)
    cursor = page.nextCursor
  } while (cursor !== null)
  return items
}

/** Posts a webhook to the api signed as Meta does (the test plays Meta for facts the sandbox does not send). */
export const postSignedWebhook = (stack: TestStack, payload: unknown): Promise<Answer> => postSignedBody(stack, JSON.stringify(payload))

/** Posts raw bytes as a webhook signed as Meta does: a verified body need not be JSON to be stored. */
export const postSignedBody = async (stack: TestStack, body: string | Uint8Array): Promise<Answer> => {
  const response = await fetch(`${stack.apiUrl}/webhooks/meta`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-hub-signature-256": signMetaWebhook(body, SECRETS.MMGW_META_APP_SECRET) },
    body
  })
  return { status: response.status, json: await response.json() }
}
