import { BusinessManager, type Ids, Recipient, Status, Streams, Template, UserAction, Waba } from "@mm-gateway/domain"
import { Either, Schema } from "effect"
import type { Ignored, Note, Problem, StatusReport, StreamFact, WebhookCommand, WebhookDecoding } from "./commands.js"
import { firstViolation } from "./json-limits.js"
import { appendPath, decodeAt, describeNotJson, describeProblems, describeValue, problemsOf } from "./problems.js"
import * as Wire from "./wire.js"

type StreamName = StreamFact["stream"]
type CommandOf<S extends StreamName> = Extract<StreamFact, { readonly stream: S }>["command"]

/**
 * Verified webhook bodies → domain commands. Total: whatever the bytes, the answer is a decoding in
 * which every entry and every change is accounted for (commands, ignored, or problems); nothing throws.
 */

const ROOT = "$"

/**
 * The time part of a dedupe key when `entry[].time` is missing: the key is then made of the fact's
 * content alone, the same for every delivery (never the receipt time).
 */
const UNTIMED = "untimed"

/** The `account_update` events the gateway recognises and does not act on, and why. */
export const IGNORED_ACCOUNT_EVENTS: Readonly<Record<string, string>> = {
  AD_ACCOUNT_LINKED: "legacy onboarding signal; MM_LITE_TERMS_SIGNED is the one the gateway uses",
  ACCOUNT_VIOLATION: "a policy violation alone does not suspend business-initiated messaging",
  AUTH_INTL_PRICE_ELIGIBILITY_UPDATE: "authentication-international pricing is not used by the gateway",
  BUSINESS_PRIMARY_LOCATION_COUNTRY_UPDATE: "the business location is not used by the gateway",
  PARTNER_APP_INSTALLED: "app installation does not change the MM API status",
  PARTNER_APP_UNINSTALLED: "app installation does not change the MM API status",
  PARTNER_CLIENT_CERTIFICATION_STATUS_UPDATE: "partner-led business verification is not used by the gateway",
  VOLUME_BASED_PRICING_TIER_UPDATE: "pricing tiers are not used by the gateway",
  ACCOUNT_OFFBOARDED: "a device change or re-registration, not an MM API status change",
  ACCOUNT_RECONNECTED: "a device change or re-registration, not an MM API status change"
}

const BIZ_INITIATED_RESTRICTION = "RESTRICTED_BIZ_INITIATED_MESSAGING"
const MARKETING_PREFERENCES = "marketing_messages"

/** A natural key from parts; each part is URI-encoded so no two different facts can spell the same key. */
const key = (kind: string, ...parts: ReadonlyArray<string | number | null>): string =>
  [kind, ...parts.map((p) => encodeURIComponent(p === null ? "-" : String(p)))].join(":")

class Collector {
  readonly commands: Array<WebhookCommand> = []
  readonly ignored: Array<Ignored> = []
  readonly problems: Array<Problem> = []
  readonly notes: Array<Note> = []

  ignore(path: string, why: string): void {
    this.ignored.push({ path, why })
  }

  problem(...problems: ReadonlyArray<Problem>): void {
    this.problems.push(...problems)
  }

  /** Decode at a path; on failure the problems are recorded and `undefined` comes back. */
  decode<A, I>(schema: Schema.Schema<A, I, never>, input: unknown, path: string): A | undefined {
    const result = decodeAt(schema, input, path)
    if (Either.isLeft(result)) {
      this.problem(...result.left)
      return undefined
    }
    return result.right
  }

  /**
   * Check a built command against the domain's own schema before handing it on, so nothing the
   * domain would refuse leaves this package (the wire schemas should already have caught it).
   */
  stream<S extends StreamName, A extends CommandOf<S>, I>(
    stream: S,
    schema: Schema.Schema<A, I, never>,
    built: { readonly streamId: string; readonly command: I; readonly dedupeKey: string; readonly path: string }
  ): void {
    const decoded = Schema.decodeEither(schema)(built.command)
    if (Either.isLeft(decoded)) {
      this.problem(...problemsOf(decoded.left, built.path))
      return
    }
    // The stream name and the schema are tied by the signature; TypeScript cannot correlate them in the union.
    this.commands.push({ _tag: "StreamFact", stream, ...built, command: decoded.right } as StreamFact)
  }

  /**
   * A status report. Its observation is not checked again against the domain's `StatusObservation`:
   * every field of it comes from `Wire.Status`, made of the domain's own schemas (see `decodeStatus`),
   * and the totality property test checks every observation the decoder makes against the domain's
   * schema. A second pass cost a tenth of decoding a status.
   */
  status(report: Omit<StatusReport, "_tag">): void {
    this.commands.push({ _tag: "StatusReport", ...report })
  }

  result(): WebhookDecoding {
    return { commands: this.commands, ignored: this.ignored, problems: this.problems, notes: this.notes }
  }
}

interface EntryTime {
  readonly millis: number
  readonly key: string
}

/** Where a change sits, and what its entry says about it. */
interface ChangeContext {
  readonly out: Collector
  readonly valuePath: string
  readonly entryId: unknown
  readonly entryPath: string
  /**
   * `entry[].time`: `millis` for the facts (the receipt time, noted, when it is missing or not a
   * time), and `key` for the dedupe keys — the time itself, or `untimed`, never the receipt time, so
   * that every delivery of a time-less fact gets the same key.
   */
  readonly entryTime: () => EntryTime
  readonly at: number
}

/** The WABA is `value.waba_info.waba_id` when present, else `entry[].id` (docs/webhooks.md#decoding). */
const wabaOf = (value: unknown, ctx: ChangeContext): Ids.WabaId | undefined => {
  const ref = ctx.out.decode(Wire.WabaRef, value, ctx.valuePath)
  if (ref === undefined) return undefined
  const fromInfo = ref.waba_info?.waba_id
  if (fromInfo != null) return fromInfo
  return ctx.out.decode(Wire.WabaId, ctx.entryId, appendPath(ctx.entryPath, ["id"]))
}

// ---- identity links ----------------------------------------------------------------------------

/**
 * The WABA of a change for identity links, without reporting anything: a link is a side fact, and a
 * change whose WABA cannot be told has its own problems reported where they matter (or none at all).
 */
const wabaForLinks = (value: unknown, ctx: ChangeContext): Ids.WabaId | null => {
  const info = (value as { waba_info?: { waba_id?: unknown } } | null)?.waba_info?.waba_id
  if (Wire.isWabaId(info)) return info
  return Wire.isWabaId(ctx.entryId) ? ctx.entryId : null
}

/** Two identifiers the webhook names one user by: a link recorded on the stream of each (docs/webhooks.md#identity-links). */
const linkIdentity = (
  ctx: ChangeContext,
  wabaId: Ids.WabaId,
  a: Ids.UserRef,
  b: Ids.UserRef,
  source: typeof Recipient.IdentityLinkSource.Type,
  path: string
): void => {
  if (a === b) return
  for (const [recipient, sameAs] of [[a, b], [b, a]] as const) {
    ctx.out.stream("Recipient", Recipient.LinkIdentity, {
      streamId: Streams.streamId.recipient(wabaId, recipient),
      command: { _tag: "LinkIdentity", wabaId, recipient, sameAs, source, at: ctx.at },
      dedupeKey: key("identity_link", wabaId, recipient, sameAs),
      path
    })
  }
}

const userRef = (input: unknown, kind: "number" | "bsuid"): Ids.UserRef | null =>
  kind === "number" ? (Wire.isRecipientNumber(input) ? input : null) : (Wire.isBsuid(input) ? input : null)

/** The number, the BSUID and the parent BSUID one item names its user by: each present one linked to the next. */
const linkAll = (ctx: ChangeContext, wabaId: Ids.WabaId, ids: ReadonlyArray<Ids.UserRef | null>, source: "contacts" | "inbound_message", path: string) => {
  const present = ids.filter((id): id is Ids.UserRef => id !== null)
  for (let i = 1; i < present.length; i++) linkIdentity(ctx, wabaId, present[i - 1]!, present[i]!, source, path)
}

/** `contacts[]` and inbound `messages[]` of a change: the identifiers each names its user by together. */
const decodeIdentityLinks = (value: unknown, contacts: ReadonlyArray<unknown>, inbound: ReadonlyArray<unknown>, ctx: ChangeContext) => {
  if (contacts.length === 0 && inbound.length === 0) return
  const wabaId = wabaForLinks(value, ctx)
  if (wabaId === null) return
  contacts.forEach((item, i) => {
    const c = Schema.decodeUnknownOption(Wire.ContactIds)(item)
    if (c._tag === "None") return
    const ids = [userRef(c.value.wa_id, "number"), userRef(c.value.user_id, "bsuid"), userRef(c.value.parent_user_id, "bsuid")]
    linkAll(ctx, wabaId, ids, "contacts", appendPath(ctx.valuePath, ["contacts", i]))
  })
  inbound.forEach((item, i) => {
    const m = Schema.decodeUnknownOption(Wire.InboundIds)(item)
    if (m._tag === "None") return
    const ids = [userRef(m.value.from, "number"), userRef(m.value.from_user_id, "bsuid"), userRef(m.value.from_parent_user_id, "bsuid")]
    linkAll(ctx, wabaId, ids, "inbound_message", appendPath(ctx.valuePath, ["messages", i]))
  })
}

// ---- field: messages ---------------------------------------------------------------------------

const decodeMessages = (value: unknown, ctx: ChangeContext): void => {
  const { out, valuePath } = ctx
  const v = out.decode(Wire.MessagesValue, value, valuePath)
  if (v === undefined) return
  const statuses = v.statuses ?? []
  const actions = v.user_actions ?? []
  const inbound = v.messages ?? []
  const errors = v.errors ?? []

  let channel: Ids.PhoneNumberId | undefined
  if (statuses.length > 0 || actions.length > 0) {
    channel = out.decode(Wire.Metadata, v.metadata, appendPath(valuePath, ["metadata"]))?.phone_number_id
  }

  if (statuses.length > 0 && channel !== undefined) {
    const wabaId = wabaOf(value, ctx)
    if (wabaId !== undefined) {
      statuses.forEach((item, i) => decodeStatus(item, appendPath(valuePath, ["statuses", i]), channel, wabaId, ctx))
    }
  }
  if (actions.length > 0 && channel !== undefined) {
    actions.forEach((item, i) => decodeUserAction(item, appendPath(valuePath, ["user_actions", i]), channel, ctx))
  }
  decodeIdentityLinks(value, v.contacts ?? [], inbound, ctx)
  if (inbound.length > 0) {
    out.ignore(appendPath(valuePath, ["messages"]), `${inbound.length} inbound message(s): the gateway does not handle inbound messages`)
  }
  if (errors.length > 0) {
    out.ignore(appendPath(valuePath, ["errors"]), `${errors.length} webhook-level error(s): not tied to a message the gateway sent`)
  }
  if (statuses.length === 0 && actions.length === 0 && inbound.length === 0 && errors.length === 0) {
    out.ignore(valuePath, "no statuses, user_actions, messages or errors")
  }
}

const isTrackedStatus = Schema.is(Wire.Status.fields.status)
const decodeWholeStatus = Schema.decodeUnknownEither(Wire.Status, { errors: "first", onExcessProperty: "ignore" })

const decodeStatus = (item: unknown, path: string, channel: Ids.PhoneNumberId, wabaId: Ids.WabaId, ctx: ChangeContext): void => {
  const { out } = ctx
  // A status that decodes whole is a tracked one (`Wire.Status` takes only those): one decode for the
  // usual item. Anything else goes the long way, so what is ignored or reported stays the same.
  const whole = decodeWholeStatus(item)
  let s: typeof Wire.Status.Type
  if (Either.isRight(whole)) {
    s = whole.right
  } else {
    const head = out.decode(Wire.StatusHead, item, path)
    if (head === undefined) return
    if (!isTrackedStatus(head.status)) {
      // Named, as other ignored fields and events are: the reason of an ignored part stays in the decoding
      // (neither stored nor logged), and a status name is what a reader needs to recognise it.
      out.ignore(path, `status ${JSON.stringify(head.status)} is not tracked (only sent, delivered, read and failed are)`)
      return
    }
    const decoded = out.decode(Wire.Status, item, path)
    if (decoded === undefined) return
    s = decoded
  }
  const observation: Status.StatusObservation = {
    wamid: s.id,
    status: s.status,
    timestamp: s.timestamp,
    recipient: s.recipient_id ?? null,
    pricing: s.pricing == null ? null : {
      category: s.pricing.category ?? null,
      pricingModel: s.pricing.pricing_model ?? null,
      type: s.pricing.type ?? null,
      billable: s.pricing.billable ?? null
    },
    originType: s.conversation?.origin?.type ?? null,
    errors: (s.errors ?? []).map((e) => ({
      code: e.code,
      title: e.title ?? null,
      message: e.message ?? null,
      details: e.error_data?.details ?? null
    })),
    ...(s.recipient_type == null ? {} : { recipientType: s.recipient_type }),
    ...(s.recipient_participant_id == null ? {} : { participant: s.recipient_participant_id }),
    ...(s.recipient_user_id == null || s.recipient_user_id === "" ? {} : { recipientUserId: s.recipient_user_id })
  }
  out.status({
    channel,
    wabaId,
    bizOpaqueCallbackData: s.biz_opaque_callback_data ?? null,
    observation,
    // In a group each member's status is its own fact; one-to-one keys stay as they were.
    dedupeKey: s.recipient_participant_id == null
      ? key("status", s.id, s.status, s.timestamp)
      : key("status", s.id, s.status, s.timestamp, "participant", s.recipient_participant_id),
    path
  })
  // A one-to-one status naming its user by number and by BSUID says they are the same user.
  if (s.recipient_type == null && Wire.isBsuid(s.recipient_user_id) && Wire.isRecipientNumber(s.recipient_id)) {
    linkIdentity(ctx, wabaId, s.recipient_id, s.recipient_user_id, "status", path)
  }
}

const nonEmpty = (text: string | null | undefined): string | null => text == null || text === "" ? null : text

const decodeUserAction = (item: unknown, path: string, channel: Ids.PhoneNumberId, ctx: ChangeContext): void => {
  const a = ctx.out.decode(Wire.UserActionItem, item, path)
  if (a === undefined) return
  const data = a.marketing_messages_link_click_data
  const clickId = nonEmpty(data?.click_id)
  const trackingToken = nonEmpty(data?.tracking_token)
  ctx.out.stream("UserAction", UserAction.RecordUserAction, {
    streamId: Streams.streamId.userAction(channel, a.action_type, clickId, trackingToken, a.timestamp),
    command: {
      _tag: "RecordUserAction",
      channel,
      actionType: a.action_type,
      clickId,
      trackingToken,
      component: nonEmpty(data?.click_component),
      productId: nonEmpty(data?.product_id),
      occurredAt: a.timestamp,
      at: ctx.at
    },
    // The domain's own natural key for user actions (docs/domain.md#clicks).
    dedupeKey: `user_action:${UserAction.userActionKey(channel, a.action_type, clickId, trackingToken, a.timestamp)}`,
    path
  })
}

// ---- field: account_update ---------------------------------------------------------------------

const suspend = (
  ctx: ChangeContext,
  wabaId: Ids.WabaId,
  kind: "account_restriction" | "disabled" | "partner_removed" | "account_deleted",
  expiresAt: number | null
): void => {
  const time = ctx.entryTime()
  ctx.out.stream("Waba", Waba.RecordSuspension, {
    streamId: Streams.streamId.waba(wabaId),
    command: { _tag: "RecordSuspension", wabaId, kind, occurredAt: time.millis, expiresAt, at: ctx.at },
    dedupeKey: key("suspension", wabaId, kind, time.key, expiresAt),
    path: ctx.valuePath
  })
}

const reinstate = (ctx: ChangeContext, wabaId: Ids.WabaId, kind: "disabled" | "partner_removed"): void => {
  const time = ctx.entryTime()
  ctx.out.stream("Waba", Waba.RecordReinstatement, {
    streamId: Streams.streamId.waba(wabaId),
    command: { _tag: "RecordReinstatement", wabaId, kind, occurredAt: time.millis, at: ctx.at },
    dedupeKey: key("reinstatement", wabaId, kind, time.key),
    path: ctx.valuePath
  })
}

const discoverBusinessManager = (ctx: ChangeContext, businessManagerId: Ids.BusinessManagerId): void =>
  ctx.out.stream("BusinessManager", BusinessManager.DiscoverBusinessManager, {
    streamId: Streams.streamId.businessManager(businessManagerId),
    command: { _tag: "DiscoverBusinessManager", businessManagerId, at: ctx.at },
    dedupeKey: key("business_manager", businessManagerId),
    path: ctx.valuePath
  })

const termsSigned = (value: unknown, ctx: ChangeContext): void => {
  const { out, valuePath } = ctx
  // `entry[].id` is not used here: the docs disagree whether it names the WABA or the partner's business.
  const t = out.decode(Wire.TermsSigned, value, valuePath)
  if (t === undefined) return
  const wabaId = t.waba_info.waba_id ?? null
  const owner = t.waba_info.owner_business_id ?? null
  if (wabaId !== null) {
    if (owner !== null) discoverBusinessManager(ctx, owner)
    const time = ctx.entryTime()
    out.stream("Waba", Waba.RecordWabaTermsSigned, {
      streamId: Streams.streamId.waba(wabaId),
      command: { _tag: "RecordWabaTermsSigned", wabaId, ownerBusinessId: owner, signedAt: time.millis, at: ctx.at },
      dedupeKey: key("terms_signed", "waba", wabaId, time.key),
      path: valuePath
    })
  } else if (owner !== null) {
    const time = ctx.entryTime()
    out.stream("BusinessManager", BusinessManager.RecordBusinessTermsSigned, {
      streamId: Streams.streamId.businessManager(owner),
      command: { _tag: "RecordBusinessTermsSigned", businessManagerId: owner, signedAt: time.millis, at: ctx.at },
      dedupeKey: key("terms_signed", "business", owner, time.key),
      path: valuePath
    })
  } else {
    out.problem({
      path: appendPath(valuePath, ["waba_info"]),
      expected: "waba_id or owner_business_id",
      actual: describeValue((value as { waba_info?: unknown }).waba_info)
    })
  }
}

const decodeAccountUpdate = (value: unknown, ctx: ChangeContext): void => {
  const { out, valuePath } = ctx
  const head = out.decode(Wire.AccountUpdateHead, value, valuePath)
  if (head === undefined) return
  const event = head.event ?? null
  switch (event) {
    case "MM_LITE_TERMS_SIGNED":
      return termsSigned(value, ctx)
    case "ACCOUNT_RESTRICTION": {
      const r = out.decode(Wire.Restriction, value, valuePath)
      if (r === undefined) return
      const relevant = r.restriction_info.filter((i) => i.restriction_type === BIZ_INITIATED_RESTRICTION)
      if (relevant.length === 0) {
        const types = r.restriction_info.map((i) => i.restriction_type).join(", ") || "none"
        out.ignore(valuePath, `ACCOUNT_RESTRICTION without ${BIZ_INITIATED_RESTRICTION} (types: ${types}) does not stop marketing sends`)
        return
      }
      const wabaId = wabaOf(value, ctx)
      if (wabaId === undefined) return
      const expirations = new Set(relevant.map((i) => i.expiration ?? null))
      for (const expiresAt of expirations) suspend(ctx, wabaId, "account_restriction", expiresAt)
      return
    }
    case "DISABLED_UPDATE": {
      const b = out.decode(Wire.BanInfo, value, valuePath)
      if (b === undefined) return
      const state = b.ban_info.waba_ban_state
      if (state === "SCHEDULE_FOR_DISABLE") {
        out.ignore(valuePath, "DISABLED_UPDATE SCHEDULE_FOR_DISABLE: not disabled yet; a DISABLE webhook follows if it happens")
        return
      }
      if (state !== "DISABLE" && state !== "REINSTATE") {
        out.problem({
          path: appendPath(valuePath, ["ban_info", "waba_ban_state"]),
          expected: "DISABLE, REINSTATE or SCHEDULE_FOR_DISABLE",
          actual: describeValue(state)
        })
        return
      }
      const wabaId = wabaOf(value, ctx)
      if (wabaId === undefined) return
      if (state === "DISABLE") suspend(ctx, wabaId, "disabled", null)
      else reinstate(ctx, wabaId, "disabled")
      return
    }
    case "PARTNER_REMOVED":
    case "PARTNER_ADDED":
    case "ACCOUNT_DELETED": {
      const wabaId = wabaOf(value, ctx)
      if (wabaId === undefined) return
      if (event === "PARTNER_REMOVED") suspend(ctx, wabaId, "partner_removed", null)
      else if (event === "ACCOUNT_DELETED") suspend(ctx, wabaId, "account_deleted", null)
      else reinstate(ctx, wabaId, "partner_removed")
      return
    }
    case null:
      out.ignore(valuePath, "account_update without an event (e.g. the authentication-international eligibility update): not used by the gateway")
      return
    default: {
      // An own key only: an event named like an Object.prototype member ("toString") is just unknown.
      const why = Object.hasOwn(IGNORED_ACCOUNT_EVENTS, event) ? IGNORED_ACCOUNT_EVENTS[event] : undefined
      out.ignore(valuePath, why === undefined ? `account_update event ${event} is not used by the gateway` : `${event}: ${why}`)
    }
  }
}

// ---- fields: template_category_update, message_template_status_update --------------------------

const decodeTemplateCategoryUpdate = (value: unknown, ctx: ChangeContext): void => {
  const { out, valuePath } = ctx
  const t = out.decode(Wire.TemplateCategoryUpdate, value, valuePath)
  if (t === undefined) return
  const wabaId = wabaOf(value, ctx)
  if (wabaId === undefined) return
  const name = t.message_template_name
  const language = t.message_template_language
  const id = Streams.streamId.template(wabaId, name, language)
  const time = ctx.entryTime()
  const occurredAt = time.millis
  const impending = t.correct_category != null || t.category_update_timestamp != null
  if (impending) {
    const correctCategory = t.correct_category ?? null
    if (correctCategory === null) {
      out.problem({
        path: appendPath(valuePath, ["correct_category"]),
        expected: "MARKETING, UTILITY or AUTHENTICATION (an impending change names the category it will become)"
      })
      return
    }
    const effectiveAt = t.category_update_timestamp ?? null
    out.stream("Template", Template.RecordImpendingRecategorization, {
      streamId: id,
      command: {
        _tag: "RecordImpendingRecategorization",
        wabaId,
        name,
        language,
        currentCategory: t.new_category ?? null,
        correctCategory,
        effectiveAt,
        occurredAt,
        at: ctx.at
      },
      dedupeKey: key("template_impending", wabaId, name, language, correctCategory, effectiveAt, time.key),
      path: valuePath
    })
    return
  }
  const newCategory = t.new_category ?? null
  if (newCategory === null) {
    out.problem({ path: appendPath(valuePath, ["new_category"]), expected: "MARKETING, UTILITY or AUTHENTICATION (the property is missing)" })
    return
  }
  out.stream("Template", Template.RecordCategoryChange, {
    streamId: id,
    command: {
      _tag: "RecordCategoryChange",
      wabaId,
      name,
      language,
      previousCategory: t.previous_category ?? null,
      newCategory,
      occurredAt,
      at: ctx.at
    },
    dedupeKey: key("template_category", wabaId, name, language, newCategory, time.key),
    path: valuePath
  })
}

const decodeTemplateStatusUpdate = (value: unknown, ctx: ChangeContext): void => {
  const { out, valuePath } = ctx
  const t = out.decode(Wire.TemplateStatusUpdate, value, valuePath)
  if (t === undefined) return
  const wabaId = wabaOf(value, ctx)
  if (wabaId === undefined) return
  const name = t.message_template_name
  const language = t.message_template_language
  const time = ctx.entryTime()
  const occurredAt = time.millis
  out.stream("Template", Template.RecordTemplateStatus, {
    streamId: Streams.streamId.template(wabaId, name, language),
    command: {
      _tag: "RecordTemplateStatus",
      wabaId,
      name,
      language,
      status: t.event,
      reason: t.reason ?? null,
      category: t.message_template_category ?? null,
      occurredAt,
      at: ctx.at
    },
    dedupeKey: key("template_status", wabaId, name, language, t.event, time.key),
    path: valuePath
  })
}

// ---- field: user_preferences -------------------------------------------------------------------

const decodeUserPreferences = (value: unknown, ctx: ChangeContext): void => {
  const { out, valuePath } = ctx
  const v = out.decode(Wire.UserPreferencesValue, value, valuePath)
  if (v === undefined) return
  if (v.user_preferences.length === 0) {
    out.ignore(valuePath, "no user_preferences")
    return
  }
  let wabaId: Ids.WabaId | undefined | null = null
  v.user_preferences.forEach((item, i) => {
    const path = appendPath(valuePath, ["user_preferences", i])
    const head = out.decode(Wire.PreferenceHead, item, path)
    if (head === undefined) return
    if (head.category !== MARKETING_PREFERENCES) {
      out.ignore(path, `preference category ${head.category ?? "(none)"} is not about marketing messages`)
      return
    }
    const p = out.decode(Wire.Preference, item, path)
    if (p === undefined) return
    const optedOut = p.value === "stop" ? true : p.value === "resume" || p.value === "signup" ? false : null
    if (optedOut === null) {
      out.problem({ path: appendPath(path, ["value"]), expected: "\"stop\", \"resume\" or \"signup\"", actual: describeValue(p.value) })
      return
    }
    // The number when the preference names one (as before BSUIDs), else the BSUID.
    const recipient: Ids.UserRef | null = p.wa_id ?? p.user_id ?? null
    if (recipient === null) {
      out.problem({ path, expected: "wa_id (a WhatsApp number) or user_id (a BSUID)", actual: "neither" })
      return
    }
    // Resolved once per change, and only when a preference needs it.
    if (wabaId === null) wabaId = wabaOf(value, ctx)
    if (wabaId === undefined) return
    out.stream("Recipient", Recipient.RecordMarketingPreference, {
      streamId: Streams.streamId.recipient(wabaId, recipient),
      command: {
        _tag: "RecordMarketingPreference",
        wabaId,
        recipient,
        optedOut,
        source: "user_preferences",
        occurredAt: p.timestamp,
        at: ctx.at
      },
      dedupeKey: key("marketing_preference", wabaId, recipient, p.value, p.timestamp),
      path
    })
    if (p.wa_id != null && p.user_id != null) linkIdentity(ctx, wabaId, p.wa_id, p.user_id, "user_preferences", path)
  })
  decodeIdentityLinks(value, v.contacts ?? [], [], ctx)
}

// ---- envelope ----------------------------------------------------------------------------------

const FIELDS: Readonly<Record<string, (value: unknown, ctx: ChangeContext) => void>> = {
  messages: decodeMessages,
  account_update: decodeAccountUpdate,
  template_category_update: decodeTemplateCategoryUpdate,
  message_template_status_update: decodeTemplateStatusUpdate,
  user_preferences: decodeUserPreferences
}

/** The webhook fields this package maps to commands; every other field is ignored. */
export const KNOWN_FIELDS: ReadonlyArray<string> = Object.keys(FIELDS)

const utf8 = new TextDecoder("utf-8", { fatal: true })

const decodeBody = (rawBody: Uint8Array | string, at: number, out: Collector): void => {
  let text: string
  // A byte-order mark is not JSON; TextDecoder drops it from bytes, so drop it from text the same way.
  if (typeof rawBody === "string") text = rawBody.startsWith("\uFEFF") ? rawBody.slice(1) : rawBody
  else {
    try {
      text = utf8.decode(rawBody)
    } catch {
      out.problem({ path: ROOT, expected: "UTF-8 text", actual: `${rawBody.length} bytes that are not UTF-8` })
      return
    }
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (error) {
    out.problem({ path: ROOT, expected: "a JSON document", actual: describeNotJson(text, error) })
    return
  }
  // Before any schema walks it: a body beyond the bounds is not decoded at all, so it is quarantined as
  // a whole (at the root), with the place and the bound in the reason and none of its content.
  const beyond = firstViolation(json)
  if (beyond !== undefined) {
    out.problem({ path: ROOT, expected: `JSON within the decoder's bounds; ${appendPath(ROOT, beyond.path)} ${beyond.message}` })
    return
  }
  const envelope = out.decode(Wire.Envelope, json, ROOT)
  if (envelope === undefined) return
  if (envelope.entry.length === 0) {
    out.ignore(appendPath(ROOT, ["entry"]), "no entries")
    return
  }
  envelope.entry.forEach((rawEntry, i) => {
    const entryPath = appendPath(ROOT, ["entry", i])
    const entry = out.decode(Wire.Entry, rawEntry, entryPath)
    if (entry === undefined) return
    if (entry.changes.length === 0) {
      out.ignore(appendPath(entryPath, ["changes"]), "no changes")
      return
    }
    let time: EntryTime | undefined
    const entryTime = (): EntryTime => {
      if (time === undefined) {
        const millis = Wire.unixSecondsToMillis(entry.time)
        if (millis === null) {
          out.notes.push({
            path: appendPath(entryPath, ["time"]),
            note: `not ${Wire.UNIX_SECONDS} (${describeValue(entry.time)}); the receipt time is used as the fact's time, and the dedupe key says "untimed"`
          })
        }
        time = millis === null ? { millis: at, key: UNTIMED } : { millis, key: String(millis) }
      }
      return time
    }
    entry.changes.forEach((rawChange, j) => {
      const changePath = appendPath(entryPath, ["changes", j])
      const change = out.decode(Wire.Change, rawChange, changePath)
      if (change === undefined) return
      // Own keys only: a field named like an Object.prototype member ("toString") is just not used.
      const handler = Object.hasOwn(FIELDS, change.field) ? FIELDS[change.field] : undefined
      if (handler === undefined) {
        out.ignore(changePath, `field ${change.field} is not used by the gateway`)
        return
      }
      handler(change.value, {
        out,
        valuePath: appendPath(changePath, ["value"]),
        entryId: entry.id,
        entryPath,
        entryTime,
        at
      })
    })
  })
}

/**
 * Decode one verified webhook body (Meta's or 360dialog's, which forwards Meta's format) received at
 * `receivedAt` (epoch ms; every command's `at`). Facts carry the webhook's own times. Never throws.
 */
export const decodeWebhook = (rawBody: Uint8Array | string, receivedAt: number): WebhookDecoding => {
  const out = new Collector()
  if (!Number.isSafeInteger(receivedAt) || receivedAt < 0) {
    out.problem({ path: ROOT, expected: "receivedAt as epoch milliseconds (a non-negative integer)", actual: describeValue(receivedAt) })
    return out.result()
  }
  try {
    decodeBody(rawBody, receivedAt, out)
  } catch (error) {
    // A defect in this package must not lose the body: it goes to quarantine with what went wrong. Its
    // kind only: the message of an error thrown while reading a body can quote the body.
    out.problem({
      path: ROOT,
      expected: "a body this decoder can handle",
      actual: `an internal error (${error instanceof Error ? error.name : describeValue(error)})`
    })
  }
  return out.result()
}

/** The quarantine reason for a decoding with problems, or `null` when there is none. */
export const quarantineReason = (decoding: WebhookDecoding): string | null =>
  decoding.problems.length === 0 ? null : describeProblems(decoding.problems)
