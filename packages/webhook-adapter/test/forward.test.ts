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

/** The entry ids and changes' values of a cut, piece by piece. */
const entryIdsOf = (pieces: ReadonlyArray<{ readonly payload: any }>) => pieces.map((p) => p.payload.entry[0].id)
const valueOf = (piece: { readonly payload: any }) => piece.payload.entry[0].changes[0].value

describe("forwarding: a webhook cut for a tenant's endpoint", () => {
  it("gives each tenant only its own entries", () => {
    const webhook = readForwardable(bytes(twoTenants))!
    expect([...webhook.entryIds].sort()).toEqual([WABA_A, WABA_B])
    expect(new Set(entryIdsOf(cutForTarget(webhook, everything, noLookups)))).toEqual(new Set([WABA_A]))
    expect(new Set(entryIdsOf(cutForTarget(webhook, { ...everything, businessManagerIds: [BM_B] }, noLookups)))).toEqual(new Set([WABA_B]))
    expect(cutForTarget(webhook, { ...everything, businessManagerIds: ["999"] }, noLookups)).toEqual([])
  })

  it("splits a messages change into one piece per item, each with the change's metadata, as Meta sends them and SDKs read them", () => {
    const webhook = readForwardable(bytes(twoTenants))!
    const pieces = cutForTarget(webhook, everything, noLookups)
    expect(pieces.map((p) => p.event)).toEqual(["messages", "statuses", "statuses", "statuses", "clicks"])
    for (const p of pieces) {
      expect(p.payload["object"]).toBe("whatsapp_business_account")
      expect((p.payload["entry"] as Array<unknown>).length).toBe(1)
      expect(((p.payload["entry"] as any)[0].changes as Array<unknown>).length).toBe(1)
      expect(valueOf(p).metadata).toEqual({ display_phone_number: "15550783881", phone_number_id: CHANNEL_A })
    }
    expect(Object.keys(valueOf(pieces[0]!)).sort()).toEqual(["contacts", "messages", "messaging_product", "metadata"])
    expect(Object.keys(valueOf(pieces[1]!)).sort()).toEqual(["messaging_product", "metadata", "statuses"])
    expect(Object.keys(valueOf(pieces[4]!)).sort()).toEqual(["messaging_product", "metadata", "user_actions"])
  })

  it("keeps only the events asked for; statuses carry the client's message id and callback data", () => {
    const webhook = readForwardable(bytes(twoTenants))!
    const lookups: Lookups = {
      ...noLookups,
      messages: new Map([
        ["wamid.OUT1", { id: "msg_1", clientCallbackData: "crm-order-77" }],
        ["wamid.OUT2", { id: "msg_2", clientCallbackData: null }]
      ])
    }
    const pieces = cutForTarget(webhook, { ...everything, events: ["statuses"] }, lookups)
    expect(pieces.map((p) => p.event)).toEqual(["statuses", "statuses", "statuses"])
    expect(pieces.map((p) => valueOf(p).statuses)).toEqual([
      [{ id: "msg_1", status: "read", timestamp: "1764000300", recipient_id: "16505551234", biz_opaque_callback_data: "crm-order-77" }],
      [{ id: "msg_2", status: "delivered", timestamp: "1764000301", recipient_id: "16505551235" }],
      // Not one of the gateway's messages: as Meta sent it.
      [{ id: "wamid.ELSEWHERE", status: "sent", timestamp: "1764000302", recipient_id: "16505551236" }]
    ])
    expect(webhook.references.map((r) => r.wamid)).toEqual(["wamid.OUT1", "wamid.OUT2", "wamid.ELSEWHERE", "wamid.OUT1", "wamid.OUT1", "wamid.OUT2", "wamid.ELSEWHERE", "wamid.OUT1"])
  })

  it("forwards inbound messages with their contacts; a reply names the message it answers by the client's id", () => {
    const webhook = readForwardable(bytes(twoTenants))!
    const lookups: Lookups = { ...noLookups, messages: new Map([["wamid.OUT1", { id: "msg_1", clientCallbackData: null }]]) }
    const [piece, ...rest] = cutForTarget(webhook, { ...everything, events: ["messages"] }, lookups)
    expect(rest).toEqual([])
    const value = valueOf(piece!)
    expect(value.messages[0].context).toEqual({ from: "15550783881", id: "msg_1" })
    expect(value.messages[0].text).toEqual({ body: "Grüße 👋" })
    expect(value.contacts).toEqual([{ profile: { name: "Zoë" }, wa_id: "16505551234" }])
    expect(cutForTarget(webhook, { ...everything, events: ["clicks"] }, noLookups).map((p) => p.event)).toEqual(["clicks"])
    expect(cutForTarget(webhook, { ...everything, events: ["templates", "account"] }, noLookups)).toEqual([])
  })

  it("a key scoped to a channel gets the changes that name that channel, in whoever's entry", () => {
    const webhook = readForwardable(bytes(twoTenants))!
    const pieces = cutForTarget(webhook, { events: FORWARD_EVENTS, businessManagerIds: [], channelIds: ["106540352242999"] }, noLookups)
    expect(new Set(entryIdsOf(pieces))).toEqual(new Set([WABA_B]))
  })

  it("account and template updates go by their field; a business-level update to the business's tenant", () => {
    const business = readForwardable(bytes(fixtureJson("seed/account-update-mm-lite-terms-signed-business.json")))!
    expect(cutForTarget(business, { ...everything, events: ["account"] }, noLookups).map((p) => p.event)).toEqual(["account"])
    expect(cutForTarget(business, { ...everything, events: ["messages", "statuses"] }, noLookups)).toEqual([])
    expect(eventOfField("template_category_update")).toBe("templates")
    expect(eventOfField("message_template_status_update")).toBe("templates")
    expect(eventOfField("account_update")).toBe("account")
    expect(eventOfField("business_capability_update")).toBe("account")
    expect(eventOfField("phone_number_quality_update")).toBe("account")
    expect(eventOfField("user_preferences")).toBe("messages")
    expect(eventOfField("a_field_from_2027")).toBe("messages")
  })

  it("every fixture, for a tenant owning its entries and asking for everything: each item in exactly one piece, each piece one entry, one change, one item", () => {
    let checked = 0
    const ITEMS = ["messages", "statuses", "user_actions"]
    for (const [name, body] of fixtureBodies()) {
      const raw = typeof body === "string" ? new TextEncoder().encode(body) : body
      const webhook = readForwardable(raw)
      if (webhook === null) continue
      const original = JSON.parse(new TextDecoder().decode(raw))
      const owners = new Map(webhook.entryIds.map((id) => [id, BM_A]))
      const pieces = cutForTarget(webhook, everything, { ownerOf: owners, messages: new Map() })
      const itemsOf = (value: any) => ITEMS.flatMap((array) => (Array.isArray(value?.[array]) ? value[array] : []))
      // Items of messages changes, their errors beside them, and every other change whole.
      const expected = original.entry.flatMap((e: any) => (e.changes ?? []).flatMap((c: any) =>
        c.field === "messages" ? [...itemsOf(c.value), ...(c.value?.errors === undefined ? [] : [{ errors: c.value.errors }])] : [c.value]
      ))
      const got = pieces.flatMap((p) => {
        const change = (p.payload as any).entry[0].changes[0]
        expect((p.payload as any).entry.length, name).toBe(1)
        expect((p.payload as any).entry[0].changes.length, name).toBe(1)
        if (change.field !== "messages") return [change.value]
        const items = itemsOf(change.value)
        expect(items.length + (change.value.errors === undefined ? 0 : 1), name).toBe(1)
        return items.length > 0 ? items : [{ errors: change.value.errors }]
      })
      expect(got, name).toEqual(expected)
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
