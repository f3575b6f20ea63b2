import { afterAll, assert, beforeAll, describe, it } from "vitest"
import { eventually, postSignedWebhook, registerChannel, statusWebhook } from "@mm-gateway/worker-test-stack"
import { type Stack, startStack } from "./support.js"

/**
 * The inbox's retention (`MMGW_INBOX_KEEP`): processed bodies are forgotten by the timers once applied
 * longer ago than the retention; a quarantined body stays for an operator, whatever its age.
 */

let stack: Stack

beforeAll(async () => {
  stack = await startStack()
  await registerChannel(stack.api)
})
afterAll(() => stack.close())

/** What the api says of the first three bodies the inbox was given (ids from 1): kept (processed or pending), quarantined, or gone. */
const statesInInbox = async () => {
  const quarantined = new Set<number>((await stack.api.request("GET", "/v1/webhook-inbox")).json.items.map((i: { id: number }) => i.id))
  const states: Array<string> = []
  for (const id of [1, 2, 3]) {
    if (quarantined.has(id)) {
      states.push("quarantined")
      continue
    }
    // Replay is for quarantined bodies only: a kept one is a conflict, a forgotten one is not found.
    const answer = await stack.api.request("POST", `/v1/webhook-inbox/${id}/replay`)
    states.push(answer.status === 404 ? "gone" : answer.status === 409 ? "kept" : `answered ${answer.status}`)
  }
  return states
}

describe("inbox retention", () => {
  it("processed bodies are forgotten once applied longer ago than MMGW_INBOX_KEEP; a quarantined one stays", async () => {
    await postSignedWebhook(stack.api, statusWebhook("wamid.RETENTION.1", "delivered", "1764000000", "16505551234"))
    await postSignedWebhook(stack.api, statusWebhook("wamid.RETENTION.2", "delivered", "1764000000", "16505551234"))
    await postSignedWebhook(stack.api, { object: "whatsapp_business_account", entry: "not a list" })
    assert.deepStrictEqual(await statesInInbox(), ["kept", "kept", "kept"])
    stack.startWorker({ inboxKeepMs: 1_000 })
    await eventually("the processed bodies forgotten", async () => {
      const states = await statesInInbox()
      return states.join() === "gone,gone,quarantined" ? states : undefined
    })
  })
})
