import { Decider, type Ids, Message, type Status } from "../src/index.js"
import { MSG, PHONE, TO, WABA, WAMID } from "./fixtures.js"

export const request = (overrides: Partial<typeof Message.RequestMessage.Type> = {}): typeof Message.RequestMessage.Type => ({
  _tag: "RequestMessage",
  messageId: MSG,
  channel: PHONE,
  wabaId: WABA,
  to: TO,
  endpoint: "marketing_messages",
  messageType: "template",
  template: { name: "spring_sale", language: "en", category: "MARKETING", ttlSeconds: 86_400 },
  productPolicy: null,
  messageActivitySharing: true,
  clientCallbackData: "client-ref-1",
  campaignId: "spring" as Ids.CampaignId,
  idempotencyKey: "key-1",
  requestHash: "hash-1",
  requestedBy: "key_abc",
  payload: { messaging_product: "whatsapp", to: TO, type: "template", template: { name: "spring_sale", language: { code: "en" } } },
  decision: { _tag: "Routed", route: "marketing_messages", reasons: ["mm_api_eligible"], warnings: [], productPolicy: null, mmOptionsApply: true },
  at: 1_000,
  ...overrides
})

export const observation = (
  status: Status.StatusObservation["status"],
  timestamp: number,
  extra: Partial<Status.StatusObservation> = {}
): Status.StatusObservation => ({
  wamid: WAMID as Ids.Wamid,
  status,
  timestamp,
  recipient: TO,
  pricing: null,
  originType: null,
  errors: [],
  ...extra
})

export const mmPricing = { category: "marketing_lite", pricingModel: "PMP", type: "regular", billable: true } as const
export const cloudPricing = { category: "marketing", pricingModel: "PMP", type: "regular", billable: true } as const

/** Runs commands through the decider, failing on a rejection; returns every event. */
export const run = (commands: ReadonlyArray<Message.MessageCommand>): ReadonlyArray<Message.MessageEvent> => {
  const events: Array<Message.MessageEvent> = []
  for (const command of commands) {
    const result = Message.decide(command, Decider.fold(Message.MessageDecider, events))
    if (result._tag === "Left") throw new Error(`${command._tag} rejected: ${JSON.stringify(result.left)}`)
    events.push(...result.right)
  }
  return events
}

export const stateOf = (events: ReadonlyArray<Message.MessageEvent>) => {
  const state = Decider.fold(Message.MessageDecider, events)
  if (state._tag !== "Requested") throw new Error("message not requested")
  return state.message
}

/** A message accepted, dispatched and answered by the provider at `submittedAt`. */
export const submittedCommands = (
  submittedAt = 2_000,
  overrides: Partial<typeof Message.RequestMessage.Type> = {}
): ReadonlyArray<Message.MessageCommand> => [
  request(overrides),
  { _tag: "StartDispatch", messageId: MSG, attempt: 1, at: submittedAt - 10 },
  { _tag: "RecordDispatchSucceeded", messageId: MSG, attempt: 1, wamid: WAMID, providerStatus: "accepted", at: submittedAt }
]

export const submitted = (submittedAt = 2_000, overrides: Partial<typeof Message.RequestMessage.Type> = {}) =>
  run(submittedCommands(submittedAt, overrides))
