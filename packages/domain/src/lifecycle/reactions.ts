import type { MessageRecord } from "./message.js"
import type { RecipientCommand } from "../recipients/recipient.js"
import type { WabaCommand } from "../onboarding/waba.js"
import type { MessageEvent } from "./message.js"
import type { ProviderError } from "../shared/ids.js"
import { streamId } from "../streams.js"

/** A command for another stream, caused by a message event (a process manager's output). */
export type Reaction =
  | { readonly streamId: string; readonly stream: "Recipient"; readonly command: RecipientCommand }
  | { readonly streamId: string; readonly stream: "Waba"; readonly command: WabaCommand }

/** 360dialog's "(#200) You must accept the Marketing Messages Lite API terms" arrives as 131055. */
export const saysTermsNotAccepted = (error: ProviderError): boolean =>
  error.code === 131055 && /terms/i.test(`${error.message ?? ""} ${error.details ?? ""} ${error.title ?? ""}`)

/**
 * What a message event means for the other streams: 131049 starts the recipient's 24 h marketing
 * cooldown, 131050 opts the recipient out of marketing (both from the failure's own time), and a
 * "terms not accepted" answer marks the WABA not onboarded (`source: provider_error`).
 */
export const reactionsTo = (event: MessageEvent, message: MessageRecord): ReadonlyArray<Reaction> => {
  const { wabaId, to } = message.request
  const errors: ReadonlyArray<ProviderError> = event._tag === "StatusObserved" && event.observation.status === "failed"
    ? event.observation.errors
    : event._tag === "DispatchFailed" && event.error !== null
    ? [event.error]
    : []
  const failedAt = event._tag === "StatusObserved" ? event.observation.timestamp : event.at
  const reactions: Array<Reaction> = []
  const recipient = streamId.recipient(wabaId, to)
  for (const error of errors) {
    if (error.code === 131049) {
      reactions.push({
        streamId: recipient,
        stream: "Recipient",
        command: { _tag: "StartMarketingCooldown", wabaId, recipient: to, failedAt, at: event.at }
      })
    } else if (error.code === 131050) {
      reactions.push({
        streamId: recipient,
        stream: "Recipient",
        command: { _tag: "RecordMarketingPreference", wabaId, recipient: to, optedOut: true, source: "error_131050", occurredAt: failedAt, at: event.at }
      })
    } else if (saysTermsNotAccepted(error)) {
      reactions.push({
        streamId: streamId.waba(wabaId),
        stream: "Waba",
        command: { _tag: "RecordTermsNotAccepted", wabaId, errorCode: error.code, details: error.message ?? error.details, at: event.at }
      })
    }
  }
  return reactions
}
