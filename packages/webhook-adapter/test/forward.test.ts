import { FORWARD_EVENTS } from "@mm-gateway/ports"
import { describe, expect, it } from "vitest"
import { cutForTarget, encodeLikeMeta, eventOfField, type Lookups, readForwardable } from "../src/forward.js"
import { fixtureBodies, fixtureJson } from "./helpers.js"

const WABA_A = "102290129340398"
const WABA_B = "102290129340399"
const BM_A = "271828182845904"
const BM_B = "314159265358979"
const CHANNEL_A = "106540352242922"

const bytes = (v: unknown) => new TextEncoder().encode(JSON.stringify(v))
const noLookups: Lookups = { ownerOf: new Map([[WABA_A, BM_A], [WABA_B, BM_B], [BM_A, BM_A]]), messages: new Map() }
const everything = { events: FORWARD_EVENTS, businessManagerIds: [BM_A], channelIds: [] }

const mixedChange = (channel = CHANNEL_A) => ({
  field: "messages",
  value: {
    messaging_product: "whatsapp",
    metadata: { display_phone_number: "15550783881", phone_number_id: channel },
    contacts: [{ profile: { name: "Zoë" }, wa_id: "16505551234" }],
    messages: [{ from: "16505551234", id: "wamid.IN1", timestamp: "1764000400", type: "text", text: { body: "Grüße 👋" }, context: { from: "15550783881", id: "wamid.OUT1" } }],
    statuses: [
      { id: "wamid.OUT1", status: "read", timestamp: "1764000300", recipient_id: "16505551234", biz_opaque_callback_data: "msg_1" },
      { id: "wamid.OUT2", status: "delivered", timestamp: "1764000301", recipient_id: "16505551235", biz_opaque_callback_data: "msg_2" },
      { id: "wamid.ELSEWHERE", status: "sent", timestamp: "1764000302", recipient_id: "16505551236" }
    ],
    user_actions: [{ timestamp: "1764000300", action_type: "marketing_messages_link_click", marketing_messages_link_click_data: { click_id: "c1" } }]
  }
})

const twoTenants = {
  object: "whatsapp_business_account",
  entry: [
    { id: WABA_A, changes: [mixedChange()] },
    { id: WABA_B, changes: [mixedChange("106540352242999")] }
  ]
}

describe("forwarding: a webhook cut for a tenant's endpoint", () => {
  it("gives each tenant only its own entries", () => {
    const webhook = readForwardable(bytes(twoTenants))!
    expect([...webhook.entryIds].sort()).toEqual([WABA_A, WABA_B])
    const a = cutForTarget(webhook, everything, noLookups)
    const b = cutForTarget(webhook, { ...everything, businessManagerIds: [BM_B] }, noLookups)
    expect((a!.payload["entry"] as Array<{ id: string }>).map((e) => e.id)).toEqual([WABA_A])
    expect((b!.payload["entry"] as Array<{ id: string }>).map((e) => e.id)).toEqual([WABA_B])
    expect(cutForTarget(webhook, { ...everything, businessManagerIds: ["999"] }, noLookups)).toBeNull()
  })

  it("keeps of a messages change only the events asked for, with its metadata; statuses carry the client's message id and callback data", () => {
    const webhook = readForwardable(bytes(twoTenants))!
    const lookups: Lookups = {
      ...noLookups,
      messages: new Map([
        ["wamid.OUT1", { id: "msg_1", clientCallbackData: "crm-order-77" }],
        ["wamid.OUT2", { id: "msg_2", clientCallbackData: null }]
      ])
    }
    const cut = cutForTarget(webhook, { ...everything, events: ["statuses"] }, lookups)!
    expect(cut.events).toEqual(["statuses"])
    const change = (cut.payload["entry"] as any)[0].changes[0]
    expect(Object.keys(change.value).sort()).toEqual(["messaging_product", "metadata", "statuses"])
    expect(change.value.statuses).toEqual([
      { id: "msg_1", status: "read", timestamp: "1764000300", recipient_id: "16505551234", biz_opaque_callback_data: "crm-order-77" },
      { id: "msg_2", status: "delivered", timestamp: "1764000301", recipient_id: "16505551235" },
      // Not one of the gateway's messages: as Meta sent it.
      { id: "wamid.ELSEWHERE", status: "sent", timestamp: "1764000302", recipient_id: "16505551236" }
    ])
    expect(webhook.references.map((r) => r.wamid)).toEqual(["wamid.OUT1", "wamid.OUT2", "wamid.ELSEWHERE", "wamid.OUT1", "wamid.OUT1", "wamid.OUT2", "wamid.ELSEWHERE", "wamid.OUT1"])
  })

  it("forwards inbound messages with their contacts; a reply names the message it answers by the client's id", () => {
    const webhook = readForwardable(bytes(twoTenants))!
    const lookups: Lookups = { ...noLookups, messages: new Map([["wamid.OUT1", { id: "msg_1", clientCallbackData: null }]]) }
    const cut = cutForTarget(webhook, { ...everything, events: ["messages"] }, lookups)!
    const value = (cut.payload["entry"] as any)[0].changes[0].value
    expect(Object.keys(value).sort()).toEqual(["contacts", "messages", "messaging_product", "metadata"])
    expect(value.messages[0].context).toEqual({ from: "15550783881", id: "msg_1" })
    expect(value.messages[0].text).toEqual({ body: "Grüße 👋" })
    expect(cutForTarget(webhook, { ...everything, events: ["clicks"] }, noLookups)!.events).toEqual(["clicks"])
    expect(cutForTarget(webhook, { ...everything, events: ["templates", "account"] }, noLookups)).toBeNull()
  })

  it("a key scoped to a channel gets the changes that name that channel, in whoever's entry", () => {
    const webhook = readForwardable(bytes(twoTenants))!
    const cut = cutForTarget(webhook, { events: FORWARD_EVENTS, businessManagerIds: [], channelIds: ["106540352242999"] }, noLookups)!
    expect((cut.payload["entry"] as any).map((e: { id: string }) => e.id)).toEqual([WABA_B])
  })

  it("account and template updates go by their field; a business-level update to the business's tenant", () => {
    const business = readForwardable(bytes(fixtureJson("seed/account-update-mm-lite-terms-signed-business.json")))!
    expect(cutForTarget(business, { ...everything, events: ["account"] }, noLookups)!.events).toEqual(["account"])
    expect(cutForTarget(business, { ...everything, events: ["messages", "statuses"] }, noLookups)).toBeNull()
    expect(eventOfField("template_category_update")).toBe("templates")
    expect(eventOfField("message_template_status_update")).toBe("templates")
    expect(eventOfField("account_update")).toBe("account")
    expect(eventOfField("business_capability_update")).toBe("account")
    expect(eventOfField("phone_number_quality_update")).toBe("account")
    expect(eventOfField("user_preferences")).toBe("messages")
    expect(eventOfField("a_field_from_2027")).toBe("messages")
  })

  it("every fixture, for a tenant owning its entries and asking for everything, comes through unchanged", () => {
    let checked = 0
    for (const [name, body] of fixtureBodies()) {
      const raw = typeof body === "string" ? new TextEncoder().encode(body) : body
      const webhook = readForwardable(raw)
      if (webhook === null) continue
      const owners = new Map(webhook.entryIds.map((id) => [id, BM_A]))
      const cut = cutForTarget(webhook, everything, { ownerOf: owners, messages: new Map() })
      expect(cut?.payload, name).toEqual(JSON.parse(new TextDecoder().decode(raw)))
      checked++
    }
    expect(checked).toBeGreaterThan(20)
  })

  it("what is not a JSON object with entries cannot be cut", () => {
    expect(readForwardable(new TextEncoder().encode("not json"))).toBeNull()
    expect(readForwardable(bytes([1, 2]))).toBeNull()
    expect(readForwardable(bytes({ object: "whatsapp_business_account" }))).toBeNull()
  })
})

describe("forwarding: JSON as Meta writes it", () => {
  it("escapes every character outside ASCII as \\uXXXX, astral ones as their two UTF-16 units, and parses back the same", () => {
    const payload = { text: "Grüße 👋", name: "Zoë", plain: "ascii \"quoted\" \\ /" }
    const encoded = encodeLikeMeta(payload)
    const text = new TextDecoder().decode(encoded)
    expect(text).toBe('{"text":"Gr\\u00fc\\u00dfe \\ud83d\\udc4b","name":"Zo\\u00eb","plain":"ascii \\"quoted\\" \\\\ /"}')
    expect([...encoded].every((b) => b < 0x80)).toBe(true)
    expect(JSON.parse(text)).toEqual(payload)
  })
})
