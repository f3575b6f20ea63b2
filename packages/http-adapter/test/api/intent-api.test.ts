import { type Sandbox, startSandbox } from "@mm-gateway/sandbox"
import { Layer, Logger, LogLevel } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { closedPort, startSink, type TestServer } from "../provider/support.js"
import { startApi, type TestApi } from "./support.js"

/**
 * Partner-initiated onboarding: `POST /v1/business-managers/{id}/onboarding-invitations` with
 * `{"via": "meta_email"}` calls Meta's Intent API — here the sandbox, through real HTTP — and records
 * its answer on the Business Manager (docs/api.md#onboarding-invitations).
 */

const TOKEN = "EAAG-system-user-SECRET-7f3e"
const BM = "271828182845904"
const logged: Array<string> = []
const capture = Layer.merge(
  Logger.replace(Logger.defaultLogger, Logger.map(Logger.logfmtLogger, (line) => void logged.push(line))),
  Logger.minimumLogLevel(LogLevel.All)
)

let sink: TestServer
let sandbox: Sandbox
let api: TestApi
let unconfigured: TestApi
let unreachable: TestApi

const invite = (on: TestApi, businessId: string, body?: unknown, token?: string) =>
  on.request("POST", `/v1/business-managers/${businessId}/onboarding-invitations`, {
    ...(body === undefined ? {} : { body }),
    ...(token === undefined ? {} : { token })
  })

const register = async (on: TestApi, ...ids: ReadonlyArray<string>) => {
  for (const id of ids) expect((await on.request("PUT", `/v1/business-managers/${id}`, { body: { name: `BM ${id}` } })).status).toBe(200)
}

beforeAll(async () => {
  sink = await startSink()
  sandbox = await startSandbox({ port: 0, webhookUrl: `${sink.url}/webhooks/meta`, seed: 11, appSecret: "test-secret" })
  api = await startApi({ MMGW_GRAPH_BASE_URL: sandbox.url, MMGW_GRAPH_API_VERSION: "v27.0", MMGW_META_SYSTEM_USER_TOKEN: TOKEN, MMGW_META_SOLUTION_ID: "5550001" }, capture)
  unconfigured = await startApi({ MMGW_GRAPH_BASE_URL: sandbox.url })
  unreachable = await startApi({ MMGW_GRAPH_BASE_URL: `http://127.0.0.1:${await closedPort()}`, MMGW_META_SYSTEM_USER_TOKEN: TOKEN })
})
afterAll(async () => {
  await Promise.all([api?.close(), unconfigured?.close(), unreachable?.close()])
  await sandbox?.close()
  await sink?.close()
})

describe("an invitation through Meta's Intent API", () => {
  it("records Meta's request_id on the Business Manager, with the default solution id, and shows it", async () => {
    await register(api, BM)
    const r = await invite(api, BM, { via: "meta_email" })
    expect(r.status).toBe(201)
    const request = sandbox.intentRequests().find((q) => q.businessId === BM)
    expect(request).toMatchObject({ solutionId: "5550001", errorCode: null })
    expect(r.json).toMatchObject({
      via: "meta_email",
      link: null,
      metaRequest: { requestId: request?.requestId, alreadyInvited: false, solutionId: "5550001" }
    })
    expect(r.json.steps[0]).toMatch(/Meta emails every admin/)
    const bm = (await api.request("GET", `/v1/business-managers/${BM}`)).json
    expect(bm.mmApi.metaRequest).toEqual(r.json.metaRequest)
    expect(bm.mmApi.invitedAt).toBe(r.json.metaRequest.requestedAt)
    expect(bm.mmApi.termsSigned).toBe(false)
    // Recorded as a fact on the Business Manager's stream.
    const listed = (await api.request("GET", "/v1/business-managers")).json.items.find((b: { id: string }) => b.id === BM)
    expect(listed.mmApi.metaRequest.requestId).toBe(request?.requestId)
  })

  it("a second request is Meta's duplicate (1752041): success, marked already invited, and recorded", async () => {
    const r = await invite(api, BM, { via: "meta_email", solutionId: "42" })
    expect(r.status).toBe(201)
    expect(r.json.metaRequest).toMatchObject({ requestId: null, alreadyInvited: true, solutionId: "42" })
    expect(r.json.steps[0]).toMatch(/already been invited/)
    expect(sandbox.intentRequests().filter((q) => q.businessId === BM).map((q) => [q.solutionId, q.errorCode])).toEqual([["5550001", null], ["42", 1752041]])
    expect((await api.request("GET", `/v1/business-managers/${BM}`)).json.mmApi.metaRequest).toEqual(r.json.metaRequest)
  })

  it("a business another partner invited already is already invited at the first request", async () => {
    await register(api, "271828182841006")
    const r = await invite(api, "271828182841006", { via: "meta_email" })
    expect([r.status, r.json.metaRequest?.alreadyInvited, r.json.metaRequest?.requestId]).toEqual([201, true, null])
  })

  it("each documented refusal is a 4xx with a stable code, Meta's code and text in details.graph, and records nothing", async () => {
    const cases = [
      ["271828182841001", 422, "meta_invalid_recipient_type", "already_signed", /already accepted the MM API terms/],
      ["271828182841002", 422, "meta_invalid_recipient_type", "ineligible_country", /no WABA in a country/],
      ["271828182841003", 422, "meta_invalid_recipient_type", "no_eligible_waba", /no eligible WABA shared/],
      ["271828182841004", 409, "meta_request_already_sent", undefined, /already sent/],
      ["271828182841005", 403, "meta_insufficient_permissions", undefined, /whatsapp_business_management/]
    ] as const
    for (const [id, status, code, cause, message] of cases) {
      await register(api, id)
      const r = await invite(api, id, { via: "meta_email" })
      expect([id, r.status, r.json.error.code, r.json.error.details.cause]).toEqual([id, status, code, cause === undefined ? undefined : cause])
      expect(r.json.error.message).toMatch(message)
      expect(r.json.error.details.graph).toMatchObject({ httpStatus: status === 403 ? 403 : 400, code: status === 403 ? 10 : 100 })
      expect(typeof r.json.error.details.graph.message).toBe("string")
      const bm = (await api.request("GET", `/v1/business-managers/${id}`)).json
      expect([bm.mmApi.metaRequest, bm.mmApi.invitedAt]).toEqual([null, null])
    }
  })

  it("an error Meta does not document is a 502 with its Graph code and message; no answer is a 502 that says so", async () => {
    await register(api, "271828182841007", "271828182841008")
    const failed = await invite(api, "271828182841007", { via: "meta_email" })
    expect([failed.status, failed.json.error.code, failed.json.error.details.graph]).toEqual([
      502,
      "meta_error",
      { httpStatus: 500, code: 1, message: "An unknown error has occurred." }
    ])
    expect(failed.json.error.message).toMatch(/Graph error 1: An unknown error has occurred/)
    const dropped = await invite(api, "271828182841008", { via: "meta_email" })
    expect([dropped.status, dropped.json.error.code]).toEqual([502, "meta_no_answer"])
    expect(dropped.json.error.message).toMatch(/asking again is safe/)
    for (const id of ["271828182841007", "271828182841008"]) {
      expect((await api.request("GET", `/v1/business-managers/${id}`)).json.mmApi.metaRequest).toBeNull()
    }
  })

  it("Meta out of reach is a 503 meta_unreachable: nothing was sent", async () => {
    await register(unreachable, BM)
    const r = await invite(unreachable, BM, { via: "meta_email" })
    expect([r.status, r.json.error.code]).toEqual([503, "meta_unreachable"])
    expect(r.json.error.message).toMatch(/nothing was sent/)
  })

  it("without a system-user token it is a 422 naming the missing setting, and Meta is not asked", async () => {
    await register(unconfigured, "271828182845999")
    const before = sandbox.intentRequests().length
    const r = await invite(unconfigured, "271828182845999", { via: "meta_email" })
    expect([r.status, r.json.error.code, r.json.error.details]).toEqual([422, "meta_not_configured", { setting: "MMGW_META_SYSTEM_USER_TOKEN" }])
    expect(r.json.error.message).toMatch(/MMGW_META_SYSTEM_USER_TOKEN is not set/)
    expect(sandbox.intentRequests().length).toBe(before)
    // The link still works without one.
    const link = await invite(unconfigured, "271828182845999")
    expect([link.status, link.json.via, link.json.link, link.json.metaRequest]).toEqual([201, "link", "https://hub.360dialog.com/mmlite-tos", null])
  })

  it("asks Meta only for a Business Manager the gateway knows and the key sees: 404 otherwise", async () => {
    const before = sandbox.intentRequests().length
    expect((await invite(api, "271828182840404", { via: "meta_email" })).status).toBe(404)
    const key = await api.request("POST", "/v1/api-keys", { body: { name: "tenant", businessManagerIds: ["271828182841006"] } })
    expect(key.status).toBe(201)
    const other = await invite(api, BM, { via: "meta_email" }, key.json.secret)
    expect([other.status, other.json.error.code]).toEqual([404, "not_found"])
    expect(sandbox.intentRequests().length).toBe(before)
    // The tenant invites its own Business Manager.
    expect((await invite(api, "271828182841006", { via: "meta_email" }, key.json.secret)).status).toBe(201)
  })

  it("bad input is a 400 naming the field", async () => {
    const via = await invite(api, BM, { via: "carrier_pigeon" })
    expect([via.status, via.json.error.code, via.json.error.details.field]).toEqual([400, "invalid_request", "via"])
    const solution = await invite(api, BM, { via: "meta_email", solutionId: "abc" })
    expect([solution.status, solution.json.error.details.field]).toEqual([400, "solutionId"])
    const linkWithSolution = await invite(api, BM, { solutionId: "42" })
    expect([linkWithSolution.status, linkWithSolution.json.error.details.field]).toEqual([400, "solutionId"])
  })

  it("each request is logged with its outcome, and the system-user token is never logged nor answered", async () => {
    const requests = logged.filter((line) => line.includes("intent api request"))
    expect(requests.some((line) => line.includes("outcome=Requested") && line.includes(`businessId=${BM}`))).toBe(true)
    expect(requests.some((line) => line.includes("outcome=invalid_recipient_type") && line.includes("graphCode=100"))).toBe(true)
    expect(logged.filter((line) => line.includes(TOKEN))).toEqual([])
    const doc = await api.request("GET", "/openapi.json", { token: null })
    expect(doc.text).not.toContain(TOKEN)
  })
})
