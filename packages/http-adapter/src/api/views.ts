import type { BusinessManager, Waba } from "@mm-gateway/domain"
import type { BusinessManagerView, ChannelView, ClickView, InboxEntry, MessageResource, TemplateView, WabaView } from "@mm-gateway/ports"
import { iso, isoOrNull } from "./context.js"
import type * as Resources from "./resources.js"

/** Read-model rows → the resource shapes of docs/api.md#resources (times as ISO-8601). */

export const mmApiOf = (s: Waba.MmApiStatusView) => ({
  status: s.status,
  since: isoOrNull(s.since),
  source: s.source,
  reason: s.reason,
  suspendedUntil: isoOrNull(s.suspendedUntil)
})

export const wabaOf = (w: WabaView) => ({
  id: w.id,
  businessManagerId: w.businessManagerId,
  name: w.name,
  mmApi: {
    ...mmApiOf(w.mmApi),
    meta: w.meta === null ? null : { status: w.meta.status, businessStatus: w.meta.businessStatus, readAt: iso(w.meta.readAt), agrees: w.meta.agrees }
  }
})

export const metaRequestOf = (r: BusinessManager.MetaOnboardingRequest) => ({
  requestId: r.requestId,
  alreadyInvited: r.alreadyInvited,
  solutionId: r.solutionId,
  requestedAt: iso(r.at)
})

export const businessManagerOf = (b: BusinessManagerView) => ({
  id: b.id,
  name: b.name,
  mmApi: {
    termsSigned: b.mmApi.termsSigned,
    signedAt: isoOrNull(b.mmApi.signedAt),
    invitedAt: isoOrNull(b.mmApi.invitedAt),
    metaRequest: b.metaRequest === null ? null : metaRequestOf(b.metaRequest)
  },
  wabas: b.wabas.map(wabaOf)
})

export const channelOf = (c: ChannelView) => ({
  phoneNumberId: c.phoneNumberId,
  wabaId: c.wabaId,
  displayPhoneNumber: c.displayPhoneNumber,
  provider: c.provider,
  routing: c.routing,
  throughputMps: c.throughputMps,
  registeredAt: iso(c.registeredAt),
  updatedAt: iso(c.updatedAt)
})

export const templateOf = (t: TemplateView) => ({
  wabaId: t.wabaId,
  name: t.name,
  language: t.language,
  category: t.category,
  categorySource: t.categorySource,
  ttlSeconds: t.ttlSeconds,
  status: t.status,
  impendingCategory: t.impending === null ? null : { correctCategory: t.impending.correctCategory, effectiveAt: isoOrNull(t.impending.effectiveAt) },
  providerRefusal: t.refusedAsNotMarketing === null
    ? null
    : { reason: "not_a_marketing_template" as const, errorCode: t.refusedAsNotMarketing.errorCode, occurredAt: iso(t.refusedAsNotMarketing.occurredAt) },
  updatedAt: iso(t.updatedAt)
})

export const messageOf = (m: MessageResource): typeof Resources.MessageResource.Type => ({
  id: m.id,
  channel: m.channel,
  wabaId: m.wabaId,
  to: m.to,
  recipient: m.recipient,
  campaignId: m.campaignId,
  bizOpaqueCallbackData: m.clientCallbackData,
  template: m.template,
  route: m.route,
  status: m.status,
  wamid: m.wamid,
  timestamps: {
    acceptedAt: iso(m.timestamps.acceptedAt),
    submittedAt: isoOrNull(m.timestamps.submittedAt),
    sentAt: isoOrNull(m.timestamps.sentAt),
    deliveredAt: isoOrNull(m.timestamps.deliveredAt),
    readAt: isoOrNull(m.timestamps.readAt),
    failedAt: isoOrNull(m.timestamps.failedAt),
    expiredAt: isoOrNull(m.timestamps.expiredAt)
  },
  errors: m.errors,
  pricing: m.pricing,
  routeMismatch: m.routeMismatch,
  clicks: m.clickIds
})

export const clickOf = (c: ClickView) => ({
  actionType: c.actionType,
  kind: c.kind,
  clickId: c.clickId,
  trackingToken: c.trackingToken,
  component: c.component,
  occurredAt: iso(c.occurredAt),
  messageId: c.messageId,
  joinedClick: c.joinedClick === null
    ? null
    : { clickId: c.joinedClick.clickId, trackingToken: c.joinedClick.trackingToken, occurredAt: iso(c.joinedClick.occurredAt) }
})

const utf8 = new TextDecoder("utf-8", { fatal: true })

/** A stored body as text when it is UTF-8 (every JSON webhook), otherwise base64 so no byte is lost. */
const bodyOf = (bytes: Uint8Array): { readonly body: string; readonly bodyEncoding: "utf8" | "base64" } => {
  try {
    return { body: utf8.decode(bytes), bodyEncoding: "utf8" }
  } catch {
    return { body: Buffer.from(bytes).toString("base64"), bodyEncoding: "base64" }
  }
}

export const inboxItemOf = (e: InboxEntry) => ({
  id: e.id,
  source: e.source,
  receivedAt: iso(e.receivedAt),
  state: e.state,
  reason: e.reason,
  ...bodyOf(e.body)
})
