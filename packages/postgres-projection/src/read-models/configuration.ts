/**
 * Channels, the partner-wide routing setting and templates: their projections, rows and the
 * `ConfigurationQueries` that read them (and the channel with its credentials reference, for the
 * dispatcher's `DispatchQueue`).
 */
import { Channel, PartnerSettings, Streams, Template } from "@mm-gateway/domain"
import {
  type ChannelDispatchView,
  type ChannelView,
  clampLimit,
  type ConfigurationQueries,
  decodeCursor,
  pageOf,
  ReadViews,
  type TemplateView
} from "@mm-gateway/ports"
import type { Context } from "effect"
import { type Database, type Session, statements } from "../connection.js"
import { type Projection, replaceOnConflict, Rows, writeRows } from "../projection.js"

type RegisteredChannel = Extract<Channel.ChannelState, { _tag: "Registered" }>

interface ChannelRow {
  readonly phone_number_id: string
  readonly version: number
  readonly waba_id: string
  readonly registered_at: number
  readonly updated_at: number
  readonly state: RegisteredChannel
}

const CHANNEL_COLUMNS = ["phone_number_id", "version", "waba_id", "registered_at", "updated_at", "state"]

/**
 * Channels as registered (table `channels`). The state holds only the credentials *reference* (where
 * the encrypted secret lives, for the dispatcher); no secret ever reaches the log or this table.
 */
export const channelsProjection: Projection = {
  name: "channels",
  tables: ["channels"],
  apply: async (session, events) => {
    const own = events.filter((e) => Streams.categoryOf(e.streamId) === "Channel")
    if (own.length === 0) return
    const rows = new Rows<ChannelRow>(async (ids) =>
      (await session.query<ChannelRow & { registered_at: string; updated_at: string }>({
        name: "mmgw_channel_rows",
        text: `SELECT ${CHANNEL_COLUMNS.join(", ")} FROM channels WHERE phone_number_id = ANY($1::text[])`,
        values: [ids]
      })).map((r) => [r.phone_number_id, { ...r, registered_at: Number(r.registered_at), updated_at: Number(r.updated_at) }] as const)
    )
    await rows.prefetch(own.map((e) => (e.event as Channel.ChannelEvent).phoneNumberId))
    for (const stored of own) {
      const event = stored.event as Channel.ChannelEvent
      const row = await rows.get(event.phoneNumberId)
      if (row !== null && stored.version <= row.version) continue
      const after = Channel.evolve(row?.state ?? Channel.initialState(), event)
      if (after._tag !== "Registered") continue
      rows.set(event.phoneNumberId, {
        phone_number_id: event.phoneNumberId,
        version: stored.version,
        waba_id: after.config.wabaId,
        registered_at: row?.registered_at ?? event.at,
        updated_at: event.at,
        state: after
      })
    }
    await writeRows(
      session,
      { name: "mmgw_channel_write", table: "channels", upsert: replaceOnConflict(["phone_number_id"], CHANNEL_COLUMNS) },
      rows.changed() as unknown as ReadonlyArray<Record<string, unknown>>
    )
  }
}

/** The partner-wide routing setting (table `partner_settings`): one row, absent until first changed (readers use the domain's default). */
export const settingsProjection: Projection = {
  name: "partner_settings",
  tables: ["partner_settings"],
  apply: async (session, events) => {
    const own = events.filter((e) => Streams.categoryOf(e.streamId) === "PartnerSettings")
    if (own.length === 0) return
    const [current] = await session.query<{ version: number; state: PartnerSettings.PartnerSettingsState }>({
      name: "mmgw_settings_row",
      text: "SELECT version, state FROM partner_settings WHERE id = 1"
    })
    let row: { id: 1; version: number; updated_at: number; state: PartnerSettings.PartnerSettingsState } | null = null
    let version = current?.version ?? 0
    let state = current?.state ?? PartnerSettings.initialState()
    for (const stored of own) {
      if (stored.version <= version) continue
      const event = stored.event as PartnerSettings.PartnerSettingsEvent
      state = PartnerSettings.evolve(state, event)
      version = stored.version
      row = { id: 1, version, updated_at: event.at, state }
    }
    if (row === null) return
    await writeRows(session, {
      name: "mmgw_settings_write",
      table: "partner_settings",
      upsert: replaceOnConflict(["id"], ["id", "version", "updated_at", "state"])
    }, [row])
  }
}

interface TemplateRow {
  readonly waba_id: string
  readonly name: string
  readonly language: string
  readonly version: number
  readonly status_reason: string | null
  readonly updated_at: number
  readonly state: Template.TemplateState
}

const TEMPLATE_COLUMNS = ["waba_id", "name", "language", "version", "status_reason", "updated_at", "state"]

const templateKey = (wabaId: string, name: string, language: string) => JSON.stringify([wabaId, name, language])

/** Templates by WABA, name and language (table `templates`), with the reason of the last status change. */
export const templatesProjection: Projection = {
  name: "templates",
  tables: ["templates"],
  apply: async (session, events) => {
    const own = events.filter((e) => Streams.categoryOf(e.streamId) === "Template")
    if (own.length === 0) return
    const rows = new Rows<TemplateRow>(async (keys) => {
      const parsed = keys.map((k) => JSON.parse(k) as [string, string, string])
      const found = await session.query<TemplateRow & { updated_at: string }>({
        name: "mmgw_template_rows",
        text: `SELECT t.* FROM templates t JOIN unnest($1::text[], $2::text[], $3::text[]) AS k(waba_id, name, language)
               ON (t.waba_id, t.name, t.language) = (k.waba_id, k.name, k.language)`,
        values: [parsed.map((k) => k[0]), parsed.map((k) => k[1]), parsed.map((k) => k[2])]
      })
      return found.map((r) => [templateKey(r.waba_id, r.name, r.language), { ...r, updated_at: Number(r.updated_at) }] as const)
    })
    const keyOf = (e: Template.TemplateEvent) => templateKey(e.wabaId, e.name, e.language)
    await rows.prefetch(own.map((e) => keyOf(e.event as Template.TemplateEvent)))
    for (const stored of own) {
      const event = stored.event as Template.TemplateEvent
      const row = await rows.get(keyOf(event))
      if (row !== null && stored.version <= row.version) continue
      rows.set(keyOf(event), {
        waba_id: event.wabaId,
        name: event.name,
        language: event.language,
        version: stored.version,
        status_reason: ReadViews.templateStatusReason(row?.status_reason ?? null, event),
        updated_at: event.at,
        state: Template.evolve(row?.state ?? Template.initialState(), event)
      })
    }
    await writeRows(
      session,
      { name: "mmgw_template_write", table: "templates", upsert: replaceOnConflict(["waba_id", "name", "language"], TEMPLATE_COLUMNS) },
      rows.changed() as unknown as ReadonlyArray<Record<string, unknown>>
    )
  }
}

const channelView = (r: { state: RegisteredChannel; registered_at: string; updated_at: string }): ChannelView => ({
  phoneNumberId: r.state.config.phoneNumberId,
  wabaId: r.state.config.wabaId,
  displayPhoneNumber: r.state.config.displayPhoneNumber,
  provider: r.state.config.provider,
  routing: r.state.routing,
  throughputMps: r.state.config.throughputMps,
  registeredAt: Number(r.registered_at),
  updatedAt: Number(r.updated_at)
})

const readChannel = async (session: Session, id: string) =>
  (await session.query<{ state: RegisteredChannel; registered_at: string; updated_at: string }>({
    name: "mmgw_channel",
    text: "SELECT state, registered_at, updated_at FROM channels WHERE phone_number_id = $1",
    values: [id]
  }))[0]

/** A channel with its credentials reference, which only the dispatcher resolves. */
export const channelForDispatch = (db: Database, id: string) =>
  statements(db, async (session): Promise<ChannelDispatchView | null> => {
    const row = await readChannel(session, id)
    return row === undefined ? null : { ...channelView(row), credentialsRef: row.state.config.credentialsRef }
  })

const templateView = (r: TemplateRow & { updated_at: string | number }): TemplateView =>
  ReadViews.template({ wabaId: r.waba_id, name: r.name, language: r.language }, r.state, r.status_reason, Number(r.updated_at))

/** `ConfigurationQueries` on the `channels`, `partner_settings` and `templates` rows. */
export const makeConfigurationQueries = (db: Database): Context.Tag.Service<ConfigurationQueries> => ({
  channel: (id) =>
    statements(db, async (session) => {
      const row = await readChannel(session, id)
      return row === undefined ? null : channelView(row)
    }),
  routingSettings: () =>
    statements(db, async (session) => {
      const [row] = await session.query<{ state: PartnerSettings.PartnerSettingsState }>({
        name: "mmgw_settings",
        text: "SELECT state FROM partner_settings WHERE id = 1"
      })
      return row === undefined
        ? PartnerSettings.DEFAULT_ROUTING_SETTINGS
        : { marketingViaMmApi: row.state.marketingViaMmApi, ttlOnCloudFallback: row.state.ttlOnCloudFallback }
    }),
  template: (wabaId, name, language) =>
    statements(db, async (session) => {
      const [row] = await session.query<TemplateRow>({
        name: "mmgw_template",
        text: "SELECT * FROM templates WHERE waba_id = $1 AND name = $2 AND language = $3",
        values: [wabaId, name, language]
      })
      return row === undefined ? null : templateView(row)
    }),
  listChannels: (options = {}) =>
    statements(db, async (session) => {
      const limit = clampLimit(options.limit)
      const after = decodeCursor<[string]>(options.cursor)?.[0] ?? ""
      const rows = await session.query<{ phone_number_id: string; state: RegisteredChannel; registered_at: string; updated_at: string }>({
        name: "mmgw_channels",
        text: `SELECT phone_number_id, state, registered_at, updated_at FROM channels WHERE phone_number_id > $1
          AND ($2::text[] IS NULL OR phone_number_id = ANY($3::text[])
            OR waba_id IN (SELECT id FROM wabas WHERE business_manager_id = ANY($2::text[])))
          ORDER BY phone_number_id LIMIT $4`,
        values: [String(after), options.scope?.businessManagerIds ?? null, options.scope?.channelIds ?? [], limit]
      })
      const page = pageOf(rows, limit, (r) => [r.phone_number_id])
      return { items: page.items.map(channelView), nextCursor: page.nextCursor }
    }),
  templates: (wabaId, options = {}) =>
    statements(db, async (session) => {
      const limit = clampLimit(options.limit)
      const [name, language] = decodeCursor<[string, string]>(options.cursor) ?? ["", ""]
      const rows = await session.query<TemplateRow>({
        name: "mmgw_templates",
        text: "SELECT * FROM templates WHERE waba_id = $1 AND (name, language) > ($2, $3) ORDER BY name, language LIMIT $4",
        values: [wabaId, String(name), String(language), limit]
      })
      const page = pageOf(rows, limit, (r) => [r.name, r.language])
      return { items: page.items.map(templateView), nextCursor: page.nextCursor }
    })
})
