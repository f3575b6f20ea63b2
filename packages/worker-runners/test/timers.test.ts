import { CommandHandler, type Ids, Streams } from "@mm-gateway/domain"
import { layer } from "@mm-gateway/sqlite-projection"
import { Effect } from "effect"
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import { eventually, message, registerChannel } from "@mm-gateway/worker-test-stack"
import { type Stack, startStack } from "./support.js"

/**
 * The timers that need no provider: TTL expiry (Meta sends no webhook when a marketing message's TTL
 * passes undelivered). The message's history is written with old times, as if it had been accepted
 * and submitted two days ago with a 12 h TTL.
 */

let stack: Stack

beforeAll(async () => {
  stack = await startStack()
  await registerChannel(stack.api)
})
afterAll(() => stack.close())

const history = (id: string, to: string, submittedAt: number, delivered: boolean) =>
  Effect.gen(function*() {
    const s = Streams.streamId.message(id)
    const messageId = id as Ids.MessageId
    yield* CommandHandler.handleCommand(Streams.MessageStream, s, {
      _tag: "RequestMessage",
      messageId,
      channel: "106540352242922" as never,
      wabaId: "102290129340398" as never,
      to: to as never,
      endpoint: "marketing_messages",
      messageType: "template",
      template: { name: "spring_sale", language: "en", category: "MARKETING", ttlSeconds: 43_200 },
      productPolicy: null,
      messageActivitySharing: null,
      clientCallbackData: null,
      campaignId: "ttl-campaign" as never,
      idempotencyKey: null,
      requestHash: id,
      requestedBy: "admin",
      payload: {},
      decision: { _tag: "Routed", route: "marketing_messages", reasons: ["mm_api_eligible"], warnings: [], productPolicy: null, mmOptionsApply: true },
      at: submittedAt - 10
    })
    yield* CommandHandler.handleCommand(Streams.MessageStream, s, { _tag: "StartDispatch", messageId, attempt: 1, at: submittedAt - 5 })
    yield* CommandHandler.handleCommand(Streams.MessageStream, s, { _tag: "RecordDispatchSucceeded", messageId, attempt: 1, wamid: `wamid.${id}` as never, providerStatus: "accepted", at: submittedAt })
    if (delivered) {
      yield* CommandHandler.handleCommand(Streams.MessageStream, s, {
        _tag: "ObserveStatus",
        messageId,
        observation: { wamid: `wamid.${id}` as never, status: "delivered", timestamp: submittedAt + 1_000, recipient: to, pricing: null, originType: null, errors: [] },
        at: submittedAt + 1_000
      })
    }
  }).pipe(Effect.orDie)

describe("timers", () => {
  it("a message on the MM route whose template TTL passed with no delivery expires; a delivered one does not", async () => {
    const twoDaysAgo = Date.now() - 2 * 86_400_000
    await Effect.runPromise(
      Effect.all([history("ttl-undelivered", "4915112343001", twoDaysAgo, false), history("ttl-delivered", "4915112343002", twoDaysAgo, true)]).pipe(
        Effect.provide(layer({ path: stack.database }))
      )
    )
    stack.startWorker()
    await eventually("expired", async () => (await message(stack.api, "ttl-undelivered")).status === "expired")
    assert.strictEqual((await message(stack.api, "ttl-delivered")).status, "delivered")
    const stats = (await stack.api.request("GET", "/v1/campaigns/ttl-campaign/stats")).json
    assert.strictEqual(stats.expired, 1)
  })
})
