import { spawn } from "node:child_process"
import { join } from "node:path"
import { createDatabase, type PostgresServer, startPostgresServer, type TestDatabase } from "@mm-gateway/postgres-projection/testing/standalone"
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import { ROOT, type StackProcess, startProcess, stopProcesses, waitUntilUp } from "../../scripts/stack.mjs"
import { type Answer, bootStack, eventually, expectStatus, postSignedBody, postSignedWebhook, quiet, type TestStack } from "./support.js"

/**
 * Moving a deployment from SQLite to PostgreSQL (`pnpm move-to-postgres`, the README's "Scaling out"),
 * through the real processes from their builds: a deployment on SQLite onboards, sends a campaign,
 * quarantines a body and is stopped with a status webhook still in its inbox; the command copies it
 * into an empty PostgreSQL database; an api on PostgreSQL then answers every question as the SQLite
 * one did (messages, campaign stats, onboarding, clicks, keys, quarantine), a worker on it applies the
 * webhook left behind, and a tenant's key sends through the channel's copied credentials. A second
 * run refuses the database, now not empty.
 */
const BM = "910000000000901"
const WABA = "920000000009011"
const OTHER_WABA = "920000000009012"
const PHONE = "930000000090111"
const CAMPAIGN = "move-1"
/** Scripted endings (packages/sandbox/README.md): read, delivered only, failed 131049, read and clicked. */
const ENDINGS = ["1234", "1235", "0003", "0001", "0005", "1236"]

let server: PostgresServer
let database: TestDatabase
let stack: TestStack & { readonly dir: string }
const started: Array<StackProcess> = []
const logs: Array<string> = []

beforeAll(async () => {
  server = await startPostgresServer()
  database = await createDatabase(server.url)
  stack = await bootStack()
}, 120_000)

afterAll(async () => {
  await stopProcesses(started)
  await stack?.stop()
  await database?.drop()
  await server?.stop()
})

const withLogs = (message: string) => `${message}\n--- logs (last 60 lines):\n${[...stack.logs, ...logs].slice(-60).join("\n")}`

/** `pnpm move-to-postgres`'s command, from its build, on the stack's SQLite file: its exit code and output. */
const move = (): Promise<{ code: number | null; out: string }> =>
  new Promise((resolve) => {
    const child = spawn(process.execPath, [join(ROOT, "packages/postgres-projection/dist/src/cli/from-sqlite.js")], {
      cwd: ROOT,
      env: { ...stack.env, MMGW_DATABASE_URL: database.url },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let out = ""
    child.stdout.on("data", (chunk) => (out += String(chunk)))
    child.stderr.on("data", (chunk) => (out += String(chunk)))
    child.once("close", (code) => resolve({ code, out }))
  })

/** Starts an api or a worker of the stack's configuration on the PostgreSQL database. */
const onPostgres = async (name: "api" | "worker") => {
  const process = startProcess(name, { ...stack.env, MMGW_DATABASE_URL: database.url }, (line) => logs.push(`${name}(pg) │ ${line}`))
  started.push(process)
  if (name === "api") await waitUntilUp(`${stack.apiUrl}/readyz`, 60_000, () => process.child.exitCode !== null)
  return process
}

const asTenant = async (secret: string, method: string, path: string, body?: unknown): Promise<Answer> => {
  const response = await fetch(`${stack.apiUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${secret}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) })
  })
  const text = await response.text()
  return { status: response.status, json: text === "" ? null : JSON.parse(text) }
}

const template = { name: "spring_sale", language: { code: "en" } }
let ids: Array<string> = []
let tenantSecret = ""

/** What the api answers about the deployment: what must read the same before and after the move. */
const answers = async () => {
  const get = async (path: string) => expectStatus(await stack.api("GET", path), 200, path)
  return {
    messages: await Promise.all(ids.map((id) => get(`/v1/messages/${id}`))),
    events: await Promise.all(ids.map((id) => get(`/v1/messages/${id}/events`))),
    stats: await get(`/v1/campaigns/${CAMPAIGN}/stats`),
    businessManager: await get(`/v1/business-managers/${BM}`),
    onboarding: await get("/v1/onboarding"),
    wabas: [await get(`/v1/wabas/${WABA}`), await get(`/v1/wabas/${OTHER_WABA}`)],
    channel: await get(`/v1/channels/${PHONE}`),
    templates: await get(`/v1/wabas/${WABA}/templates`),
    clicks: await get(`/v1/channels/${PHONE}/clicks`),
    keys: await get("/v1/api-keys"),
    quarantine: await get("/v1/webhook-inbox?state=quarantined"),
    asTenant: expectStatus(await asTenant(tenantSecret, "GET", `/v1/campaigns/${CAMPAIGN}/stats`), 200, "stats as the tenant")
  }
}

describe("moving a SQLite deployment to PostgreSQL", () => {
  let before: Awaited<ReturnType<typeof answers>>
  let delivered = ""

  it("a deployment on SQLite onboards, sends a campaign and quarantines a body", async () => {
    expectStatus(await stack.api("PUT", `/v1/business-managers/${BM}`, { name: "Acme" }), 200, "BM")
    expectStatus(await stack.api("PUT", `/v1/wabas/${WABA}`, { businessManagerId: BM, name: "Acme marketing" }), 200, "WABA")
    expectStatus(await stack.api("PUT", `/v1/wabas/${OTHER_WABA}`, { businessManagerId: BM }), 200, "the other WABA")
    expectStatus(await stack.api("PUT", `/v1/channels/${PHONE}`, {
      wabaId: WABA,
      displayPhoneNumber: "+1 555 0090111",
      provider: "sandbox",
      credentials: { apiKey: `sandbox-${PHONE}` }
    }), 200, "channel")
    expectStatus(await stack.api("PUT", `/v1/wabas/${WABA}/templates/spring_sale/en`, { category: "MARKETING" }), 200, "template")
    tenantSecret = expectStatus(await stack.api("POST", "/v1/api-keys", { name: "acme", channelIds: [PHONE] }), 201, "key").secret
    expectStatus(await postSignedWebhook(stack, {
      object: "whatsapp_business_account",
      entry: [{
        id: WABA,
        time: Math.floor(Date.now() / 1000),
        changes: [{ field: "account_update", value: { event: "MM_LITE_TERMS_SIGNED", waba_info: { waba_id: WABA, owner_business_id: BM } } }]
      }]
    }), 200, "terms")
    await eventually("the WABA onboarded", async () => expectStatus(await stack.api("GET", `/v1/wabas/${WABA}`), 200, "WABA").mmApi.status === "onboarded")
    const batch = expectStatus(await stack.api("POST", `/v1/channels/${PHONE}/message-batches`, {
      campaignId: CAMPAIGN,
      endpoint: "marketing_messages",
      messages: ENDINGS.map((ending) => ({ messaging_product: "whatsapp", to: `4917009${ending}`, type: "template", template }))
    }), 202, "batch")
    ids = batch.results.map((r: { id: string }) => r.id)
    assert.strictEqual(ids.length, ENDINGS.length)
    const final = new Set(["read", "delivered", "failed"])
    await eventually("every message final", async () => {
      const statuses = await Promise.all(ids.map(async (id) => expectStatus(await stack.api("GET", `/v1/messages/${id}`), 200, id).status))
      return statuses.every((s) => final.has(s))
    })
    await eventually("the click recorded", async () => expectStatus(await stack.api("GET", `/v1/channels/${PHONE}/clicks`), 200, "clicks").items.length === 1)
    expectStatus(await postSignedBody(stack, "not a webhook"), 200, "a body to quarantine")
    await eventually("it is quarantined", async () => expectStatus(await stack.api("GET", "/v1/webhook-inbox?state=quarantined"), 200, "quarantine").items.length === 1)
    await eventually("nothing in flight", () => quiet(stack))
    const stats = expectStatus(await stack.api("GET", `/v1/campaigns/${CAMPAIGN}/stats`), 200, "stats")
    assert.deepStrictEqual([stats.funnel.accepted, stats.funnel.read, stats.failed], [6, 4, 1], JSON.stringify(stats))
  })

  it("stopped with a status webhook still in its inbox, the deployment moves to an empty PostgreSQL database in one command", async () => {
    const [worker] = await stopProcesses([stack.process("worker")])
    assert.strictEqual(worker?.code, 0, withLogs("the worker stopped"))
    before = await answers()
    // The message scripted to stay delivered gets a read status the stopped worker never applies.
    const index = ENDINGS.indexOf("0003")
    const message = before.messages[index]
    assert.strictEqual(message.status, "delivered")
    delivered = message.id
    expectStatus(await postSignedWebhook(stack, {
      object: "whatsapp_business_account",
      entry: [{
        id: WABA,
        time: Math.floor(Date.now() / 1000),
        changes: [{
          field: "messages",
          value: {
            messaging_product: "whatsapp",
            metadata: { display_phone_number: "15550090111", phone_number_id: PHONE },
            statuses: [{ id: message.wamid, status: "read", timestamp: String(Math.floor(Date.now() / 1000)), recipient_id: `4917009${ENDINGS[index]}` }]
          }
        }]
      }]
    }), 200, "a status left in the inbox")
    const [api] = await stopProcesses([stack.process("api")])
    assert.strictEqual(api?.code, 0, withLogs("the api stopped"))

    const moved = await move()
    assert.strictEqual(moved.code, 0, moved.out)
    assert.match(moved.out, /moved .*mm-gateway\.sqlite to postgres:\/\/postgres@127\.0\.0\.1:\d+\/\S+ in \d+ ms: \d+ events, 1 API keys, 1 channel credentials, 1 webhooks to process and 1 in quarantine/)
    assert.notInclude(moved.out, new URL(database.url).password, "the output does not show the password")
  })

  it("an api on PostgreSQL answers every question as the SQLite one did", async () => {
    await onPostgres("api")
    assert.deepStrictEqual(await answers(), before)
  })

  it("a worker on PostgreSQL applies the webhook left in the inbox, and the tenant's key sends through the copied credentials", async () => {
    await onPostgres("worker")
    await eventually("the status left behind applied", async () => expectStatus(await stack.api("GET", `/v1/messages/${delivered}`), 200, "message").status === "read")
    const sent = expectStatus(await asTenant(tenantSecret, "POST", `/v1/channels/${PHONE}/marketing_messages`, {
      messaging_product: "whatsapp",
      to: "49170091234",
      type: "template",
      template
    }), 202, "a send after the move")
    const id = sent.messages[0].id as string
    await eventually(`${id} read`, async () => expectStatus(await stack.api("GET", `/v1/messages/${id}`), 200, id).status === "read", 90_000)
    const sandbox = expectStatus(await stack.sandbox("GET", "/sandbox/stats"), 200, "sandbox stats")
    for (const sentBefore of ids) assert.strictEqual(sandbox.byCallbackData[sentBefore]?.accepted, 1, `${sentBefore} accepted once, not again after the move`)
    assert.deepStrictEqual(sandbox.byCallbackData[id], { requests: 1, accepted: 1 })
  })

  it("a second move refuses the database, now not empty, and changes nothing", async () => {
    const again = await move()
    assert.strictEqual(again.code, 1, again.out)
    assert.match(again.out, /move-to-postgres failed, nothing written: the target database is not empty \(its events table has rows\)/)
    assert.strictEqual(expectStatus(await stack.api("GET", `/v1/messages/${delivered}`), 200, "message").status, "read")
  })
})
