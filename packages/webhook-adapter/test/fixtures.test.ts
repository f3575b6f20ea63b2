import { assert, describe, it } from "@effect/vitest"
import { decodeWebhook, quarantineReason, type WebhookCommand, type WebhookDecoding } from "../src/index.js"
import { AT, fixtureBodies } from "./helpers.js"

/**
 * Every webhook fixture, with what it must decode to. Commands are compared whole (every field);
 * ignored and problems by path (and, for problems, what was expected).
 */
interface Expectation {
  readonly commands: ReadonlyArray<unknown>
  readonly ignored?: ReadonlyArray<string>
  readonly problems?: ReadonlyArray<{ readonly path: string; readonly expected: string }>
  /** For a fixture that is quarantined on purpose: the exact quarantine reason. */
  readonly quarantined?: string
}

const VALUE = "$.entry[0].changes[0].value"
const STATUS = `${VALUE}.statuses[0]`

const WAMID = "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI3RjQ2RTA5QTkwNUJFQkFGNUUA"
const SEED_WABA = "102290129340398"
const SEED_PHONE = "106540352242922"
const SEED_BM = "271828182845904"
const PYWA_WABA = "980198427658004"
const PYWA_BM = "2329417887457253"
const PYWA_STATUS_WABA = "5467539754836534"
const PYWA_PHONE = "1122334455667"

const stream = (stream: string, streamId: string, command: unknown, dedupeKey: string, path = VALUE) => ({
  _tag: "StreamFact",
  stream,
  streamId,
  command,
  dedupeKey,
  path
})

const statusReport = (
  channel: string,
  wabaId: string,
  bizOpaqueCallbackData: string | null,
  observation: {
    wamid: string
    status: string
    timestamp: number
    recipient: string | null
    pricing: unknown
    originType: string | null
    errors: ReadonlyArray<unknown>
  }
) => ({
  _tag: "StatusReport",
  channel,
  wabaId,
  bizOpaqueCallbackData,
  observation,
  dedupeKey: `status:${observation.wamid}:${observation.status}:${observation.timestamp}`,
  path: STATUS
})

const suspension = (wabaId: string, kind: string, occurredAt: number, expiresAt: number | null) =>
  stream(
    "Waba",
    `Waba-${wabaId}`,
    { _tag: "RecordSuspension", wabaId, kind, occurredAt, expiresAt, at: AT },
    `suspension:${wabaId}:${kind}:${occurredAt}:${expiresAt ?? "-"}`
  )

const reinstatement = (wabaId: string, kind: string, occurredAt: number) =>
  stream(
    "Waba",
    `Waba-${wabaId}`,
    { _tag: "RecordReinstatement", wabaId, kind, occurredAt, at: AT },
    `reinstatement:${wabaId}:${kind}:${occurredAt}`
  )

const pywaService = (status: string, timestamp: number, bizOpaqueCallbackData: string | null = null) =>
  statusReport(PYWA_PHONE, PYWA_STATUS_WABA, bizOpaqueCallbackData, {
    wamid: "wamid.xyzxyz",
    status,
    timestamp,
    recipient: "972987654321",
    pricing: { category: "service", pricingModel: "CBP", type: null, billable: true },
    originType: "service",
    errors: []
  })

const PYWA_INBOUND_WABA = "1234567890987654321"
const PYWA_NUMBER = "972987654321"
const PYWA_BSUID = "US.13491208655302741918"
const PYWA_PARENT = "US.ENT.11815799212886844830"

/** pywa's `contacts[0]` names its user by number, BSUID and parent BSUID: each linked to the next, on both streams. */
const contactLinks = (wabaId: string, path = `${VALUE}.contacts[0]`) =>
  [[PYWA_NUMBER, PYWA_BSUID], [PYWA_BSUID, PYWA_PARENT]].flatMap(([a, b]) =>
    [[a!, b!], [b!, a!]].map(([recipient, sameAs]) =>
      stream(
        "Recipient",
        `Recipient-${wabaId}:${recipient}`,
        { _tag: "LinkIdentity", wabaId, recipient, sameAs, source: "contacts", at: AT },
        `identity_link:${wabaId}:${recipient}:${sameAs}`,
        path
      )
    )
  )

const INBOUND = [
  "text", "image", "media_with_url", "video", "document", "audio", "voice", "static_sticker", "animated_sticker",
  "reaction", "unreaction_empty", "unreaction_no_emoji", "current_location", "chosen_location", "contacts", "order",
  "unsupported", "unsupported_with_type", "reply", "forwarded", "forwarded_many_times", "referral"
]

const EXPECTED: Record<string, Expectation> = {
  // ---- seed ----
  "seed/account-update-mm-lite-terms-signed-business.json": {
    commands: [
      stream(
        "BusinessManager",
        `BusinessManager-${SEED_BM}`,
        { _tag: "RecordBusinessTermsSigned", businessManagerId: SEED_BM, signedAt: 1_764_000_000_000, at: AT },
        `terms_signed:business:${SEED_BM}:1764000000000`
      )
    ]
  },
  "seed/account-update-mm-lite-terms-signed-waba.json": {
    commands: [
      stream(
        "BusinessManager",
        `BusinessManager-${SEED_BM}`,
        { _tag: "DiscoverBusinessManager", businessManagerId: SEED_BM, at: AT },
        `business_manager:${SEED_BM}`
      ),
      stream(
        "Waba",
        `Waba-${SEED_WABA}`,
        { _tag: "RecordWabaTermsSigned", wabaId: SEED_WABA, ownerBusinessId: SEED_BM, signedAt: 1_764_000_000_000, at: AT },
        `terms_signed:waba:${SEED_WABA}:1764000000000`
      )
    ]
  },
  "seed/status-delivered-marketing-lite.json": {
    commands: [statusReport(SEED_PHONE, SEED_WABA, null, {
      wamid: WAMID,
      status: "delivered",
      timestamp: 1_764_000_102_000,
      recipient: "16505551234",
      pricing: { category: "marketing_lite", pricingModel: "CBP", type: null, billable: true },
      originType: "marketing_lite",
      errors: []
    })]
  },
  "seed/status-read.json": {
    commands: [statusReport(SEED_PHONE, SEED_WABA, null, {
      wamid: WAMID,
      status: "read",
      timestamp: 1_764_000_200_000,
      recipient: "16505551234",
      pricing: null,
      originType: null,
      errors: []
    })]
  },
  "seed/status-sent-marketing-lite.json": {
    commands: [statusReport(SEED_PHONE, SEED_WABA, null, {
      wamid: WAMID,
      status: "sent",
      timestamp: 1_764_000_100_000,
      recipient: "16505551234",
      pricing: { category: "marketing_lite", pricingModel: "CBP", type: null, billable: true },
      originType: "marketing_lite",
      errors: []
    })]
  },
  "seed/user-action-link-click.json": {
    commands: [
      stream(
        "UserAction",
        `UserAction-${SEED_PHONE}:marketing_messages_link_click:c:IwAR0exampleclickid`,
        {
          _tag: "RecordUserAction",
          channel: SEED_PHONE,
          actionType: "marketing_messages_link_click",
          clickId: "IwAR0exampleclickid",
          trackingToken: "AI@AQJexampletoken",
          component: "CTA",
          productId: null,
          occurredAt: 1_764_000_300_000,
          at: AT
        },
        `user_action:${SEED_PHONE}:marketing_messages_link_click:c:IwAR0exampleclickid`,
        `${VALUE}.user_actions[0]`
      )
    ]
  },

  // ---- pywa: account_update ----
  "pywa/account_update.json#account_deleted": { commands: [suspension(SEED_WABA, "account_deleted", 1_743_451_903_000, null)] },
  "pywa/account_update.json#account_restriction": {
    commands: [suspension(SEED_WABA, "account_restriction", 1_641_330_498_000, 1_641_330_498_000)]
  },
  "pywa/account_update.json#account_violation": { commands: [], ignored: [VALUE] },
  "pywa/account_update.json#ad_account_linked": { commands: [], ignored: [VALUE] },
  "pywa/account_update.json#authentication_international_eligibility": { commands: [], ignored: [VALUE] },
  "pywa/account_update.json#account_disabled": { commands: [reinstatement(SEED_WABA, "disabled", 1_743_451_903_000)] },
  "pywa/account_update.json#mm_api_for_wa_terms_of_service": {
    commands: [
      stream(
        "BusinessManager",
        `BusinessManager-${PYWA_BM}`,
        { _tag: "DiscoverBusinessManager", businessManagerId: PYWA_BM, at: AT },
        `business_manager:${PYWA_BM}`
      ),
      stream(
        "Waba",
        `Waba-${PYWA_WABA}`,
        { _tag: "RecordWabaTermsSigned", wabaId: PYWA_WABA, ownerBusinessId: PYWA_BM, signedAt: 1_744_823_932_000, at: AT },
        `terms_signed:waba:${PYWA_WABA}:1744823932000`
      )
    ]
  },
  // waba_info.waba_id wins over entry[].id (the partner's business here).
  "pywa/account_update.json#partner_added": { commands: [reinstatement(PYWA_WABA, "partner_removed", 1_744_823_932_000)] },
  "pywa/account_update.json#partner_app_installed": { commands: [], ignored: [VALUE] },
  "pywa/account_update.json#partner_app_uninstalled": { commands: [], ignored: [VALUE] },
  "pywa/account_update.json#partner_led_business_verification_status": { commands: [], ignored: [VALUE] },
  "pywa/account_update.json#partner_removed": { commands: [suspension(PYWA_WABA, "partner_removed", 1_748_477_359_000, null)] },
  "pywa/account_update.json#partner_removed_wa_app_disconnection": {
    commands: [suspension(PYWA_WABA, "partner_removed", 1_748_477_359_000, null)]
  },
  "pywa/account_update.json#primary_business_location_set": { commands: [], ignored: [VALUE] },
  "pywa/account_update.json#pricing_tiering_update": { commands: [], ignored: [VALUE] },
  "pywa/account_update.json#account_offboarded": { commands: [], ignored: [VALUE] },
  "pywa/account_update.json#account_reconnected": { commands: [], ignored: [VALUE] },

  // ---- pywa: inbound messages ----
  ...Object.fromEntries(INBOUND.map((name) => [`pywa/message.json#${name}`, { commands: contactLinks(PYWA_INBOUND_WABA), ignored: [`${VALUE}.messages`] }])),
  "pywa/message.json#interactive_message_with_err": { commands: contactLinks(PYWA_INBOUND_WABA), ignored: [`${VALUE}.messages`, `${VALUE}.errors`] },

  // ---- pywa: statuses ----
  "pywa/message_status.json#sent": { commands: [pywaService("sent", 1_698_266_945_000), ...contactLinks(PYWA_STATUS_WABA)] },
  "pywa/message_status.json#delivered": { commands: [pywaService("delivered", 1_698_266_945_000), ...contactLinks(PYWA_STATUS_WABA)] },
  "pywa/message_status.json#read": { commands: [pywaService("read", 1_689_380_458_000), ...contactLinks(PYWA_STATUS_WABA)] },
  "pywa/message_status.json#played": { commands: contactLinks(PYWA_STATUS_WABA), ignored: [STATUS] },
  "pywa/message_status.json#failed": {
    commands: [statusReport(PYWA_PHONE, PYWA_STATUS_WABA, null, {
      wamid: "wamid.xyzxyz",
      status: "failed",
      timestamp: 1_689_380_458_000,
      recipient: "972987654321",
      pricing: null,
      originType: null,
      errors: [{
        code: 130472,
        title: "User's number is part of an experiment",
        message: "User's number is part of an experiment",
        details: "Failed to send message because this user's phone number is part of an experiment"
      }]
    }), ...contactLinks(PYWA_STATUS_WABA)]
  },
  "pywa/message_status.json#with_tracker": { commands: [pywaService("sent", 1_698_266_945_000, "some data"), ...contactLinks(PYWA_STATUS_WABA)] },
  // Quarantined on purpose: this example keeps Meta's documentation placeholders (`<BUSINESS_PHONE_NUMBER_ID>`,
  // `<WHATSAPP_MESSAGE_ID>`) instead of ids, so it cannot be mapped to a channel. The group fields it
  // shows (recipient_type, recipient_participant_id) are decoded in mapping.test.ts with real ids.
  "pywa/message_status.json#group": {
    commands: [],
    problems: [{ path: `${VALUE}.metadata.phone_number_id`, expected: "a phone number id (digits)" }],
    quarantined: `${VALUE}.metadata.phone_number_id: expected a phone number id (digits), got a string of 26 characters`
  },

  // ---- pywa: templates ----
  "pywa/template_category_update.json#marketing": {
    commands: [
      stream(
        "Template",
        "Template-57438975935:my_message_template:he",
        {
          _tag: "RecordCategoryChange",
          wabaId: "57438975935",
          name: "my_message_template",
          language: "he",
          previousCategory: null,
          newCategory: "MARKETING",
          occurredAt: 1_750_344_882_000,
          at: AT
        },
        "template_category:57438975935:my_message_template:he:MARKETING:1750344882000"
      )
    ]
  },
  "pywa/template_quality_update.json#yellow": { commands: [], ignored: ["$.entry[0].changes[0]"] },
  "pywa/template_status_update.json#approved": {
    commands: [
      stream(
        "Template",
        `Template-${SEED_WABA}:order_confirmation:en_US`,
        {
          _tag: "RecordTemplateStatus",
          wabaId: SEED_WABA,
          name: "order_confirmation",
          language: "en_US",
          status: "APPROVED",
          reason: "NONE",
          category: "UTILITY",
          occurredAt: 1_751_247_548_000,
          at: AT
        },
        `template_status:${SEED_WABA}:order_confirmation:en_US:APPROVED:1751247548000`
      )
    ]
  },
  "pywa/template_status_update.json#rejected": {
    commands: [
      stream(
        "Template",
        `Template-${SEED_WABA}:abandoned_cart:en`,
        {
          _tag: "RecordTemplateStatus",
          wabaId: SEED_WABA,
          name: "abandoned_cart",
          language: "en",
          status: "REJECTED",
          reason: "INVALID_FORMAT",
          category: "MARKETING",
          occurredAt: 1_751_247_548_000,
          at: AT
        },
        `template_status:${SEED_WABA}:abandoned_cart:en:REJECTED:1751247548000`
      )
    ]
  },

  // ---- pywa: user_preferences ----
  "pywa/user_marketing_preferences.json#resume": {
    commands: [
      stream(
        "Recipient",
        `Recipient-${SEED_WABA}:16505551234`,
        {
          _tag: "RecordMarketingPreference",
          wabaId: SEED_WABA,
          recipient: "16505551234",
          optedOut: false,
          source: "user_preferences",
          occurredAt: 1_731_705_721_000,
          at: AT
        },
        `marketing_preference:${SEED_WABA}:16505551234:resume:1731705721000`,
        `${VALUE}.user_preferences[0]`
      ),
      ...contactLinks(SEED_WABA)
    ]
  },
  "pywa/user_marketing_preferences.json#signup": {
    commands: [
      stream(
        "Recipient",
        `Recipient-${SEED_WABA}:16505551234`,
        {
          _tag: "RecordMarketingPreference",
          wabaId: SEED_WABA,
          recipient: "16505551234",
          optedOut: false,
          source: "user_preferences",
          occurredAt: 1_731_705_721_000,
          at: AT
        },
        `marketing_preference:${SEED_WABA}:16505551234:signup:1731705721000`,
        `${VALUE}.user_preferences[0]`
      ),
      ...contactLinks(SEED_WABA)
    ]
  }
}

// Plain data for comparison: branded strings and tagged structs compare as what they are on the wire.
const plain = (commands: ReadonlyArray<WebhookCommand>): unknown => JSON.parse(JSON.stringify(commands))

const check = (name: string, decoding: WebhookDecoding, expected: Expectation) => {
  assert.deepStrictEqual(plain(decoding.commands), expected.commands, `${name}: commands`)
  assert.deepStrictEqual(decoding.ignored.map((i) => i.path), expected.ignored ?? [], `${name}: ignored`)
  for (const i of decoding.ignored) assert.isAbove(i.why.length, 10, `${name}: every ignored item says why`)
  assert.deepStrictEqual(
    decoding.problems.map((p) => ({ path: p.path, expected: p.expected })),
    expected.problems ?? [],
    `${name}: problems`
  )
  assert.deepStrictEqual(decoding.notes, [], `${name}: notes`)
  assert.strictEqual(quarantineReason(decoding), expected.quarantined ?? null, `${name}: quarantined only on purpose, with this reason`)
}

describe("every webhook fixture", () => {
  const bodies = fixtureBodies()

  it("has an expectation, and every expectation has a fixture", () => {
    assert.deepStrictEqual([...bodies.keys()].sort(), Object.keys(EXPECTED).sort())
  })

  for (const [name, body] of bodies) {
    it(`decodes ${name}`, () => {
      const expected = EXPECTED[name]
      if (expected === undefined) return assert.fail(`no expectation for ${name}`)
      check(name, decodeWebhook(body, AT), expected)
    })
  }

  it("decodes the same whether given bytes or text", () => {
    for (const [name, body] of bodies) {
      const text = typeof body === "string" ? body : Buffer.from(body).toString("utf8")
      const bytes = typeof body === "string" ? new TextEncoder().encode(body) : body
      assert.deepStrictEqual(decodeWebhook(bytes, AT), decodeWebhook(text, AT), name)
    }
  })
})
