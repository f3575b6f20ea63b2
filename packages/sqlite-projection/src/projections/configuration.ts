import { Channel, type Events, PartnerSettings, Streams, Template } from "@mm-gateway/domain"
import { ReadViews } from "@mm-gateway/ports"
import { json, parse, prepared, type Projection, eachEvent } from "../projection.js"

interface ChannelRow {
  readonly version: number
  readonly waba_id: string
  readonly display_phone_number: string
  readonly provider: Channel.ChannelConfiguration["provider"]
  readonly credentials_ref: string
  readonly throughput_mps: number
  readonly routing: Channel.ChannelRouting
  readonly registered_at: number
}

const isChannelEvent = (e: Events.DomainEvent): e is Channel.ChannelEvent =>
  e._tag === "ChannelRegistered" || e._tag === "ChannelReconfigured" || e._tag === "ChannelRoutingOverrideSet"

/**
 * Channels as registered. Only the credentials *reference* is kept (where the encrypted secret lives,
 * for the dispatcher); no secret ever reaches the event log or this table.
 */
export const channelsProjection: Projection = {
  name: "channels",
  tables: ["channels"],
  apply: eachEvent((db, stored) => {
    const event = stored.event
    if (Streams.categoryOf(stored.streamId) !== "Channel" || !isChannelEvent(event)) return
    const row = prepared(db, "SELECT * FROM channels WHERE phone_number_id = ?").get(event.phoneNumberId) as ChannelRow | undefined
    if (row !== undefined && stored.version <= row.version) return
    const before: Channel.ChannelState = row === undefined
      ? Channel.initialState()
      : {
        _tag: "Registered",
        config: {
          phoneNumberId: event.phoneNumberId,
          wabaId: row.waba_id as Channel.ChannelConfiguration["wabaId"],
          displayPhoneNumber: row.display_phone_number,
          provider: row.provider,
          credentialsRef: row.credentials_ref,
          throughputMps: row.throughput_mps
        },
        routing: row.routing
      }
    const after = Channel.evolve(before, event)
    if (after._tag !== "Registered") return
    prepared(
      db,
      `INSERT INTO channels (phone_number_id, version, waba_id, display_phone_number, provider, credentials_ref,
         throughput_mps, routing, registered_at, updated_at)
       VALUES (@id, @version, @wabaId, @display, @provider, @credentialsRef, @throughput, @routing, @registeredAt, @updatedAt)
       ON CONFLICT (phone_number_id) DO UPDATE SET version = excluded.version, waba_id = excluded.waba_id,
         display_phone_number = excluded.display_phone_number, provider = excluded.provider,
         credentials_ref = excluded.credentials_ref, throughput_mps = excluded.throughput_mps,
         routing = excluded.routing, updated_at = excluded.updated_at`
    ).run({
      id: event.phoneNumberId,
      version: stored.version,
      wabaId: after.config.wabaId,
      display: after.config.displayPhoneNumber,
      provider: after.config.provider,
      credentialsRef: after.config.credentialsRef,
      throughput: after.config.throughputMps,
      routing: after.routing,
      registeredAt: row?.registered_at ?? event.at,
      updatedAt: event.at
    })
  })
}

/** The partner-wide routing setting: one row, absent until first changed (readers use the domain default). */
export const settingsProjection: Projection = {
  name: "partner_settings",
  tables: ["partner_settings"],
  apply: eachEvent((db, stored) => {
    const event = stored.event
    if (Streams.categoryOf(stored.streamId) !== "PartnerSettings" || event._tag !== "RoutingSettingsChanged") return
    const row = prepared(db, "SELECT version FROM partner_settings WHERE id = 1").get() as { version: number } | undefined
    if (row !== undefined && stored.version <= row.version) return
    const after = PartnerSettings.evolve(PartnerSettings.initialState(), event)
    prepared(
      db,
      `INSERT INTO partner_settings (id, version, marketing_via_mm_api, ttl_on_cloud_fallback, updated_at)
       VALUES (1, @version, @mm, @ttl, @at)
       ON CONFLICT (id) DO UPDATE SET version = excluded.version, marketing_via_mm_api = excluded.marketing_via_mm_api,
         ttl_on_cloud_fallback = excluded.ttl_on_cloud_fallback, updated_at = excluded.updated_at`
    ).run({ version: stored.version, mm: after.marketingViaMmApi ? 1 : 0, ttl: after.ttlOnCloudFallback, at: event.at })
  })
}

const isTemplateEvent = (e: Events.DomainEvent): e is Template.TemplateEvent =>
  e._tag === "TemplateCategoryObserved" || e._tag === "TemplateRecategorizationImpending" ||
  e._tag === "TemplateTtlSet" || e._tag === "TemplateTtlCleared" || e._tag === "TemplateStatusChanged" ||
  e._tag === "TemplateRefusedAsNotMarketing"

interface TemplateRow {
  readonly version: number
  readonly status_reason: string | null
  readonly state: string
}

export const templatesProjection: Projection = {
  name: "templates",
  tables: ["templates"],
  apply: eachEvent((db, stored) => {
    const event = stored.event
    if (Streams.categoryOf(stored.streamId) !== "Template" || !isTemplateEvent(event)) return
    const row = prepared(db, "SELECT version, status_reason, state FROM templates WHERE waba_id = ? AND name = ? AND language = ?")
      .get(event.wabaId, event.name, event.language) as TemplateRow | undefined
    if (row !== undefined && stored.version <= row.version) return
    const before = row === undefined ? Template.initialState() : parse<Template.TemplateState>(row.state)
    const after = Template.evolve(before, event)
    prepared(
      db,
      `INSERT INTO templates (waba_id, name, language, version, category, ttl_seconds, status, status_reason, impending, updated_at, state)
       VALUES (@wabaId, @name, @language, @version, @category, @ttl, @status, @reason, @impending, @at, @state)
       ON CONFLICT (waba_id, name, language) DO UPDATE SET version = excluded.version, category = excluded.category,
         ttl_seconds = excluded.ttl_seconds, status = excluded.status, status_reason = excluded.status_reason,
         impending = excluded.impending, updated_at = excluded.updated_at, state = excluded.state`
    ).run({
      wabaId: event.wabaId,
      name: event.name,
      language: event.language,
      version: stored.version,
      category: after.category,
      ttl: after.ttlSeconds,
      status: after.status,
      reason: ReadViews.templateStatusReason(row?.status_reason ?? null, event),
      impending: after.impending === null ? null : json(after.impending),
      at: event.at,
      state: json(after)
    })
  })
}
