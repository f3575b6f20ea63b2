import type { ProviderError } from "../dispatch/provider-gateway.js"
import { type StreamCommand, streamId } from "../streams.js"
import type { MessageEvent, MessageRecord } from "./message.js"

/** A command for another stream, caused by a message event (a process manager's output). */
export type Reaction = StreamCommand<"Recipient" | "Waba" | "Template">

/** 360dialog's "(#200) You must accept the Marketing Messages Lite API terms" arrives as 131055. */
export const saysTermsNotAccepted = (error: ProviderError): boolean =>
  error.code === 131055 && /terms/i.test(`${error.message ?? ""} ${error.details ?? ""} ${error.title ?? ""}`)

/**
 * The MM API refusing a template because it is not a marketing template: 134100 ("Only marketing
 * messages supported"), or 131055 ("Method not allowed — Only marketing template messages are
 * supported") when it is not the terms answer. Meaningful only for a request to `/marketing_messages`.
 */
const saysNotAMarketingTemplate = (error: ProviderError): boolean =>
  error.code === 134100 || (error.code === 131055 && !saysTermsNotAccepted(error))

/**
 * What a message event means for the other streams: 131049 starts the recipient's 24 h marketing
 * cooldown, 131050 opts the recipient out of marketing (both from the failure's own time); a
 * "terms not accepted" answer marks the WABA not onboarded (`source: provider_error`); and a
 * template the MM route refused as not marketing is recorded on the template, so that later messages
 * with it are routed to the Cloud API directly (`decideRoute`: `template_not_marketing_per_provider`).
 *
 * The template refusal is read from a failed dispatch only: it is a synchronous answer to a request,
 * and the event names the route the request went to.
 */
export const reactionsTo = (event: MessageEvent, message: MessageRecord): ReadonlyArray<Reaction> => {
  const { template, to, wabaId } = message.request
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
    } else if (
      saysNotAMarketingTemplate(error) && event._tag === "DispatchFailed" && event.route === "marketing_messages" && template !== null
    ) {
      reactions.push({
        streamId: streamId.template(wabaId, template.name, template.language),
        stream: "Template",
        command: {
          _tag: "RecordRefusedAsNotMarketing",
          wabaId,
          name: template.name,
          language: template.language,
          errorCode: error.code,
          // Messages requested before the field existed refute "no category known".
          routedOnCategoryAt: template.categoryAt ?? null,
          occurredAt: event.at,
          at: event.at
        }
      })
    }
  }
  return reactions
}
