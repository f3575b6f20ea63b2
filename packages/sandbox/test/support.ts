import { makeMetaSignatureVerifier } from "@mm-gateway/webhook-adapter"
import { Either } from "effect"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import type { Sandbox, SandboxOptions } from "../src/index.js"
import { startSandbox } from "../src/index.js"

export const SECRET = "test-app-secret"

export interface ReceivedPost {
  readonly raw: string
  readonly body: any
  readonly signatureValid: boolean
}

/** Plays the api's `/webhooks/meta`: checks every signature with the api's verifier and keeps what it got. */
export const startReceiver = async (options: { secret?: string; failFirst?: number } = {}) => {
  const verify = Either.getOrThrow(makeMetaSignatureVerifier(options.secret ?? SECRET))
  let failuresLeft = options.failFirst ?? 0
  const posts: Array<ReceivedPost> = []
  const server = http.createServer((req, res) => {
    const chunks: Array<Buffer> = []
    req.on("data", (chunk: Buffer) => chunks.push(chunk))
    req.on("end", () => {
      if (failuresLeft > 0) {
        failuresLeft--
        res.writeHead(503).end()
        return
      }
      const raw = Buffer.concat(chunks)
      const signatureValid = Either.isRight(verify(raw, req.headers))
      posts.push({ raw: raw.toString("utf8"), body: JSON.parse(raw.toString("utf8")), signatureValid })
      res.writeHead(signatureValid ? 200 : 401).end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/meta`
  const statuses = () =>
    posts.flatMap((post) =>
      (post.body.entry ?? []).flatMap((entry: any) =>
        (entry.changes ?? []).flatMap((change: any) =>
          (change.value?.statuses ?? []).map((status: any) => ({ ...status, entryId: entry.id, metadata: change.value.metadata }))
        )
      )
    )
  const userActions = () =>
    posts.flatMap((post) =>
      (post.body.entry ?? []).flatMap((entry: any) =>
        (entry.changes ?? []).flatMap((change: any) => change.value?.user_actions ?? [])
      )
    )
  return {
    url,
    posts,
    statuses,
    statusesOf: (wamid: string) => statuses().filter((status: any) => status.id === wamid),
    userActions,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      })
  }
}

export type Receiver = Awaited<ReturnType<typeof startReceiver>>

/** Fast, seeded settings so a test's webhooks arrive within a few ticks. */
export const testOptions = (receiver: Receiver, overrides: SandboxOptions = {}): SandboxOptions => ({
  port: 0,
  webhookUrl: receiver.url,
  appSecret: SECRET,
  seed: 7,
  webhookLatencyMs: { min: 0, max: 5 },
  webhookBatchIntervalMs: 5,
  webhookRetryBaseMs: 5,
  // one POST at a time keeps arrival order equal to send order, so tests can compare sequences
  webhookConcurrency: 1,
  ...overrides
})

export const withSandbox = async <A>(
  overrides: SandboxOptions,
  body: (sandbox: Sandbox, receiver: Receiver) => Promise<A>,
  receiverOptions: { secret?: string; failFirst?: number } = {}
): Promise<A> => {
  const receiver = await startReceiver(receiverOptions)
  const sandbox = await startSandbox(testOptions(receiver, overrides))
  try {
    return await body(sandbox, receiver)
  } finally {
    await sandbox.close()
    await receiver.close()
  }
}

export interface Answer {
  readonly status: number
  readonly body: any
}

export const post = async (url: string, headers: Record<string, string>, body: unknown): Promise<Answer> => {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body)
  })
  return { status: response.status, body: await response.json() }
}

export const PHONE = "106540352242922"

export const graphSend = (sandbox: Sandbox, body: unknown, endpoint = "messages", phone = PHONE) =>
  post(`${sandbox.url}/v24.0/${phone}/${endpoint}`, { authorization: "Bearer any-token" }, body)

export const dialogSend = (sandbox: Sandbox, body: unknown, endpoint = "messages", phone = PHONE) =>
  post(`${sandbox.url}/${endpoint}`, { "D360-API-KEY": `sandbox-${phone}` }, body)

export const template = (to: string, name = "spring_sale", extra: Record<string, unknown> = {}) => ({
  messaging_product: "whatsapp",
  recipient_type: "individual",
  to,
  type: "template",
  template: { name, language: { code: "en" } },
  ...extra
})

export const text = (to: string) => ({ messaging_product: "whatsapp", to, type: "text", text: { body: "hello" } })

/** Polls `check` until it returns true; no timing is asserted, the bound only keeps a broken test from hanging. */
export const eventually = async (check: () => boolean, what: string, timeoutMs = 30_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

/** Waits until the sandbox has nothing left to deliver (including retries). */
export const settled = (sandbox: Sandbox) => eventually(() => sandbox.stats().webhooks.pending === 0, "webhooks delivered")
