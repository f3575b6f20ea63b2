import { request as httpRequest } from "node:http"
import { PROPERTY_TEST, propertySettings } from "@mm-gateway/domain/testing"
import { JsonLimits } from "@mm-gateway/webhook-adapter"
import fc from "fast-check"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ADMIN, SEEDED, startSeededApi, templateBody, type TestApi } from "./support.js"

/**
 * Bodies nested deep, wide, long, or carrying such a value inside an otherwise valid send, thrown at
 * every operation the api documents in `/openapi.json`: never a 500, always the error envelope on a 4xx
 * (Graph's on the drop-in path), and on every operation that reads a body, a body beyond a bound is the
 * 400 that names its place.
 */

let api: TestApi
const { bm: BM, waba: WABA, phone: PHONE } = SEEDED
const TO = "16505550401"
let apiKeyId: string
let messageId: string
/** The D360-API-KEY of the drop-in path's 360dialog style: a key scoped to the channel. */
let channelKey: string
let endpointId: string

beforeAll(async () => {
  api = await startSeededApi()
  apiKeyId = (await api.request("POST", "/v1/api-keys", { body: { name: "bounds", businessManagerIds: [BM] } })).json.id
  messageId = (await api.request("POST", `/v1/channels/${PHONE}/messages`, { body: templateBody(TO) })).json.messages[0].id
  channelKey = (await api.request("POST", "/v1/api-keys", { body: { name: "d360", channelIds: [PHONE] } })).json.secret
  endpointId = (await api.request("POST", "/v1/webhook-endpoints", { body: { url: "https://8.8.8.8/hooks", secret: "a-bounded-secret", businessManagerIds: [BM] } })).json.id
})
afterAll(async () => {
  await api.close()
})

// ---- the operations, with plausible parameters ---------------------------------------------------

interface Operation {
  readonly id: string
  readonly method: string
  /** With its path parameters and required query parameters filled in. */
  readonly url: string
  readonly template: string
  /** The drop-in path: Graph's error envelope. */
  readonly graph: boolean
  readonly headers: Readonly<Record<string, string>>
}

const pathValue = (name: string, template: string): string => {
  const values: Record<string, string> = {
    businessId: BM,
    wabaId: WABA,
    phoneNumberId: PHONE,
    version: "v25.0",
    name: "spring_sale",
    language: "en",
    campaignId: "spring",
    clickId: "click-1"
  }
  if (name === "id") {
    if (template.startsWith("/v1/api-keys/")) return apiKeyId
    if (template.startsWith("/v1/messages/")) return messageId
    if (template.startsWith("/v1/webhook-inbox/")) return "1"
    if (template.startsWith("/v1/webhook-endpoints/")) return endpointId
  }
  const value = values[name]
  // A new operation needs its plausible values here, so that it is not skipped.
  if (value === undefined) throw new Error(`no plausible value for path parameter ${name} of ${template}`)
  return value
}

const queryValue = (name: string, template: string): string => {
  if (name === "wamid") return "wamid.HBgLMTY1MDU1NTA0MDE"
  throw new Error(`no plausible value for required query parameter ${name} of ${template}`)
}

const operationsOf = async (): Promise<ReadonlyArray<Operation>> => {
  const doc = (await api.request("GET", "/openapi.json", { token: null })).json
  const operations: Array<Operation> = []
  for (const [template, item] of Object.entries(doc.paths as Record<string, Record<string, any>>)) {
    for (const [method, operation] of Object.entries(item)) {
      if (!["get", "put", "post", "patch", "delete"].includes(method)) continue
      const parameters: ReadonlyArray<{ name: string; in: string; required?: boolean }> = operation.parameters ?? []
      const path = template.replace(/\{([^}]+)\}/g, (_, name: string) => encodeURIComponent(pathValue(name, template)))
      const query = parameters.filter((p) => p.in === "query" && p.required === true)
        .map((p) => `${encodeURIComponent(p.name)}=${encodeURIComponent(queryValue(p.name, template))}`)
      const d360 = (operation.security ?? []).some((s: Record<string, unknown>) => "d360ApiKey" in s)
      operations.push({
        id: operation.operationId,
        method: method.toUpperCase(),
        template,
        url: query.length === 0 ? path : `${path}?${query.join("&")}`,
        graph: !template.startsWith("/v1/") && (operation.security ?? []).length > 0,
        headers: d360 ? { "d360-api-key": channelKey } : { authorization: `Bearer ${ADMIN}` }
      })
    }
  }
  return operations
}

/** A request with any method and any body (fetch refuses a body on GET). */
const send = (operation: Operation, body: string) =>
  new Promise<{ readonly status: number; readonly text: string }>((resolve, reject) => {
    const req = httpRequest(`${api.url}${operation.url}`, {
      method: operation.method,
      headers: { ...operation.headers, "content-type": "application/json", "content-length": Buffer.byteLength(body) }
    }, (res) => {
      const chunks: Array<Buffer> = []
      res.on("data", (chunk: Buffer) => chunks.push(chunk))
      res.on("end", () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }))
      res.on("error", reject)
    })
    req.on("error", reject)
    req.end(body)
  })

// ---- the bodies: a small description, rendered to text in the property --------------------------

type Shape =
  | { readonly kind: "nested"; readonly containers: "arrays" | "objects" | "mixed"; readonly levels: number }
  | { readonly kind: "items"; readonly count: number }
  | { readonly kind: "keys"; readonly count: number }
  | { readonly kind: "string"; readonly length: number }
  | { readonly kind: "name"; readonly length: number }

/** Where the shape goes: the whole body, or a value inside a valid send. */
type Placement = "root" | "extra" | "template" | "parameter" | "batchItem"

interface Body {
  readonly shape: Shape
  readonly placement: Placement
}

const HOLE = "\"\\u0000hole\""

/** The body around the shape: its text with a hole, the containers around the hole, and its path. */
const placements: Readonly<Record<Placement, { readonly text: string; readonly containers: number; readonly path: ReadonlyArray<string | number> }>> = {
  root: { text: HOLE, containers: 0, path: [] },
  extra: { text: JSON.stringify({ ...templateBody(TO), extra: "\u0000hole" }), containers: 1, path: ["extra"] },
  template: {
    text: JSON.stringify({ ...templateBody(TO), template: { name: "spring_sale", language: { code: "en" }, extra: "\u0000hole" } }),
    containers: 2,
    path: ["template", "extra"]
  },
  parameter: {
    text: JSON.stringify({
      ...templateBody(TO),
      template: { name: "spring_sale", language: { code: "en" }, components: [{ type: "body", parameters: [{ type: "text", text: "hi", extra: "\u0000hole" }] }] }
    }),
    containers: 6,
    path: ["template", "components", 0, "parameters", 0, "extra"]
  },
  batchItem: { text: JSON.stringify({ messages: [{ ...templateBody(TO), extra: "\u0000hole" }] }), containers: 3, path: ["messages", 0, "extra"] }
}

/** Container `level` (0-based) of a mixed nesting: objects at even levels, arrays at odd ones. */
const mixedIsObject = (level: number) => level % 2 === 0

const shapeText = (shape: Shape): string => {
  switch (shape.kind) {
    case "nested": {
      const open: Array<string> = []
      const close: Array<string> = []
      for (let level = 0; level < shape.levels; level++) {
        const object = shape.containers === "objects" || (shape.containers === "mixed" && mixedIsObject(level))
        open.push(object ? "{\"a\":" : "[")
        close.push(object ? "}" : "]")
      }
      return `${open.join("")}0${close.reverse().join("")}`
    }
    case "items":
      return `[${Array.from({ length: shape.count }, () => "0").join(",")}]`
    case "keys":
      return `{${Array.from({ length: shape.count }, (_, i) => `"k${i}":${i}`).join(",")}}`
    case "string":
      return JSON.stringify("é".repeat(shape.length))
    case "name":
      return `{${JSON.stringify("k".repeat(shape.length))}:0}`
  }
}

const render = (body: Body): string => placements[body.placement].text.replace(HOLE, () => shapeText(body.shape))

/** Where the body is beyond a bound (the field) and the message that names the bound; `undefined` when within. */
const expectedViolation = (body: Body): { readonly field: string; readonly bound: string } | undefined => {
  const { containers, path } = placements[body.placement]
  const { shape } = body
  let at: ReadonlyArray<string | number> | undefined
  let bound = ""
  if (shape.kind === "nested" && containers + shape.levels > JsonLimits.MAX_DEPTH) {
    // The first container beyond the bound is the 33rd level; the path goes through the levels above it.
    at = Array.from({ length: JsonLimits.MAX_DEPTH - containers }, (_, level) =>
      shape.containers === "objects" || (shape.containers === "mixed" && mixedIsObject(level)) ? "a" : 0)
    bound = `is nested deeper than ${JsonLimits.MAX_DEPTH} levels`
  } else if (shape.kind === "items" && shape.count > JsonLimits.MAX_ARRAY_ITEMS) {
    ;[at, bound] = [[], `has more than ${JsonLimits.MAX_ARRAY_ITEMS} items`]
  } else if (shape.kind === "keys" && shape.count > JsonLimits.MAX_OBJECT_KEYS) {
    ;[at, bound] = [[], `has more than ${JsonLimits.MAX_OBJECT_KEYS} properties`]
  } else if (shape.kind === "string" && shape.length > JsonLimits.MAX_STRING_CHARS) {
    ;[at, bound] = [[], `is longer than ${JsonLimits.MAX_STRING_CHARS} characters`]
  } else if (shape.kind === "name" && shape.length > JsonLimits.MAX_STRING_CHARS) {
    ;[at, bound] = [[], `has a property name longer than ${JsonLimits.MAX_STRING_CHARS} characters`]
  }
  return at === undefined ? undefined : { field: [...path, ...at].join("."), bound }
}

const levels = fc.oneof(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 40, max: 6_000 }))
const count = fc.oneof(fc.integer({ min: 0, max: 1_100 }), fc.integer({ min: 990, max: 3_000 }))
const length = fc.oneof(fc.integer({ min: 0, max: 100 }), fc.integer({ min: 65_000, max: 70_000 }), fc.integer({ min: 70_000, max: 200_000 }))
const shape: fc.Arbitrary<Shape> = fc.oneof(
  fc.record({ kind: fc.constant("nested" as const), containers: fc.constantFrom("arrays" as const, "objects" as const, "mixed" as const), levels }),
  fc.record({ kind: fc.constantFrom("items" as const, "keys" as const), count }),
  fc.record({ kind: fc.constantFrom("string" as const, "name" as const), length })
)
const body: fc.Arbitrary<Body> = fc.record({ shape, placement: fc.constantFrom<Placement>("root", "extra", "template", "parameter", "batchItem") })

/** The probe's bodies, thrown at every operation before the generated ones. */
const probes: ReadonlyArray<[Body]> = [
  [{ placement: "root", shape: { kind: "nested", containers: "arrays", levels: 3_000 } }],
  [{ placement: "extra", shape: { kind: "nested", containers: "arrays", levels: 3_000 } }],
  [{ placement: "batchItem", shape: { kind: "nested", containers: "objects", levels: 3_000 } }]
]

/** The operations that take a valid send with something extra in it, and where. */
const sends: Readonly<Record<string, ReadonlyArray<Placement>>> = {
  "messages.sendMessage": ["extra", "template", "parameter"],
  "messages.sendMarketingMessage": ["extra", "template", "parameter"],
  "messages.sendBatch": ["batchItem"],
  "graphSend.sendMessage": ["extra", "template", "parameter"],
  "graphSend.sendMarketingMessage": ["extra", "template", "parameter"],
  "graphSend.sendMessageUnversioned": ["extra", "template", "parameter"],
  "graphSend.sendMarketingMessageUnversioned": ["extra", "template", "parameter"],
  "dialog360Send.sendMessage": ["extra", "template", "parameter"],
  "dialog360Send.sendMarketingMessage": ["extra", "template", "parameter"]
}

const BODY_METHODS = new Set(["POST", "PUT", "PATCH", "DELETE"])

const expectEnvelope = (text: string, where: string) => {
  const json = JSON.parse(text)
  expect(Object.keys(json), where).toEqual(["error"])
  expect(typeof json.error.code, where).toBe("string")
  expect(typeof json.error.message, where).toBe("string")
  for (const key of Object.keys(json.error)) expect(["code", "message", "details"], where).toContain(key)
  return json.error as { readonly code: string; readonly message: string; readonly details?: any }
}

/** Graph's envelope (the drop-in path): a numeric code, a message, a trace id. */
const expectGraphEnvelope = (text: string, where: string) => {
  const json = JSON.parse(text)
  expect(Object.keys(json), where).toEqual(["error"])
  expect(typeof json.error.code, where).toBe("number")
  expect(typeof json.error.message, where).toBe("string")
  expect(typeof json.error.fbtrace_id, where).toBe("string")
  for (const key of Object.keys(json.error)) expect(["message", "type", "code", "error_subcode", "error_data", "fbtrace_id"], where).toContain(key)
  return json.error as { readonly code: number; readonly message: string }
}

describe("JSON bounds on every operation of /openapi.json", () => {
  it("deep, wide and long bodies get a 4xx in the envelope, or a 2xx where the body is acceptable, never a 500", PROPERTY_TEST, async () => {
    const operations = await operationsOf()
    expect(operations.map((o) => o.id)).toEqual(expect.arrayContaining(Object.keys(sends)))
    for (const operation of operations) {
      await fc.assert(
        fc.asyncProperty(body, async (b) => {
          const where = `${operation.method} ${operation.template} with ${JSON.stringify(b)}`
          const r = await send(operation, render(b))
          expect(r.status, where).toBeLessThan(500)
          expect((r.status >= 200 && r.status < 300) || r.status >= 400, where).toBe(true)
          const beyond = expectedViolation(b)
          if (operation.graph) {
            const error = r.status >= 400 ? expectGraphEnvelope(r.text, where) : undefined
            if (beyond !== undefined) {
              expect([r.status, error?.code], where).toEqual([400, 100])
              expect(error?.message, where).toBe(beyond.field === "" ? `(#100) The request body ${beyond.bound}` : `(#100) Param ${beyond.field} ${beyond.bound}`)
            }
          } else {
            const error = r.status >= 400 ? expectEnvelope(r.text, where) : undefined
            if (beyond !== undefined && operation.template.startsWith("/v1/") && BODY_METHODS.has(operation.method)) {
              expect([r.status, error?.code, error?.details?.field], where).toEqual([400, "invalid_request", beyond.field])
              expect(error?.message, where).toBe(beyond.field === "" ? `the request body ${beyond.bound}` : `${beyond.field}: ${beyond.bound}`)
            }
          }
          if (beyond === undefined && sends[operation.id]?.includes(b.placement)) expect(r.status, where).toBe(operation.graph ? 200 : 202)
        }),
        { ...propertySettings(8), examples: [...probes] }
      )
    }
  })
})
