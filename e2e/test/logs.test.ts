import { afterAll, assert, beforeAll, describe, it } from "vitest"
import { type ProcessName, startProcess } from "../../scripts/stack.mjs"
import { bootStack, eventually, expectStatus, postSignedBody, postSignedWebhook, quiet, type TestStack } from "./support.js"

/**
 * What the processes themselves write, read line by line as `pnpm start` and a log collector read it
 * (scripts/stack.mjs: stdout and stderr of each process, split by readline). The traffic: a message
 * sent and read, a signed status webhook with several wrong-typed fields (a recipient's number, a name
 * and a text among them), verified bodies that are not JSON or not UTF-8 around a number, a send
 * request the api refuses, and processes that stop on a failure: an api whose port is taken (a cause
 * with its stack trace), an api and a sandbox given a configuration value with a line break, a
 * sandbox whose port is taken. Then every line must be a whole record (time and level first) and
 * none may carry a recipient's number or any other value of a body.
 */

const BM = "910000000000801"
const WABA = "920000000008011"
const PHONE = "930000000080111"

/** Values that must never reach a log line. */
const RECIPIENT = "4917611223344"
const STRAY = "4917655667788"
const NAME = "Erika Mustermann"
const TEXT = "call me back on 0176 55667788"
const IN_BROKEN_JSON = "4917699887766"
const REFUSED_TO = "4917644332211"
const NEVER_LOGGED = [RECIPIENT, STRAY, "55667788", NAME, "Mustermann", TEXT, IN_BROKEN_JSON, "99887766", REFUSED_TO, "44332211"]

const RECORD = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (TRACE|DEBUG|INFO |WARN |ERROR|FATAL) \S/
const STATUSES = "$.entry[0].changes[0].value.statuses"

let stack: TestStack & { readonly dir: string }
/** Every line every process wrote, as [process, line]. */
let lines: Array<readonly [ProcessName, string]> = []
let quarantined: Array<{ reason: string; body: string; bodyEncoding: string }> = []
const exits: Partial<Record<string, { code: number | null; signal: NodeJS.Signals | null }>> = {}

const withLogs = (message: string) => `${message}\n--- logs:\n${stack.logs.join("\n")}`
const linesOf = (name: ProcessName) => lines.filter(([n]) => n === name).map(([, line]) => line)

/** Starts one more process of the stack with `env` and waits until it exits (it is meant to fail). */
const runToExit = async (what: string, name: ProcessName, env: NodeJS.ProcessEnv) => {
  const p = startProcess(name, env, (line: string) => stack.logs.push(`${name.padEnd(7)} │ ${line}`))
  const kill = setTimeout(() => p.child.kill("SIGKILL"), 60_000)
  exits[what] = await p.exited
  clearTimeout(kill)
}

beforeAll(async () => {
  stack = await bootStack()

  // Normal traffic: register, onboard through the sandbox's signed webhook, send, read.
  expectStatus(await stack.api("PUT", `/v1/business-managers/${BM}`, { name: "logs" }), 200, "BM")
  expectStatus(await stack.api("PUT", `/v1/wabas/${WABA}`, { businessManagerId: BM }), 200, "WABA")
  expectStatus(await stack.api("PUT", `/v1/channels/${PHONE}`, {
    wabaId: WABA,
    displayPhoneNumber: "+1 555 0080111",
    provider: "sandbox",
    credentials: { apiKey: `sandbox-${PHONE}` }
  }), 200, "channel")
  expectStatus(await stack.api("PUT", `/v1/wabas/${WABA}/templates/spring_sale/en`, { category: "MARKETING" }), 200, "template")
  expectStatus(await stack.sandbox("PUT", `/sandbox/numbers/${PHONE}`, { wabaId: WABA, ownerBusinessId: BM, onboarded: true }), 200, "sandbox number")
  expectStatus(await stack.sandbox("POST", "/sandbox/onboarding", { wabaId: WABA, ownerBusinessId: BM }), 200, "onboarding")
  await eventually("the WABA onboarded", async () => expectStatus(await stack.api("GET", `/v1/wabas/${WABA}`), 200, "WABA").mmApi.status === "onboarded")
  const template = { name: "spring_sale", language: { code: "en" } }
  const sent = expectStatus(await stack.api("POST", `/v1/channels/${PHONE}/marketing_messages`, {
    messaging_product: "whatsapp",
    to: RECIPIENT,
    type: "template",
    template
  }), 202, "send")
  const id: string = sent.messages[0].id
  await eventually("the message read", async () => expectStatus(await stack.api("GET", `/v1/messages/${id}`), 200, "message").status === "read")
  // A send request the api refuses: the number where a string belongs.
  const refused = await stack.api("POST", `/v1/channels/${PHONE}/marketing_messages`, { messaging_product: "whatsapp", to: Number(REFUSED_TO), type: "template", template })
  assert.strictEqual(refused.status, 400)

  // Bodies the worker quarantines.
  expectStatus(await postSignedWebhook(stack, {
    object: "whatsapp_business_account",
    entry: [{
      id: WABA,
      time: Math.floor(Date.now() / 1000),
      changes: [{
        field: "messages",
        value: {
          messaging_product: "whatsapp",
          metadata: { display_phone_number: "15550080111", phone_number_id: PHONE },
          statuses: [
            {
              id: "wamid.logs-1",
              status: "delivered",
              timestamp: `+${STRAY}`,
              recipient_id: Number(STRAY),
              biz_opaque_callback_data: [NAME, STRAY],
              errors: [{ code: STRAY, title: 7, message: { text: TEXT } }]
            },
            { id: Number(STRAY), status: "read", timestamp: 1_764_000_100, recipient_id: STRAY, pricing: { billable: NAME } }
          ]
        }
      }]
    }]
  }), 200, "webhook with wrong-typed fields")
  expectStatus(await postSignedBody(stack, `{"object":"whatsapp_business_account","entry":[{"id":"${IN_BROKEN_JSON}" x}]}`), 200, "not JSON")
  expectStatus(await postSignedBody(stack, `Dear ${NAME}, ${IN_BROKEN_JSON}`), 200, "text")
  expectStatus(await postSignedBody(stack, new Uint8Array([...new TextEncoder().encode(`{"to":"${IN_BROKEN_JSON}"`), 0xff])), 200, "not UTF-8")
  await eventually("four bodies quarantined", async () => {
    quarantined = expectStatus(await stack.api("GET", "/v1/webhook-inbox?state=quarantined"), 200, "quarantine").items
    return quarantined.length === 4
  })
  await eventually("the worker logged the four", async () => stack.logs.filter((l) => l.startsWith("worker") && l.includes(" quarantined ")).length === 4)
  await eventually("nothing left in flight", () => quiet(stack))

  // Processes that stop on a failure.
  await runToExit("api on a taken port", "api", stack.env)
  await runToExit("api with a line break in its port", "api", { ...stack.env, MMGW_API_PORT: "80\n81" })
  await runToExit("sandbox with a line break in a setting", "sandbox", { ...stack.env, MMGW_SANDBOX_WEBHOOK_BATCH_SIZE: "many\nlines" })
  await runToExit("sandbox on a taken port", "sandbox", stack.env)

  // The stack's own processes stop too (their last lines are read before stop() resolves).
  const stopped = await stack.stop()
  for (const s of stopped) exits[s.name] ??= s
  lines = stack.logs.map((entry) => {
    const at = entry.indexOf(" │ ")
    return [entry.slice(0, at).trim() as ProcessName, entry.slice(at + 3)] as const
  })
})
afterAll(async () => {
  await stack?.stop()
})

describe("the processes' own output", () => {
  it("each of the three wrote, and the failing ones exited 1", () => {
    for (const name of ["api", "worker", "sandbox"] as const) assert.isAbove(linesOf(name).length, 0, withLogs(`${name} wrote nothing`))
    for (const what of ["api on a taken port", "api with a line break in its port", "sandbox with a line break in a setting", "sandbox on a taken port"]) {
      assert.strictEqual(exits[what]?.code, 1, withLogs(what))
    }
  })

  it("every line is a whole record: it starts with an ISO time and a level", () => {
    for (const [name, line] of lines) assert.match(line, RECORD, withLogs(`${name} wrote a line that is not a record: ${JSON.stringify(line)}`))
  })

  it("every record says which process wrote it", () => {
    for (const [name, line] of lines) assert.include(line, ` process=${name}`, line)
  })

  it("no line carries a recipient's number, a name or a text from a body or a request", () => {
    for (const [name, line] of lines) {
      for (const value of NEVER_LOGGED) assert.notInclude(line, value, `${name}: ${line}`)
    }
  })

  it("a quarantined body is one record, its problems a JSON array: the reasons the api lists, line for line", () => {
    const logged = linesOf("worker")
      .filter((line) => / WARN {2}webhook \d+ \(meta\) quarantined /.test(line))
      .map((line) => JSON.parse(line.replace(" process=worker", "").split(" problems=")[1]!) as Array<string>)
    assert.sameDeepMembers(logged, quarantined.map((q) => q.reason.split("\n")))
  })

  it("the reasons name paths, expectations and kinds of values, and nothing of the bodies", () => {
    const reasons = quarantined.map((q) => q.reason)
    for (const reason of reasons) for (const value of NEVER_LOGGED) assert.notInclude(reason, value, reason)
    assert.sameMembers(reasons.find((r) => r.startsWith(STATUSES))!.split("\n"), [
      `${STATUSES}[0].timestamp: expected unix seconds (a number or a numeric string), got a string of 14 characters`,
      `${STATUSES}[0].recipient_id: expected a string, got a number`,
      `${STATUSES}[0].biz_opaque_callback_data: expected a string, got an array of 2 items`,
      `${STATUSES}[0].errors[0].code: expected an error code (an integer), got a string of 13 characters`,
      `${STATUSES}[0].errors[0].title: expected a string, got a number`,
      `${STATUSES}[0].errors[0].message: expected a string, got an object with 1 property`,
      `${STATUSES}[1].id: expected a wamid (a non-empty string), got a number`,
      `${STATUSES}[1].pricing.billable: expected a boolean, got a string of 16 characters`
    ])
    assert.includeMembers(reasons, [
      "$: expected a JSON document, got 73 characters that are not JSON (the parser stopped at position 69)",
      "$: expected a JSON document, got 36 characters that are not JSON",
      "$: expected UTF-8 text, got 22 bytes that are not UTF-8"
    ])
  })

  it("a failure's cause is on its record's line, a JSON string that keeps the stack trace", () => {
    const failure = linesOf("api").find((line) => line.includes(" ERROR stopped by a failure ") && line.includes("EADDRINUSE"))
    assert.isDefined(failure, withLogs("the api on a taken port logged no failure"))
    const cause = JSON.parse(failure!.slice(failure!.indexOf(" cause=") + 7)) as string
    assert.match(cause, /EADDRINUSE[^\n]*\n {4}at /)
  })

  it("a line break in a configuration value is escaped in the record that names it", () => {
    assert.isTrue(linesOf("api").some((line) => / ERROR stopped by a failure .*MMGW_API_PORT.*80\\\\n81/.test(line)), withLogs("api: MMGW_API_PORT"))
    assert.isTrue(linesOf("sandbox").some((line) => / ERROR MMGW_SANDBOX_WEBHOOK_BATCH_SIZE .*"many\\nlines"/.test(line)), withLogs("sandbox: batch size"))
    assert.isTrue(linesOf("sandbox").some((line) => / ERROR cannot listen on .*EADDRINUSE/.test(line)), withLogs("sandbox: taken port"))
  })
})
