import { createHash } from "node:crypto"
import { type PostgresServer, createDatabase, startPostgresServer, type TestDatabase } from "@mm-gateway/postgres-projection/testing/standalone"
import pg from "pg"
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import { freePort, type StackProcess, startProcess, stopProcesses, waitUntilUp } from "../../scripts/stack.mjs"
import { type Answer, bootStack, eventually, expectStatus, postSignedWebhook, quiet, SECRETS, type TestStack } from "./support.js"

/**
 * The stack on PostgreSQL (`MMGW_DATABASE_URL`): the real processes from their builds — two apis, the
 * worker and the sandbox — on one database of a real server, empty when they start together. Through
 * the public API only: what one api acknowledged the other shows at once, a webhook is committed before
 * its 200 and applied by the worker, and messages sent through one api are dispatched by the worker
 * to the sandbox exactly once each and followed to `read`.
 */
const BM = "910000000000801"
const WABA = "920000000008011"
const PHONE = "930000000080111"

let server: PostgresServer
let database: TestDatabase
let stack: TestStack & { readonly dir: string }
let second: { readonly url: string; readonly process: StackProcess }
const logs: Array<string> = []

beforeAll(async () => {
  server = await startPostgresServer()
  database = await createDatabase(server.url)
  stack = await bootStack(() => ({ MMGW_DATABASE_URL: database.url, MMGW_DATABASE_POOL_SIZE: "4" }))
  const port = await freePort()
  const started = startProcess("api", { ...stack.env, MMGW_API_PORT: String(port) }, (line) => logs.push(`api#2   │ ${line}`))
  second = { url: `http://127.0.0.1:${port}`, process: started }
  await waitUntilUp(`${second.url}/readyz`, 60_000, () => started.child.exitCode !== null)
}, 120_000)

afterAll(async () => {
  if (second !== undefined) await stopProcesses([second.process])
  await stack?.stop()
  await database?.drop()
  await server?.stop()
})

/** The second api, with the admin token. */
const other = async (method: string, path: string): Promise<Answer> => {
  const response = await fetch(`${second.url}${path}`, { method, headers: { authorization: `Bearer ${SECRETS.MMGW_ADMIN_TOKEN}` } })
  const text = await response.text()
  return { status: response.status, json: text === "" ? null : JSON.parse(text) }
}

/** SQL on the stack's database, for what the API does not show (the migrations, the inbox's rows). */
const sql = async <R extends pg.QueryResultRow>(text: string, values: Array<unknown> = []): Promise<Array<R>> => {
  const client = new pg.Client({ connectionString: database.url })
  await client.connect()
  try {
    return (await client.query<R>(text, values)).rows
  } finally {
    await client.end()
  }
}

const withLogs = (message: string) => `${message}\n--- stack logs (last 60 lines):\n${[...stack.logs, ...logs].slice(-60).join("\n")}`

describe("api and worker processes on PostgreSQL", () => {
  it("started together on an empty database, they migrated it once and say where they run", async () => {
    const applied = await sql<{ name: string; n: string }>("SELECT name, count(*) AS n FROM kysely_migration GROUP BY name ORDER BY name")
    assert.isAbove(applied.length, 5)
    assert.deepStrictEqual(applied.map((r) => Number(r.n)), applied.map(() => 1))
    for (const answer of [await stack.api("GET", "/readyz"), await other("GET", "/readyz")]) {
      assert.deepStrictEqual([answer.status, answer.json?.migrations], [200, applied.length])
    }
    const described = `database postgres://postgres@127.0.0.1:${new URL(database.url).port}/${database.name}`
    assert.isTrue(stack.logs.some((l) => l.startsWith("api") && l.includes(described)), withLogs("the api names the database"))
    assert.isTrue(stack.logs.some((l) => l.startsWith("worker") && l.includes(described)), withLogs("the worker names the database"))
    assert.isFalse([...stack.logs, ...logs].some((l) => l.includes(new URL(database.url).password)), "no log line shows the password")
  })

  it("what one api acknowledged, the other shows at once", async () => {
    expectStatus(await stack.api("PUT", `/v1/business-managers/${BM}`, { name: "Acme" }), 200, "BM")
    assert.strictEqual(expectStatus(await other("GET", `/v1/business-managers/${BM}`), 200, "BM on the other api").name, "Acme")
    expectStatus(await stack.api("PUT", `/v1/wabas/${WABA}`, { businessManagerId: BM }), 200, "WABA")
    assert.strictEqual(expectStatus(await other("GET", `/v1/wabas/${WABA}`), 200, "WABA on the other api").businessManagerId, BM)
    expectStatus(await stack.api("PUT", `/v1/channels/${PHONE}`, {
      wabaId: WABA,
      displayPhoneNumber: "+1 555 0080111",
      provider: "sandbox",
      credentials: { apiKey: `sandbox-${PHONE}` }
    }), 200, "channel")
    assert.strictEqual(expectStatus(await other("GET", `/v1/channels/${PHONE}`), 200, "channel on the other api").wabaId, WABA)
    expectStatus(await stack.api("PUT", `/v1/wabas/${WABA}/templates/spring_sale/en`, { category: "MARKETING" }), 200, "template")
    const templates = expectStatus(await other("GET", `/v1/wabas/${WABA}/templates`), 200, "templates on the other api")
    assert.deepStrictEqual(templates.items.map((t: { name: string; category: string }) => [t.name, t.category]), [["spring_sale", "MARKETING"]])
  })

  it("a webhook is committed before its 200, and the worker applies it", async () => {
    const payload = {
      object: "whatsapp_business_account",
      entry: [{
        id: WABA,
        time: Math.floor(Date.now() / 1000),
        changes: [{ field: "account_update", value: { event: "MM_LITE_TERMS_SIGNED", waba_info: { waba_id: WABA, owner_business_id: BM } } }]
      }]
    }
    expectStatus(await postSignedWebhook(stack, payload), 200, "terms webhook")
    const hash = createHash("sha256").update(JSON.stringify(payload)).digest("hex")
    assert.strictEqual((await sql("SELECT id FROM inbox WHERE source = 'meta' AND body_sha256 = $1", [hash])).length, 1)
    await eventually("the worker applied the terms", async () => expectStatus(await other("GET", `/v1/wabas/${WABA}`), 200, "WABA").mmApi.status === "onboarded")
  })

  it("messages sent through one api are shown by the other at once, dispatched to the sandbox exactly once each, and read", async () => {
    const ids: Array<string> = []
    for (let i = 0; i < 12; i++) {
      const sent = expectStatus(
        await stack.api("POST", `/v1/channels/${PHONE}/marketing_messages`, {
          messaging_product: "whatsapp",
          to: `49170080${String(1000 + i)}`,
          type: "template",
          template: { name: "spring_sale", language: { code: "en" } }
        }),
        202,
        "send"
      )
      const id = sent.messages[0].id as string
      ids.push(id)
      assert.strictEqual(expectStatus(await other("GET", `/v1/messages/${id}`), 200, "message on the other api").id, id)
    }
    for (const id of ids) {
      await eventually(`${id} read`, async () => expectStatus(await other("GET", `/v1/messages/${id}`), 200, id).status === "read")
    }
    await eventually("every webhook applied", () => quiet(stack))
    const sandbox = expectStatus(await stack.sandbox("GET", "/sandbox/stats"), 200, "sandbox stats")
    for (const id of ids) assert.deepStrictEqual(sandbox.byCallbackData[id], { requests: 1, accepted: 1 }, `${id} sent once`)
    const message = expectStatus(await other("GET", `/v1/messages/${ids[0]}`), 200, "message")
    assert.deepStrictEqual([message.route.decided, message.route.observed], ["marketing_messages", "marketing_messages"])
  })

  it("SIGTERM stops both apis and the worker with exit 0", async () => {
    const exits = await stopProcesses([second.process, stack.process("api"), stack.process("worker")])
    assert.deepStrictEqual(exits.map((e) => e.code), [0, 0, 0], withLogs("exits"))
    assert.isTrue(stack.logs.some((l) => l.startsWith("worker") && l.includes("leases released by")), withLogs("the worker released its leases"))
  })
})
