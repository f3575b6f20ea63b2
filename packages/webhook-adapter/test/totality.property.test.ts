import { assert, describe, it } from "@effect/vitest"
import { BusinessManager, Recipient, Status, Template, UserAction, Waba } from "@mm-gateway/domain"
import { Schema } from "effect"
import fc from "fast-check"
import { decodeWebhook, KNOWN_FIELDS, quarantineReason, type WebhookDecoding } from "../src/index.js"
import { PROPERTY_TEST, propertySettings } from "@mm-gateway/domain/testing"
import { AT, fixtureBodies, fixtureJson } from "./helpers.js"


/**
 * Invariant 8 (docs/invariants.md#invariant-8) at the decoder: whatever arrives on a webhook endpoint (after
 * verification), decoding never throws and always ends decoded (commands or ignored) or quarantined with a
 * reason.
 */

const hasPrefix = (path: string, prefix: string): boolean =>
  path === prefix || path.startsWith(`${prefix}.`) || path.startsWith(`${prefix}[`)

/** Every place an outcome was recorded. */
const outcomePaths = (d: WebhookDecoding): ReadonlyArray<string> => [
  ...d.commands.map((c) => c.path),
  ...d.ignored.map((i) => i.path),
  ...d.problems.map((p) => p.path)
]

const isCommandOf = {
  BusinessManager: Schema.is(BusinessManager.BusinessManagerCommand),
  Waba: Schema.is(Waba.WabaCommand),
  Template: Schema.is(Template.TemplateCommand),
  Recipient: Schema.is(Recipient.RecipientCommand),
  UserAction: Schema.is(UserAction.UserActionCommand)
}
const isObservation = Schema.is(Status.StatusObservation)

/**
 * Decoded or quarantined with a readable reason; every command valid for the domain; and every entry
 * and change of the input accounted for.
 */
const assertTotal = (input: unknown, d: WebhookDecoding): void => {
  assert.isAbove(d.commands.length + d.ignored.length + d.problems.length, 0, "some outcome")
  for (const c of d.commands) {
    if (c._tag === "StatusReport") assert.isTrue(isObservation(c.observation), `a valid observation at ${c.path}`)
    else {
      assert.isTrue(isCommandOf[c.stream](c.command), `a valid ${c.stream} command at ${c.path}`)
      assert.isTrue(c.streamId.startsWith(`${c.stream}-`), `stream id ${c.streamId} of ${c.stream}`)
    }
  }
  for (const p of d.problems) {
    // The decoder's last-resort catch keeps bodies safe in production; here it would hide a defect.
    assert.notInclude(p.actual ?? "", "internal error", `a defect, not a decoding problem: ${p.actual}`)
    assert.isTrue(p.path.startsWith("$"), `path ${p.path}`)
    assert.isAbove(p.expected.length, 0, "a problem says what was expected")
  }
  for (const i of d.ignored) assert.isAbove(i.why.length, 0, "an ignored item says why")
  const reason = quarantineReason(d)
  if (d.problems.length === 0) assert.isNull(reason)
  else assert.isTrue(typeof reason === "string" && reason.length > 0, "a quarantine reason")

  const paths = outcomePaths(d)
  const entries = typeof input === "object" && input !== null && !Array.isArray(input) ? (input as { entry?: unknown }).entry : undefined
  if (!Array.isArray(entries) || d.problems.some((p) => p.path === "$" || p.path === "$.object" || p.path === "$.entry")) return
  entries.forEach((entry: unknown, i) => {
    const entryPath = `$.entry[${i}]`
    const changes = typeof entry === "object" && entry !== null ? (entry as { changes?: unknown }).changes : undefined
    if (Array.isArray(changes) && changes.length > 0 && !d.problems.some((p) => hasPrefix(p.path, entryPath) && !p.path.includes(".changes["))) {
      changes.forEach((_, j) => {
        const changePath = `${entryPath}.changes[${j}]`
        assert.isTrue(paths.some((p) => hasPrefix(p, changePath)), `${changePath} is accounted for`)
      })
    } else {
      assert.isTrue(paths.some((p) => hasPrefix(p, entryPath)), `${entryPath} is accounted for`)
    }
  })
}

const total = (input: unknown, body: Uint8Array | string): void => {
  let d: WebhookDecoding
  try {
    d = decodeWebhook(body, AT)
  } catch (error) {
    return assert.fail(`decodeWebhook threw: ${String(error)}`)
  }
  assertTotal(input, d)
}

const jsonBody = (value: unknown): string => JSON.stringify(value) ?? "null"

describe("invariant 8: decoding is total", () => {
  it("arbitrary JSON values", PROPERTY_TEST, () => {
    fc.assert(fc.property(fc.jsonValue(), (value) => total(value, jsonBody(value))), propertySettings(300))
  })

  it("arbitrary byte strings", PROPERTY_TEST, () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => total(undefined, bytes)), propertySettings(300))
  })

  it("arbitrary text, including lone surrogates", PROPERTY_TEST, () => {
    fc.assert(fc.property(fc.string({ unit: "binary", maxLength: 256 }), (text) => total(undefined, text)), propertySettings(300))
  })

  it("envelope-shaped bodies with arbitrary values where the decoder looks", PROPERTY_TEST, () => {
    const anyJson = fc.jsonValue({ maxDepth: 3 })
    // Mostly plausible values, so that whole commands come out often, and arbitrary ones the rest of the time.
    const mostly = <T>(plausible: fc.Arbitrary<T>) => fc.oneof({ arbitrary: plausible, weight: 5 }, { arbitrary: anyJson, weight: 1 })
    const optional = { requiredKeys: [] as Array<never> }
    const id = mostly(fc.constantFrom("102290129340398", "0", "<WABA_ID>"))
    const time = mostly(fc.oneof(fc.integer({ min: -10, max: 4_000_000_000 }), fc.constantFrom("1764000000", "<WEBHOOK_TIMESTAMP>", "1.5e9")))
    const item = fc.record({
      id: mostly(fc.constant("wamid.X")),
      status: mostly(fc.constantFrom("sent", "delivered", "read", "failed", "played")),
      timestamp: time,
      recipient_id: mostly(fc.constant("16505551234")),
      action_type: mostly(fc.constant("marketing_messages_link_click")),
      wa_id: mostly(fc.constant("16505551234")),
      category: mostly(fc.constant("marketing_messages")),
      value: mostly(fc.constantFrom("stop", "resume")),
      errors: mostly(fc.constant([{ code: 131049 }])),
      pricing: anyJson
    }, { requiredKeys: ["id", "status", "timestamp", "action_type", "wa_id", "category", "value"] })
    // One plausible value shape per field, with any property missing or arbitrary now and then.
    const messages = fc.record({
      field: fc.constant("messages"),
      value: mostly(fc.record({
        metadata: mostly(fc.constant({ phone_number_id: "106540352242922" })),
        waba_info: mostly(fc.record({ waba_id: id }, optional)),
        statuses: mostly(fc.array(item, { maxLength: 3 })),
        user_actions: mostly(fc.array(item, { maxLength: 3 })),
        messages: anyJson
      }, { requiredKeys: ["metadata"] }))
    })
    const accountUpdate = fc.record({
      field: fc.constant("account_update"),
      value: mostly(fc.record({
        event: mostly(fc.constantFrom("MM_LITE_TERMS_SIGNED", "ACCOUNT_RESTRICTION", "DISABLED_UPDATE", "PARTNER_ADDED", "ACCOUNT_DELETED", "NEW")),
        waba_info: mostly(fc.record({ waba_id: id, owner_business_id: id }, optional)),
        restriction_info: mostly(fc.array(fc.record({
          restriction_type: fc.constantFrom("RESTRICTED_BIZ_INITIATED_MESSAGING", "RESTRICTED_ADD_PHONE_NUMBER_ACTION"),
          expiration: time
        }, { requiredKeys: ["restriction_type"] }))),
        ban_info: mostly(fc.record({ waba_ban_state: fc.constantFrom("DISABLE", "REINSTATE", "SCHEDULE_FOR_DISABLE", "X") }))
      }, { requiredKeys: ["event"] }))
    })
    const template = fc.record({
      field: fc.constantFrom("template_category_update", "message_template_status_update"),
      value: mostly(fc.record({
        event: mostly(fc.constantFrom("APPROVED", "PAUSED")),
        message_template_name: mostly(fc.constant("t")),
        message_template_language: mostly(fc.constant("en")),
        message_template_category: mostly(fc.constantFrom("MARKETING", "UTILITY", "OTHER")),
        new_category: mostly(fc.constantFrom("MARKETING", "UTILITY")),
        previous_category: mostly(fc.constantFrom("MARKETING", "UTILITY")),
        correct_category: mostly(fc.constant("MARKETING")),
        category_update_timestamp: time
      }, { requiredKeys: ["message_template_name", "message_template_language"] }))
    })
    const preferences = fc.record({
      field: fc.constant("user_preferences"),
      value: mostly(fc.record({ user_preferences: mostly(fc.array(item, { maxLength: 3 })) }))
    })
    const anyChange = fc.record({ field: mostly(fc.constantFrom(...KNOWN_FIELDS, "other")), value: anyJson }, optional)
    const change = fc.oneof(messages, accountUpdate, template, preferences, anyChange)
    const entry = fc.record({ id, time, changes: mostly(fc.array(change, { maxLength: 4 })) }, { requiredKeys: ["id", "changes"] })
    const envelope = fc.record({
      object: mostly(fc.constant("whatsapp_business_account")),
      entry: mostly(fc.array(entry, { maxLength: 4 }))
    }, { requiredKeys: ["object", "entry"] })
    fc.assert(fc.property(envelope, (body) => total(body, jsonBody(body))), propertySettings(500))
  })

  it("statuses with numbers that are not integers, and strings where numbers belong (and the other way round)", PROPERTY_TEST, () => {
    // A `code` of 131049.5 once decoded without a problem and then failed the domain's ProviderError.
    // Each status is plausible but for at most one odd value at one place, so that the odd value decides.
    const number = fc.oneof(
      fc.constantFrom(0, -1, 131049.5, 1e300, 2 ** 53, -(2 ** 53), 1764000100.25, 1764000100),
      fc.integer(),
      fc.double()
    )
    const odd = fc.oneof(number, fc.constantFrom("131049", "1764000100", "1e3", "", "0x10", " 7", "true"), fc.string({ maxLength: 6 }), fc.constantFrom(null, true, [], {}))
    const plausible = fc.record({
      id: fc.constantFrom("wamid.A", "wamid.B"),
      status: fc.constantFrom("sent", "delivered", "read", "failed"),
      timestamp: fc.constantFrom("1764000100", 1764000100),
      recipient_id: fc.constant("16505551234"),
      recipient_type: fc.constant("group"),
      recipient_participant_id: fc.constant("16505550000"),
      biz_opaque_callback_data: fc.constant("msg_01"),
      conversation: fc.constant({ origin: { type: "marketing_lite" } }),
      pricing: fc.record({ category: fc.constantFrom("marketing_lite", "marketing"), pricing_model: fc.constant("PMP"), type: fc.constant("regular"), billable: fc.boolean() }),
      errors: fc.array(fc.record({
        code: fc.constantFrom(131049, 131050, 131026),
        title: fc.string({ maxLength: 8 }),
        message: fc.string({ maxLength: 8 }),
        error_data: fc.record({ details: fc.string({ maxLength: 8 }) })
      }), { minLength: 1, maxLength: 2 })
    }, { requiredKeys: ["id", "status", "timestamp"] })
    const places = [
      ["id"], ["timestamp"], ["recipient_id"], ["recipient_type"], ["recipient_participant_id"], ["biz_opaque_callback_data"],
      ["conversation"], ["conversation", "origin", "type"], ["pricing"], ["pricing", "category"], ["pricing", "billable"],
      ["pricing", "pricing_model"], ["errors"], ["errors", 0], ["errors", 0, "code"], ["errors", 0, "code"], ["errors", 0, "title"],
      ["errors", 0, "error_data"], ["errors", 0, "error_data", "details"]
    ] as const
    const status = fc.tuple(plausible, fc.option(fc.tuple(fc.constantFrom(...places), odd), { freq: 4 })).map(([value, change]) => {
      if (change === null) return value
      const [path, replacement] = change
      const copy = structuredClone(value) as Record<string | number, unknown>
      let parent: Record<string | number, unknown> | undefined = copy
      for (const segment of path.slice(0, -1)) parent = parent?.[segment] as Record<string | number, unknown> | undefined
      if (parent !== undefined) parent[path[path.length - 1]!] = replacement
      return copy
    })
    // The first status is always plausible, so that every run has a report to check against the domain.
    const body = fc.tuple(plausible, fc.array(status, { maxLength: 5 })).map(([first, rest]) => [first, ...rest]).map((statuses) => ({
      object: "whatsapp_business_account",
      entry: [{
        id: "102290129340398",
        time: 1764000000,
        changes: [{ field: "messages", value: { metadata: { phone_number_id: "106540352242922" }, statuses } }]
      }]
    }))
    fc.assert(
      fc.property(body, (input) => {
        total(input, jsonBody(input))
        const d = decodeWebhook(jsonBody(input), AT)
        assert.strictEqual(d.commands[0]?.path, "$.entry[0].changes[0].value.statuses[0]", "the plausible status is reported")
        // Every status is one report or at least one problem under its own path, never both.
        input.entry[0]!.changes[0]!.value.statuses.forEach((_, i) => {
          const path = `$.entry[0].changes[0].value.statuses[${i}]`
          const reported = d.commands.filter((c) => c.path === path).length
          const problems = d.problems.filter((p) => hasPrefix(p.path, path)).length
          assert.isTrue((reported === 1 && problems === 0) || (reported === 0 && problems > 0), `${path}: ${reported} report(s), ${problems} problem(s)`)
        })
      }),
      propertySettings(300)
    )
  })

  it("fixture bodies with one field dropped or replaced", PROPERTY_TEST, () => {
    const keys = [...fixtureBodies().keys()]
    const originals = new Map(keys.map((key) => [key, fixtureJson(key)]))
    const paths = (value: unknown, at: ReadonlyArray<string | number> = []): Array<ReadonlyArray<string | number>> => {
      if (Array.isArray(value)) return [at, ...value.flatMap((v, i) => paths(v, [...at, i]))]
      if (typeof value === "object" && value !== null) {
        return [at, ...Object.entries(value).flatMap(([k, v]) => paths(v, [...at, k]))]
      }
      return [at]
    }
    const mutation = fc.record({
      key: fc.constantFrom(...keys),
      pick: fc.nat(),
      drop: fc.boolean(),
      replacement: fc.jsonValue({ maxDepth: 2 })
    })
    fc.assert(
      fc.property(mutation, ({ drop, key, pick, replacement }) => {
        const original = originals.get(key)
        const candidates = paths(original).filter((p) => p.length > 0)
        const path = candidates[pick % candidates.length] as ReadonlyArray<string | number>
        const mutated = structuredClone(original) as Record<string | number, unknown>
        let parent: Record<string | number, unknown> = mutated
        for (const segment of path.slice(0, -1)) parent = parent[segment] as Record<string | number, unknown>
        const last = path[path.length - 1] as string | number
        if (drop && Array.isArray(parent)) parent.splice(last as number, 1)
        else if (drop) delete parent[last]
        else parent[last] = replacement
        total(mutated, jsonBody(mutated))
      }),
      propertySettings(500)
    )
  })

  it("fixture bodies with a value beyond a JSON bound put anywhere are quarantined whole, the reason naming the bound", PROPERTY_TEST, () => {
    const keys = [...fixtureBodies().keys()]
    const containers = (value: unknown, at: ReadonlyArray<string | number> = []): Array<ReadonlyArray<string | number>> => {
      if (Array.isArray(value)) return [at, ...value.flatMap((v, i) => containers(v, [...at, i]))]
      if (typeof value === "object" && value !== null) return [at, ...Object.entries(value).flatMap(([k, v]) => containers(v, [...at, k]))]
      return []
    }
    const beyond = fc.constantFrom(
      ["nested deeper than 32 levels", () => `${"[".repeat(3000)}${"]".repeat(3000)}`],
      ["more than 1000 items", () => `[${Array.from({ length: 1001 }, () => "1").join(",")}]`],
      ["more than 1000 properties", () => `{${Array.from({ length: 1001 }, (_, i) => `"k${i}":1`).join(",")}}`],
      ["longer than 65536 characters", () => JSON.stringify("x".repeat(65_537))]
    ) as fc.Arbitrary<readonly [string, () => string]>
    fc.assert(
      fc.property(fc.constantFrom(...keys), fc.nat(), beyond, (key, pick, [bound, text]) => {
        const doc = fixtureJson(key)
        const place = containers(doc)[pick % containers(doc).length]!
        let parent: any = doc
        for (const segment of place) parent = parent[segment]
        // A marker where the value goes, replaced in the text, so the value is never built as an object here.
        if (Array.isArray(parent)) parent.push("\u0000beyond")
        else parent["beyond"] = "\u0000beyond"
        const body = jsonBody(doc).replace(JSON.stringify("\u0000beyond"), text())
        const d = decodeWebhook(body, AT)
        total(undefined, body)
        assert.strictEqual(d.commands.length, 0)
        assert.deepStrictEqual(d.problems.map((p) => p.path), ["$"])
        assert.include(quarantineReason(d), bound)
      }),
      propertySettings(100)
    )
  })

  it("a quarantine reason quotes nothing of the body: a number, a name or a text planted anywhere in a fixture, or just before it stops being JSON", PROPERTY_TEST, () => {
    const keys = [...fixtureBodies().keys()]
    const originals = new Map(keys.map((key) => [key, fixtureJson(key)]))
    const paths = (value: unknown, at: ReadonlyArray<string | number> = []): Array<ReadonlyArray<string | number>> => {
      if (Array.isArray(value)) return [at, ...value.flatMap((v, i) => paths(v, [...at, i]))]
      if (typeof value === "object" && value !== null) return [at, ...Object.entries(value).flatMap(([k, v]) => paths(v, [...at, k]))]
      return [at]
    }
    const planting = fc.record({
      key: fc.constantFrom(...keys),
      pick: fc.nat(),
      digits: fc.integer({ min: 1000, max: 9999 }),
      shape: fc.constantFrom("number", "phone", "name", "nested"),
      broken: fc.boolean()
    })
    fc.assert(
      fc.property(planting, ({ broken, digits, key, pick, shape }) => {
        // Seven digits that nothing in a reason (indices, sizes, positions) can spell by chance.
        const secret = `555${digits}`
        const number = `1650${secret}`
        const value = shape === "number" ? Number(number) : shape === "phone" ? `+${number}` : shape === "name" ? `Jane ${number}` : [number, { to: number }]
        const original = originals.get(key)
        const candidates = paths(original).filter((p) => p.length > 0)
        const path = candidates[pick % candidates.length]!
        const planted = structuredClone(original) as Record<string | number, unknown>
        let parent: Record<string | number, unknown> = planted
        for (const segment of path.slice(0, -1)) parent = parent[segment] as Record<string | number, unknown>
        parent[path[path.length - 1]!] = value
        let text = JSON.stringify(planted)
        if (broken) {
          // A stray character right after the planted value: the parser's message would quote it.
          const end = text.indexOf(number) + number.length
          const after = text[end] === "\"" ? end + 1 : end
          text = `${text.slice(0, after)}x${text.slice(after)}`
        }
        const d = decodeWebhook(text, AT)
        if (broken) assert.strictEqual(d.problems[0]?.path, "$", "a body that is not JSON is a problem at the root")
        const reason = quarantineReason(d) ?? ""
        assert.notInclude(reason, secret, `the reason quotes the body: ${reason}`)
        for (const note of d.notes) assert.notInclude(note.note, secret, `a note quotes the body: ${note.note}`)
      }),
      propertySettings(300)
    )
  })

  it("a field or an account_update event named like an Object.prototype member is ignored, not looked up on the prototype", () => {
    for (const [field, value] of [["toString", {}], ["account_update", { event: "toString" }], ["account_update", { event: "constructor" }]] as const) {
      const body = { object: "whatsapp_business_account", entry: [{ id: "102290129340398", time: 1743451903, changes: [{ field, value }] }] }
      total(body, jsonBody(body))
      const d = decodeWebhook(jsonBody(body), AT)
      assert.deepStrictEqual([d.commands.length, d.problems.length, d.ignored.length], [0, 0, 1], `${field} ${JSON.stringify(value)}`)
    }
  })

  it("pathological inputs: deep nesting, huge numbers, an empty body", () => {
    const deep = `${"[".repeat(100_000)}${"]".repeat(100_000)}`
    total(undefined, deep)
    total(undefined, "")
    total(undefined, new Uint8Array(0))
    const huge = { object: "whatsapp_business_account", entry: [{ id: "1".repeat(400), time: 1e308, changes: [{ field: "account_update", value: { event: "ACCOUNT_DELETED" } }] }] }
    total(huge, JSON.stringify(huge))
    const d = decodeWebhook(JSON.stringify(huge), AT)
    assert.deepStrictEqual(d.problems.map((p) => p.path), ["$.entry[0].id"])
  })
})
