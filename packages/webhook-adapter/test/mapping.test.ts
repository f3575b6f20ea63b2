import { assert, describe, it } from "@effect/vitest"
import { decodeWebhook, IGNORED_ACCOUNT_EVENTS, quarantineReason, type StatusReport, type WebhookDecoding } from "../src/index.js"
import { AT } from "./helpers.js"

const WABA = "102290129340398"
const WABA2 = "102290129340399"
const BM = "271828182845904"
const PHONE = "106540352242922"
const TIME = 1_764_000_000

const body = (...entries: ReadonlyArray<unknown>) => JSON.stringify({ object: "whatsapp_business_account", entry: entries })
const NO_TIME = Symbol("no entry time")
const entry = (id: unknown, changes: ReadonlyArray<unknown>, time: unknown = TIME) =>
  time === NO_TIME ? { id, changes } : { id, time, changes }
const change = (field: string, value: unknown) => ({ field, value })
const metadata = { display_phone_number: "15550783881", phone_number_id: PHONE }
const status = (id: string, s: string, timestamp: unknown = "1764000100", extra: Record<string, unknown> = {}) => ({
  id,
  status: s,
  timestamp,
  recipient_id: "16505551234",
  ...extra
})

const decode = (text: string): WebhookDecoding => decodeWebhook(text, AT)
const plain = (value: unknown): unknown => JSON.parse(JSON.stringify(value))
const commandsOf = (d: WebhookDecoding) => plain(d.commands.map((c) => c._tag === "StreamFact" ? c.command : c.observation))

describe("batches", () => {
  it("maps every change of every entry, in order", () => {
    const d = decode(body(
      entry(WABA, [
        change("messages", { messaging_product: "whatsapp", metadata, statuses: [status("wamid.A", "sent"), status("wamid.B", "read")] }),
        change("account_update", { event: "PARTNER_REMOVED" })
      ]),
      entry(WABA2, [change("account_update", { event: "ACCOUNT_DELETED" })])
    ))
    assert.deepStrictEqual(d.problems, [])
    assert.deepStrictEqual(d.commands.map((c) => c.path), [
      "$.entry[0].changes[0].value.statuses[0]",
      "$.entry[0].changes[0].value.statuses[1]",
      "$.entry[0].changes[1].value",
      "$.entry[1].changes[0].value"
    ])
    assert.deepStrictEqual(commandsOf(d), [
      { wamid: "wamid.A", status: "sent", timestamp: 1_764_000_100_000, recipient: "16505551234", pricing: null, originType: null, errors: [] },
      { wamid: "wamid.B", status: "read", timestamp: 1_764_000_100_000, recipient: "16505551234", pricing: null, originType: null, errors: [] },
      { _tag: "RecordSuspension", wabaId: WABA, kind: "partner_removed", occurredAt: TIME * 1000, expiresAt: null, at: AT },
      { _tag: "RecordSuspension", wabaId: WABA2, kind: "account_deleted", occurredAt: TIME * 1000, expiresAt: null, at: AT }
    ])
  })

  it("handles a batch of 1000 statuses", () => {
    const statuses = Array.from({ length: 1000 }, (_, i) => status(`wamid.${i}`, "delivered"))
    const d = decode(body(entry(WABA, [change("messages", { metadata, statuses })])))
    assert.strictEqual(d.commands.length, 1000)
    assert.strictEqual(new Set(d.commands.map((c) => c.dedupeKey)).size, 1000)
  })

  it("keeps the good changes when one change is bad, and names the bad one", () => {
    const d = decode(body(entry(WABA, [
      change("messages", { metadata, statuses: [status("wamid.A", "sent", "yesterday"), status("wamid.B", "delivered")] }),
      change("account_update", { event: "ACCOUNT_DELETED" })
    ])))
    assert.deepStrictEqual(d.commands.map((c) => c.path), ["$.entry[0].changes[0].value.statuses[1]", "$.entry[0].changes[1].value"])
    assert.deepStrictEqual(d.problems, [{
      path: "$.entry[0].changes[0].value.statuses[0].timestamp",
      expected: "unix seconds (a number or a numeric string)",
      actual: "a string of 9 characters"
    }])
    assert.strictEqual(
      quarantineReason(d),
      "$.entry[0].changes[0].value.statuses[0].timestamp: expected unix seconds (a number or a numeric string), got a string of 9 characters"
    )
  })

  it("gives the same dedupe keys when the same webhook arrives twice", () => {
    const text = body(entry(WABA, [
      change("messages", { metadata, statuses: [status("wamid.A", "sent")] }),
      change("account_update", { event: "ACCOUNT_RESTRICTION", restriction_info: [{ restriction_type: "RESTRICTED_BIZ_INITIATED_MESSAGING", expiration: TIME + 60 }] })
    ]))
    assert.deepStrictEqual(decodeWebhook(text, AT).commands.map((c) => c.dedupeKey), decodeWebhook(text, AT + 5000).commands.map((c) => c.dedupeKey))
  })
})

describe("envelope", () => {
  it("reports bytes that are not UTF-8, text that is not JSON and a wrong object at the root", () => {
    const notUtf8 = decodeWebhook(new Uint8Array([0x7b, 0xff, 0x7d]), AT)
    assert.deepStrictEqual(notUtf8.problems.map((p) => [p.path, p.expected]), [["$", "UTF-8 text"]])
    assert.deepStrictEqual(decode("{\"object\":").problems, [
      { path: "$", expected: "a JSON document", actual: "10 characters that are not JSON (it ends before the document does)" }
    ])
    assert.deepStrictEqual(decode(JSON.stringify({ object: "page", entry: [] })).problems, [
      { path: "$.object", expected: "\"whatsapp_business_account\"", actual: "a string of 4 characters" }
    ])
    assert.deepStrictEqual(decode("[]").problems, [{ path: "$", expected: "an object", actual: "an empty array" }])
    assert.deepStrictEqual(decode(JSON.stringify({ object: "whatsapp_business_account" })).problems, [
      { path: "$.entry", expected: "an array (the property is missing)" }
    ])
  })

  it("quarantines a body nested 3000 levels deep whole, naming the place and the bound, quoting none of it", () => {
    const deep = (levels: number) => `${"[".repeat(levels)}${"]".repeat(levels)}`
    const zeros = (n: number) => "[0]".repeat(n)
    const atRoot = decode(deep(3000))
    assert.deepStrictEqual(atRoot.problems, [{ path: "$", expected: `JSON within the decoder's bounds; $${zeros(32)} is nested deeper than 32 levels` }])
    // Inside a status that decodes: without the bound it would be reported, its extra field ignored.
    const status = `{"id":"wamid.A","status":"delivered","timestamp":"1764000100","recipient_id":"16505551234","extra":${deep(3000)}}`
    const text = `{"object":"whatsapp_business_account","entry":[{"id":"${WABA}","time":${TIME},"changes":[{"field":"messages","value":{"metadata":${JSON.stringify(metadata)},"statuses":[${status}]}}]}]}`
    const d = decode(text)
    assert.deepStrictEqual([d.commands.length, d.ignored.length], [0, 0])
    const reason = quarantineReason(d)
    assert.strictEqual(reason, `$: expected JSON within the decoder's bounds; $.entry[0].changes[0].value.statuses[0].extra${zeros(24)} is nested deeper than 32 levels`)
    assert.notInclude(reason, "[[")
  })

  it("quarantines a body with an array, an object or a string beyond its bound", () => {
    const many = Array.from({ length: 1001 }, (_, i) => status(`wamid.${i}`, "delivered"))
    assert.strictEqual(quarantineReason(decode(body(entry(WABA, [change("messages", { metadata, statuses: many })])))),
      "$: expected JSON within the decoder's bounds; $.entry[0].changes[0].value.statuses has more than 1000 items")
    const wide = Object.fromEntries(Array.from({ length: 1001 }, (_, i) => [`k${i}`, i]))
    assert.strictEqual(quarantineReason(decode(body(entry(WABA, [change("messages", { metadata, statuses: [status("wamid.A", "read", "1764000100", { wide })] })])))),
      "$: expected JSON within the decoder's bounds; $.entry[0].changes[0].value.statuses[0].wide has more than 1000 properties")
    const long = "x".repeat(65_537)
    const reason = quarantineReason(decode(body(entry(WABA, [change("messages", { metadata, statuses: [status("wamid.A", "read", "1764000100", { long })] })]))))
    assert.strictEqual(reason, "$: expected JSON within the decoder's bounds; $.entry[0].changes[0].value.statuses[0].long is longer than 65536 characters")
  })

  it("says why a text is not JSON without quoting it (V8's messages quote the text around the error)", () => {
    assert.deepStrictEqual(decode("hello 16505551234").problems, [{ path: "$", expected: "a JSON document", actual: "17 characters that are not JSON" }])
    assert.deepStrictEqual(decode("{\"to\":\"16505551234\" x}").problems, [
      { path: "$", expected: "a JSON document", actual: "22 characters that are not JSON (the parser stopped at position 20)" }
    ])
    assert.deepStrictEqual(decode(" \n").problems, [{ path: "$", expected: "a JSON document", actual: "only white space" }])
    assert.deepStrictEqual(decode("").problems, [{ path: "$", expected: "a JSON document", actual: "an empty text" }])
  })

  it("reads a body that starts with a byte-order mark, as text or as bytes", () => {
    const text = `\uFEFF${body(entry(WABA, [change("account_update", { event: "ACCOUNT_DELETED" })]))}`
    assert.strictEqual(decode(text).commands.length, 1)
    assert.strictEqual(decodeWebhook(new TextEncoder().encode(text), AT).commands.length, 1)
  })

  it("ignores an empty batch and an entry without changes, saying so", () => {
    assert.deepStrictEqual(decode(body()).ignored, [{ path: "$.entry", why: "no entries" }])
    assert.deepStrictEqual(decode(body(entry(WABA, []))).ignored, [{ path: "$.entry[0].changes", why: "no changes" }])
  })

  it("ignores unknown fields and tolerates unknown properties and nulls", () => {
    const d = decode(JSON.stringify({
      object: "whatsapp_business_account",
      novelty: { anything: true },
      entry: [{
        id: WABA,
        time: TIME,
        extra: 1,
        changes: [
          { field: "message_template_quality_update", value: { new_quality_score: "YELLOW" } },
          { field: "messages", extra: [], value: { metadata, statuses: [{ ...status("wamid.A", "sent"), pricing: null, conversation: null, future: {} }] } }
        ]
      }]
    }))
    assert.deepStrictEqual(d.problems, [])
    assert.deepStrictEqual(d.ignored.map((i) => i.path), ["$.entry[0].changes[0]"])
    assert.strictEqual(d.commands.length, 1)
  })

  it("reports a bad receipt time instead of throwing", () => {
    assert.deepStrictEqual(decodeWebhook(body(), -1).problems.map((p) => p.path), ["$"])
    assert.deepStrictEqual(decodeWebhook(body(), 1.5).problems.map((p) => p.path), ["$"])
  })
})

describe("messages", () => {
  const decodeStatus = (s: unknown, value: Record<string, unknown> = {}) => {
    const d = decode(body(entry(WABA, [change("messages", { metadata, statuses: [s], ...value })])))
    assert.deepStrictEqual(d.problems, [])
    return d.commands as ReadonlyArray<StatusReport>
  }

  it("maps a v24+ status (no conversation) with pricing, errors and biz_opaque_callback_data", () => {
    const [report] = decodeStatus(status("wamid.A", "failed", 1764000100, {
      biz_opaque_callback_data: "msg_01",
      pricing: { billable: false, pricing_model: "PMP", type: "regular", category: "marketing_lite" },
      errors: [{ code: 131049, title: "Message not delivered", message: "Not delivered", error_data: { details: "per-user limit" }, href: "x" }]
    }))
    assert.deepStrictEqual(plain(report), {
      _tag: "StatusReport",
      channel: PHONE,
      wabaId: WABA,
      bizOpaqueCallbackData: "msg_01",
      observation: {
        wamid: "wamid.A",
        status: "failed",
        timestamp: 1_764_000_100_000,
        recipient: "16505551234",
        pricing: { category: "marketing_lite", pricingModel: "PMP", type: "regular", billable: false },
        originType: null,
        errors: [{ code: 131049, title: "Message not delivered", message: "Not delivered", details: "per-user limit" }]
      },
      dedupeKey: "status:wamid.A:failed:1764000100000",
      path: "$.entry[0].changes[0].value.statuses[0]"
    })
  })

  it("reports an error code that is not an integer as a problem, and keeps the other statuses", () => {
    const found: ReadonlyArray<readonly [unknown, string]> = [
      [131049.5, "a number with a fractional part"],
      [1e300, "a number"],
      [2 ** 53, "a number"],
      ["131049", "a string of 6 characters"],
      [null, "null"]
    ]
    for (const [code, actual] of found) {
      const d = decode(body(entry(WABA, [change("messages", {
        metadata,
        statuses: [status("wamid.A", "failed", "1764000100", { errors: [{ code, title: "Message not delivered" }] }), status("wamid.B", "sent")]
      })])))
      assert.deepStrictEqual(d.problems, [{
        path: "$.entry[0].changes[0].value.statuses[0].errors[0].code",
        expected: "an error code (an integer)",
        actual
      }], String(code))
      assert.deepStrictEqual(d.commands.map((c) => c.path), ["$.entry[0].changes[0].value.statuses[1]"])
    }
  })

  it("maps a group status (recipient_type group) like any other, with the group fields", () => {
    const reports = decodeStatus(status("wamid.G", "read", "1698266945", {
      recipient_id: "120363025246125486@g.us",
      recipient_type: "group",
      recipient_participant_id: "16505551234",
      recipient_participant_user_id: "US.123456"
    }))
    assert.deepStrictEqual(plain(reports), [{
      _tag: "StatusReport",
      channel: PHONE,
      wabaId: WABA,
      bizOpaqueCallbackData: null,
      observation: {
        wamid: "wamid.G",
        status: "read",
        timestamp: 1_698_266_945_000,
        recipient: "120363025246125486@g.us",
        pricing: null,
        originType: null,
        errors: [],
        recipientType: "group",
        participant: "16505551234"
      },
      dedupeKey: "status:wamid.G:read:1698266945000:participant:16505551234",
      path: "$.entry[0].changes[0].value.statuses[0]"
    }])
  })

  it("keeps the statuses of two group members apart, also when they say the same at the same time", () => {
    const member = (participant: string) =>
      status("wamid.G", "read", "1698266945", { recipient_id: "120363025246125486@g.us", recipient_type: "group", recipient_participant_id: participant })
    const d = decode(body(entry(WABA, [change("messages", { metadata, statuses: [member("16505550001"), member("16505550002")] })])))
    assert.deepStrictEqual(d.commands.map((c) => c.dedupeKey), [
      "status:wamid.G:read:1698266945000:participant:16505550001",
      "status:wamid.G:read:1698266945000:participant:16505550002"
    ])
  })

  it("takes the WABA from waba_info when a change carries it", () => {
    const d = decode(body(entry(BM, [change("messages", { metadata, waba_info: { waba_id: WABA2 }, statuses: [status("wamid.A", "sent")] })])))
    assert.strictEqual((d.commands[0] as StatusReport).wabaId, WABA2)
  })

  it("ignores statuses it does not track and inbound messages, and reports a missing phone_number_id", () => {
    const played = decode(body(entry(WABA, [change("messages", { metadata, statuses: [status("wamid.A", "deleted")] })])))
    assert.deepStrictEqual([played.commands.length, played.ignored.map((i) => i.path)], [0, ["$.entry[0].changes[0].value.statuses[0]"]])
    const noMetadata = decode(body(entry(WABA, [change("messages", { statuses: [status("wamid.A", "sent")] })])))
    assert.deepStrictEqual(noMetadata.problems.map((p) => p.path), ["$.entry[0].changes[0].value.metadata"])
    const empty = decode(body(entry(WABA, [change("messages", { metadata })])))
    assert.deepStrictEqual(empty.ignored.map((i) => i.path), ["$.entry[0].changes[0].value"])
  })

  it("maps user actions of every type, with their own stream and the domain's natural key", () => {
    const d = decode(body(entry(WABA, [change("messages", {
      metadata,
      user_actions: [
        { action_type: "landing_page_view", timestamp: 1764000400, marketing_messages_link_click_data: { click_id: "C1", tracking_token: "T1" } },
        { action_type: "marketing_messages_link_click", timestamp: "1764000300", marketing_messages_link_click_data: { tracking_token: "T2", product_id: "sku_1", click_component: "body" } }
      ]
    })])))
    assert.deepStrictEqual(d.problems, [])
    assert.deepStrictEqual(plain(d.commands.map((c) => c._tag === "StreamFact" ? [c.stream, c.streamId, c.dedupeKey, c.command] : null)), [
      ["UserAction", `UserAction-${PHONE}:landing_page_view:c:C1`, `user_action:${PHONE}:landing_page_view:c:C1`, {
        _tag: "RecordUserAction",
        channel: PHONE,
        actionType: "landing_page_view",
        clickId: "C1",
        trackingToken: "T1",
        component: null,
        productId: null,
        occurredAt: 1_764_000_400_000,
        at: AT
      }],
      ["UserAction", `UserAction-${PHONE}:marketing_messages_link_click:t:T2`, `user_action:${PHONE}:marketing_messages_link_click:t:T2`, {
        _tag: "RecordUserAction",
        channel: PHONE,
        actionType: "marketing_messages_link_click",
        clickId: null,
        trackingToken: "T2",
        component: "body",
        productId: "sku_1",
        occurredAt: 1_764_000_300_000,
        at: AT
      }]
    ])
  })
})

describe("account_update", () => {
  const decodeEvent = (value: unknown, id: unknown = WABA, time: unknown = TIME) => decode(body(entry(id, [change("account_update", value)], time)))

  it("MM_LITE_TERMS_SIGNED ignores entry[].id, even when it is not an id at all", () => {
    const d = decodeEvent({ event: "MM_LITE_TERMS_SIGNED", waba_info: { waba_id: WABA2 } }, "<SOLUTION_PROVIDER_BUSINESS_ID>")
    assert.deepStrictEqual(d.problems, [])
    assert.deepStrictEqual(commandsOf(d), [
      { _tag: "RecordWabaTermsSigned", wabaId: WABA2, ownerBusinessId: null, signedAt: TIME * 1000, at: AT }
    ])
  })

  it("MM_LITE_TERMS_SIGNED without waba_id or owner_business_id is a problem", () => {
    const d = decodeEvent({ event: "MM_LITE_TERMS_SIGNED", waba_info: {} })
    assert.deepStrictEqual(d.problems, [{ path: "$.entry[0].changes[0].value.waba_info", expected: "waba_id or owner_business_id", actual: "an empty object" }])
  })

  it("falls back to the receipt time when entry[].time is missing or a placeholder, and notes it", () => {
    for (const time of [NO_TIME, null, "<WEBHOOK_TIMESTAMP>"]) {
      const d = decodeEvent({ event: "PARTNER_REMOVED" }, WABA, time)
      assert.deepStrictEqual(commandsOf(d), [
        { _tag: "RecordSuspension", wabaId: WABA, kind: "partner_removed", occurredAt: AT, expiresAt: null, at: AT }
      ])
      assert.deepStrictEqual(d.notes.map((n) => n.path), ["$.entry[0].time"])
      assert.deepStrictEqual(d.commands.map((c) => c.dedupeKey), [`suspension:${WABA}:partner_removed:untimed:-`])
    }
  })

  it("without entry[].time, dedupe keys come from the fact alone: every delivery, bytes and receipt time gives the same keys", () => {
    const changes = [
      change("account_update", { event: "MM_LITE_TERMS_SIGNED", waba_info: { waba_id: WABA, owner_business_id: BM } }),
      change("account_update", { event: "ACCOUNT_RESTRICTION", restriction_info: [{ restriction_type: "RESTRICTED_BIZ_INITIATED_MESSAGING", expiration: TIME + 60 }] }),
      change("account_update", { event: "DISABLED_UPDATE", ban_info: { waba_ban_state: "REINSTATE" } }),
      change("template_category_update", { message_template_name: "t", message_template_language: "en", previous_category: "UTILITY", new_category: "MARKETING" }),
      change("template_category_update", { message_template_name: "t", message_template_language: "en", new_category: "UTILITY", correct_category: "MARKETING" }),
      change("message_template_status_update", { event: "PAUSED", message_template_name: "t", message_template_language: "en" })
    ]
    const first = decodeWebhook(body(entry(WABA, changes, NO_TIME)), AT)
    // The same webhook another day, through the other source: keys in another order, spaces, an extra property.
    const reordered = JSON.stringify({
      entry: [{ changes: changes.map((c) => ({ value: { ...(c.value as object), extra: true }, field: c.field })), id: WABA }],
      object: "whatsapp_business_account"
    }, null, 2)
    const again = decodeWebhook(reordered, AT + 86_400_000)
    assert.deepStrictEqual(first.problems, [])
    assert.deepStrictEqual(again.commands.map((c) => c.dedupeKey), first.commands.map((c) => c.dedupeKey))
    assert.deepStrictEqual(first.commands.map((c) => c.dedupeKey), [
      `business_manager:${BM}`,
      `terms_signed:waba:${WABA}:untimed`,
      `suspension:${WABA}:account_restriction:untimed:${(TIME + 60) * 1000}`,
      `reinstatement:${WABA}:disabled:untimed`,
      `template_category:${WABA}:t:en:MARKETING:untimed`,
      `template_impending:${WABA}:t:en:MARKETING:-:untimed`,
      `template_status:${WABA}:t:en:PAUSED:untimed`
    ])
    // Different facts keep different keys; a time, when there is one, is part of the key as before.
    const timed = decodeWebhook(body(entry(WABA, changes, TIME)), AT)
    assert.deepStrictEqual(timed.commands.map((c) => c.dedupeKey)[1], `terms_signed:waba:${WABA}:${TIME * 1000}`)
  })

  it("accepts entry[].time as a numeric string", () => {
    const d = decodeEvent({ event: "ACCOUNT_DELETED" }, WABA, String(TIME))
    assert.deepStrictEqual(commandsOf(d), [
      { _tag: "RecordSuspension", wabaId: WABA, kind: "account_deleted", occurredAt: TIME * 1000, expiresAt: null, at: AT }
    ])
  })

  it("suspends only for a restriction of business-initiated messaging", () => {
    const other = decodeEvent({ event: "ACCOUNT_RESTRICTION", restriction_info: [{ restriction_type: "RESTRICTED_ADD_PHONE_NUMBER_ACTION", expiration: TIME }] })
    assert.deepStrictEqual([other.commands.length, other.ignored.length, other.problems.length], [0, 1, 0])
    const noExpiry = decodeEvent({ event: "ACCOUNT_RESTRICTION", restriction_info: [{ restriction_type: "RESTRICTED_BIZ_INITIATED_MESSAGING" }] })
    assert.deepStrictEqual(commandsOf(noExpiry), [
      { _tag: "RecordSuspension", wabaId: WABA, kind: "account_restriction", occurredAt: TIME * 1000, expiresAt: null, at: AT }
    ])
  })

  it("maps DISABLED_UPDATE by its ban state", () => {
    const disable = decodeEvent({ event: "DISABLED_UPDATE", ban_info: { waba_ban_state: "DISABLE", waba_ban_date: "April 17, 2025" } })
    assert.deepStrictEqual(commandsOf(disable), [
      { _tag: "RecordSuspension", wabaId: WABA, kind: "disabled", occurredAt: TIME * 1000, expiresAt: null, at: AT }
    ])
    const scheduled = decodeEvent({ event: "DISABLED_UPDATE", ban_info: { waba_ban_state: "SCHEDULE_FOR_DISABLE" } })
    assert.deepStrictEqual([scheduled.commands.length, scheduled.ignored.length, scheduled.problems.length], [0, 1, 0])
    const unknown = decodeEvent({ event: "DISABLED_UPDATE", ban_info: { waba_ban_state: "PAUSE" } })
    assert.deepStrictEqual(unknown.problems, [{
      path: "$.entry[0].changes[0].value.ban_info.waba_ban_state",
      expected: "DISABLE, REINSTATE or SCHEDULE_FOR_DISABLE",
      actual: "a string of 5 characters"
    }])
  })

  it("reports a suspension whose WABA cannot be told", () => {
    const d = decodeEvent({ event: "ACCOUNT_DELETED" }, "not-a-waba")
    assert.deepStrictEqual(d.problems.map((p) => p.path), ["$.entry[0].id"])
  })

  it("classifies every account_update event the gateway knows (docs/provider.md#account-update-events)", () => {
    const events = [
      "ACCOUNT_DELETED", "ACCOUNT_RESTRICTION", "ACCOUNT_VIOLATION", "AD_ACCOUNT_LINKED", "AUTH_INTL_PRICE_ELIGIBILITY_UPDATE",
      "BUSINESS_PRIMARY_LOCATION_COUNTRY_UPDATE", "DISABLED_UPDATE", "MM_LITE_TERMS_SIGNED", "PARTNER_ADDED", "PARTNER_APP_INSTALLED",
      "PARTNER_APP_UNINSTALLED", "PARTNER_CLIENT_CERTIFICATION_STATUS_UPDATE", "PARTNER_REMOVED", "VOLUME_BASED_PRICING_TIER_UPDATE",
      "ACCOUNT_OFFBOARDED", "ACCOUNT_RECONNECTED"
    ]
    const mapped = ["ACCOUNT_DELETED", "ACCOUNT_RESTRICTION", "DISABLED_UPDATE", "MM_LITE_TERMS_SIGNED", "PARTNER_ADDED", "PARTNER_REMOVED"]
    assert.deepStrictEqual(Object.keys(IGNORED_ACCOUNT_EVENTS).sort(), events.filter((e) => !mapped.includes(e)).sort())
  })

  it("ignores events it does not use, known or not", () => {
    const d = decodeEvent({ event: "SOMETHING_NEW", detail: 1 })
    assert.deepStrictEqual([d.commands.length, d.ignored.length, d.problems.length], [0, 1, 0])
  })
})

describe("templates", () => {
  const decodeTemplate = (field: string, value: unknown) => decode(body(entry(WABA, [change(field, value)])))
  const key = { message_template_id: 278077987957091, message_template_name: "welcome_template", message_template_language: "en-US" }

  it("maps an impending recategorization (new_category is the current one)", () => {
    const d = decodeTemplate("template_category_update", {
      ...key,
      new_category: "UTILITY",
      correct_category: "MARKETING",
      category_update_timestamp: 1746169200
    })
    assert.deepStrictEqual(plain(d.commands), [{
      _tag: "StreamFact",
      stream: "Template",
      streamId: `Template-${WABA}:welcome_template:en-US`,
      command: {
        _tag: "RecordImpendingRecategorization",
        wabaId: WABA,
        name: "welcome_template",
        language: "en-US",
        currentCategory: "UTILITY",
        correctCategory: "MARKETING",
        effectiveAt: 1_746_169_200_000,
        occurredAt: TIME * 1000,
        at: AT
      },
      dedupeKey: `template_impending:${WABA}:welcome_template:en-US:MARKETING:1746169200000:${TIME * 1000}`,
      path: "$.entry[0].changes[0].value"
    }])
  })

  it("maps a completed change with its previous category", () => {
    const d = decodeTemplate("template_category_update", { ...key, previous_category: "UTILITY", new_category: "MARKETING" })
    assert.deepStrictEqual(commandsOf(d), [{
      _tag: "RecordCategoryChange",
      wabaId: WABA,
      name: "welcome_template",
      language: "en-US",
      previousCategory: "UTILITY",
      newCategory: "MARKETING",
      occurredAt: TIME * 1000,
      at: AT
    }])
  })

  it("reports categories outside MARKETING/UTILITY/AUTHENTICATION", () => {
    const d = decodeTemplate("template_category_update", { ...key, new_category: "PROMOTIONAL" })
    assert.deepStrictEqual(d.problems, [{
      path: "$.entry[0].changes[0].value.new_category",
      expected: "MARKETING, UTILITY or AUTHENTICATION",
      actual: "a string of 11 characters"
    }])
    const status = decodeTemplate("message_template_status_update", { ...key, event: "APPROVED", message_template_category: "SERVICE" })
    assert.deepStrictEqual(status.problems.map((p) => p.path), ["$.entry[0].changes[0].value.message_template_category"])
  })

  it("maps a status update without category or reason", () => {
    const d = decodeTemplate("message_template_status_update", { ...key, event: "PAUSED", reason: null, other_info: { title: "FIRST_PAUSE" } })
    assert.deepStrictEqual(commandsOf(d), [{
      _tag: "RecordTemplateStatus",
      wabaId: WABA,
      name: "welcome_template",
      language: "en-US",
      status: "PAUSED",
      reason: null,
      category: null,
      occurredAt: TIME * 1000,
      at: AT
    }])
  })
})

describe("user_preferences", () => {
  const decodePreferences = (items: ReadonlyArray<unknown>) => decode(body(entry(WABA, [change("user_preferences", { metadata, user_preferences: items })])))

  it("maps a marketing stop to an opt-out, with the preference's own time", () => {
    const d = decodePreferences([{ wa_id: "16505551234", detail: "User requested to stop marketing messages", category: "marketing_messages", value: "stop", timestamp: 1731705721 }])
    assert.deepStrictEqual(commandsOf(d), [{
      _tag: "RecordMarketingPreference",
      wabaId: WABA,
      recipient: "16505551234",
      optedOut: true,
      source: "user_preferences",
      occurredAt: 1_731_705_721_000,
      at: AT
    }])
  })

  it("ignores other categories and reports unknown values", () => {
    const d = decodePreferences([
      { wa_id: "16505551234", category: "service_messages", value: "stop", timestamp: 1731705721 },
      { wa_id: "16505551234", category: "marketing_messages", value: "pause", timestamp: 1731705721 }
    ])
    assert.deepStrictEqual(d.ignored.map((i) => i.path), ["$.entry[0].changes[0].value.user_preferences[0]"])
    assert.deepStrictEqual(d.problems.map((p) => p.path), ["$.entry[0].changes[0].value.user_preferences[1].value"])
  })
})

// ---- BSUID: the payloads use the field names of docs/webhooks.md#identity-links and pywa's ids ----

describe("business-scoped user ids (BSUID)", () => {
  const BSUID = "US.13491208655302741918"
  const PARENT = "US.ENT.11815799212886844830"
  const link = (recipient: string, sameAs: string, source: string) => ({ _tag: "LinkIdentity", wabaId: WABA, recipient, sameAs, source, at: AT })

  it("a status naming its user by recipient_user_id alone carries it, and is matched like any other", () => {
    const d = decode(body(entry(WABA, [change("messages", {
      metadata,
      statuses: [{ id: "wamid.U", status: "delivered", timestamp: "1764000100", recipient_user_id: BSUID }]
    })])))
    assert.deepStrictEqual(d.problems, [])
    assert.deepStrictEqual(commandsOf(d), [
      { wamid: "wamid.U", status: "delivered", timestamp: 1_764_000_100_000, recipient: null, pricing: null, originType: null, errors: [], recipientUserId: BSUID }
    ])
  })

  it("a status with recipient_id and recipient_user_id links the number and the BSUID, on both streams, once per pair", () => {
    const d = decode(body(entry(WABA, [change("messages", {
      metadata,
      statuses: [status("wamid.B", "sent", "1764000100", { recipient_user_id: BSUID }), status("wamid.B", "delivered", "1764000101", { recipient_user_id: BSUID })]
    })])))
    assert.deepStrictEqual(d.problems, [])
    const links = d.commands.filter((c) => c._tag === "StreamFact")
    assert.deepStrictEqual(plain(links.map((c) => c._tag === "StreamFact" && [c.streamId, c.command, c.dedupeKey])), [
      [`Recipient-${WABA}:16505551234`, link("16505551234", BSUID, "status"), `identity_link:${WABA}:16505551234:${BSUID}`],
      [`Recipient-${WABA}:${BSUID}`, link(BSUID, "16505551234", "status"), `identity_link:${WABA}:${BSUID}:16505551234`],
      [`Recipient-${WABA}:16505551234`, link("16505551234", BSUID, "status"), `identity_link:${WABA}:16505551234:${BSUID}`],
      [`Recipient-${WABA}:${BSUID}`, link(BSUID, "16505551234", "status"), `identity_link:${WABA}:${BSUID}:16505551234`]
    ])
  })

  it("an inbound message from a number with from_user_id links them; one naming only its BSUID links nothing", () => {
    const d = decode(body(entry(WABA, [change("messages", {
      metadata,
      messages: [
        { from: "16505551234", from_user_id: BSUID, id: "wamid.IN1", timestamp: "1764000100", type: "text", text: { body: "hi" } },
        { from_user_id: BSUID, id: "wamid.IN2", timestamp: "1764000101", type: "text", text: { body: "hi" } }
      ]
    })])))
    assert.deepStrictEqual(d.problems, [])
    assert.deepStrictEqual(commandsOf(d), [link("16505551234", BSUID, "inbound_message"), link(BSUID, "16505551234", "inbound_message")])
  })

  it("contacts without a number link the BSUID and the parent BSUID; ids that are not ids are left out", () => {
    const d = decode(body(entry(WABA, [change("messages", {
      metadata,
      contacts: [{ profile: { name: "A" }, user_id: BSUID, parent_user_id: PARENT }, { wa_id: "not a number", user_id: 7 }],
      messages: [{ from_user_id: BSUID, id: "wamid.IN", timestamp: "1764000100", type: "text", text: { body: "hi" } }]
    })])))
    assert.deepStrictEqual(d.problems, [])
    assert.deepStrictEqual(commandsOf(d), [link(BSUID, PARENT, "contacts"), link(PARENT, BSUID, "contacts")])
  })

  const decodePreferences = (items: ReadonlyArray<unknown>) => decode(body(entry(WABA, [change("user_preferences", { metadata, user_preferences: items })])))
  const preference = (recipient: string) => ({
    _tag: "RecordMarketingPreference",
    wabaId: WABA,
    recipient,
    optedOut: true,
    source: "user_preferences",
    occurredAt: 1_731_705_721_000,
    at: AT
  })

  it("a preference naming its user by user_id alone is the BSUID's; with wa_id too it is the number's, and links them", () => {
    const alone = decodePreferences([{ user_id: BSUID, category: "marketing_messages", value: "stop", timestamp: 1731705721 }])
    assert.deepStrictEqual(alone.problems, [])
    assert.deepStrictEqual(commandsOf(alone), [preference(BSUID)])
    const both = decodePreferences([{ wa_id: "16505551234", user_id: BSUID, category: "marketing_messages", value: "stop", timestamp: 1731705721 }])
    assert.deepStrictEqual(commandsOf(both), [
      preference("16505551234"),
      link("16505551234", BSUID, "user_preferences"),
      link(BSUID, "16505551234", "user_preferences")
    ])
  })

  it("a preference naming no user, or a user_id that is not a BSUID, is a problem naming the field", () => {
    const d = decodePreferences([
      { category: "marketing_messages", value: "stop", timestamp: 1731705721 },
      { user_id: "13491208655302741918", category: "marketing_messages", value: "stop", timestamp: 1731705721 }
    ])
    assert.deepStrictEqual(d.commands, [])
    assert.deepStrictEqual(d.problems.map((p) => [p.path, p.expected]), [
      ["$.entry[0].changes[0].value.user_preferences[0]", "wa_id (a WhatsApp number) or user_id (a BSUID)"],
      ["$.entry[0].changes[0].value.user_preferences[1].user_id", "a business-scoped user id (e.g. US.13491208655302741918)"]
    ])
  })
})

describe("quarantine reasons", () => {
  const RECIPIENT = "16505550123"
  const NAME = "Jane Doe"

  it("name the path, the expectation and the kind of value found, never the value: one line per problem", () => {
    const d = decode(body(entry(WABA, [change("messages", {
      metadata,
      statuses: [{
        id: "wamid.A",
        status: "failed",
        timestamp: `+${RECIPIENT}`,
        recipient_id: Number(RECIPIENT),
        biz_opaque_callback_data: [NAME, RECIPIENT],
        pricing: { category: { name: NAME }, billable: "yes" },
        errors: [{ code: 131049.5, title: Number(RECIPIENT), message: { text: `call ${NAME}` } }]
      }]
    })])))
    const at = "$.entry[0].changes[0].value.statuses[0]"
    assert.deepStrictEqual(quarantineReason(d)?.split("\n"), [
      `${at}.timestamp: expected unix seconds (a number or a numeric string), got a string of 12 characters`,
      `${at}.recipient_id: expected a string, got a number`,
      `${at}.biz_opaque_callback_data: expected a string, got an array of 2 items`,
      `${at}.pricing.category: expected a string, got an object with 1 property`,
      `${at}.pricing.billable: expected a boolean, got a string of 3 characters`,
      `${at}.errors[0].code: expected an error code (an integer), got a number with a fractional part`,
      `${at}.errors[0].title: expected a string, got a number`,
      `${at}.errors[0].message: expected a string, got an object with 1 property`
    ])
    assert.notInclude(quarantineReason(d), "5550123")
    assert.notInclude(quarantineReason(d), NAME)
  })

  it("a defect while decoding quarantines the body with the error's kind, not its message (which can quote the body)", () => {
    // The only way into the decoder's last-resort catch from outside: bytes whose length cannot be read.
    const hostile = new Proxy(new Uint8Array([0x7b]), {
      get: (target, key) => {
        if (key === "length") throw new SyntaxError(`"${RECIPIENT}" is not valid JSON`)
        return Reflect.get(target, key)
      }
    })
    const d = decodeWebhook(hostile, AT)
    assert.deepStrictEqual(d.problems, [{ path: "$", expected: "a body this decoder can handle", actual: "an internal error (SyntaxError)" }])
  })
})
