import {
  BusinessManager,
  Channel,
  type EventStore,
  type Ids,
  Message,
  PartnerSettings,
  type Status,
  type StatusReports,
  Streams,
  Template,
  type UserAction,
  Waba
} from "@mm-gateway/domain"
import {
  type ChannelDispatchView,
  type ChannelView,
  clampLimit,
  type ClickQueries,
  type ClickView,
  type ConfigurationQueries,
  decodeCursor,
  type DispatchQueue,
  type MessageQueries,
  type OnboardingQueries,
  pageOf,
  ReadViews,
  type TenantScope
} from "@mm-gateway/ports"
import { type Context, Effect } from "effect"
import { after, byKey, Cell, type Journal, Table } from "./journal.js"

interface Versioned {
  /** The stream version the row reflects: an event at or below it was applied already. */
  readonly version: number
}
interface BusinessManagerRow extends Versioned {
  readonly state: BusinessManager.BusinessManagerState
  readonly invitationLink: string | null
}
interface WabaRow extends Versioned {
  readonly id: string
  readonly state: Waba.WabaState
}
interface ChannelRow extends Versioned {
  readonly state: Extract<Channel.ChannelState, { _tag: "Registered" }>
  readonly registeredAt: number
  readonly updatedAt: number
}
interface TemplateRow extends Versioned {
  readonly key: { readonly wabaId: string; readonly name: string; readonly language: string }
  readonly state: Template.TemplateState
  readonly statusReason: string | null
  readonly updatedAt: number
}
interface MessageRow extends Versioned {
  readonly message: Message.MessageRecord
}
interface ClickRow {
  readonly position: number
  readonly event: UserAction.UserActionEvent
}
interface AttributionRow {
  readonly clickId: string
  readonly messageId: string
  readonly position: number
}
interface ParkedRow extends StatusReports.ParkedStatus {
  readonly dedupeKey: string
}

/**
 * The read models in memory: each stream's state folded with the domain's own `evolve`, one row per
 * stream as the SQLite tables keep them, and every view derived with `ReadViews` when asked — so the
 * answers are SQLite's for the same facts (the contract suites check it). Every change goes through
 * the journal, so a unit of work that fails takes its projections back with its appends.
 */
export const makeReadSide = (journal: Journal) => {
  const businessManagers = new Table<string, BusinessManagerRow>(journal)
  const wabas = new Table<string, WabaRow>(journal)
  const channels = new Table<string, ChannelRow>(journal)
  const settings = new Cell<PartnerSettings.RoutingSettings | null>(journal, null)
  const templates = new Table<string, TemplateRow>(journal)
  const messages = new Table<string, MessageRow>(journal)
  const clicks = new Table<string, ClickRow>(journal)
  const attributions = new Table<string, AttributionRow>(journal)
  /** The dispatch starts, one per attempt (by `messageId:attempt`): what a worker taking a channel over counts. */
  const starts = new Table<string, { readonly channel: string; readonly at: number }>(journal)
  /** The last global position applied. */
  const checkpoint = new Cell(journal, 0)
  // Parked statuses are worker state, not a read model; they live beside it, in the same journal.
  const parked = new Table<number, ParkedRow>(journal)
  const parkedKeys = new Table<string, number>(journal)
  const nextParkedId = new Cell(journal, 1)

  const templateKey = (wabaId: string, name: string, language: string) => JSON.stringify([wabaId, name, language])

  const apply = (stored: EventStore.StoredEvent): void => {
    const event = stored.event
    switch (Streams.categoryOf(stored.streamId)) {
      case "BusinessManager": {
        const e = event as BusinessManager.BusinessManagerEvent
        const row = businessManagers.get(e.businessManagerId)
        if (row !== undefined && stored.version <= row.version) return
        const state = BusinessManager.evolve(row?.state ?? BusinessManager.initialState(), e)
        businessManagers.set(e.businessManagerId, {
          version: stored.version,
          state,
          invitationLink: ReadViews.invitationLink(row?.invitationLink ?? null, state, e)
        })
        return
      }
      case "Waba": {
        const e = event as Waba.WabaEvent
        const row = wabas.get(e.wabaId)
        if (row !== undefined && stored.version <= row.version) return
        wabas.set(e.wabaId, { id: e.wabaId, version: stored.version, state: Waba.evolve(row?.state ?? Waba.initialState(), e) })
        return
      }
      case "Channel": {
        const e = event as Channel.ChannelEvent
        const row = channels.get(e.phoneNumberId)
        if (row !== undefined && stored.version <= row.version) return
        const state = Channel.evolve(row?.state ?? Channel.initialState(), e)
        if (state._tag !== "Registered") return
        channels.set(e.phoneNumberId, { version: stored.version, state, registeredAt: row?.registeredAt ?? e.at, updatedAt: e.at })
        return
      }
      case "PartnerSettings":
        settings.set(PartnerSettings.evolve(settings.get() ?? PartnerSettings.initialState(), event as PartnerSettings.PartnerSettingsEvent))
        return
      case "Template": {
        const e = event as Template.TemplateEvent
        const key = templateKey(e.wabaId, e.name, e.language)
        const row = templates.get(key)
        if (row !== undefined && stored.version <= row.version) return
        templates.set(key, {
          version: stored.version,
          key: { wabaId: e.wabaId, name: e.name, language: e.language },
          state: Template.evolve(row?.state ?? Template.initialState(), e),
          statusReason: ReadViews.templateStatusReason(row?.statusReason ?? null, e),
          updatedAt: e.at
        })
        return
      }
      case "Message": {
        const e = event as Message.MessageEvent
        const row = messages.get(e.messageId)
        if (row !== undefined && stored.version <= row.version) return
        const before: Message.MessageState = row === undefined ? Message.initialState() : { _tag: "Requested", message: row.message }
        const state = Message.evolve(before, e)
        if (state._tag === "Requested") messages.set(e.messageId, { version: stored.version, message: state.message })
        if (e._tag === "DispatchStarted" && state._tag === "Requested") {
          starts.set(`${e.messageId}:${e.attempt}`, { channel: state.message.request.channel, at: e.at })
        }
        if (e._tag === "ClickAttributed") {
          const key = JSON.stringify([e.clickId, e.messageId])
          if (!attributions.has(key)) attributions.set(key, { clickId: e.clickId, messageId: e.messageId, position: stored.globalPosition })
        }
        return
      }
      case "UserAction":
        if (!clicks.has(stored.streamId)) clicks.set(stored.streamId, { position: stored.globalPosition, event: event as UserAction.UserActionEvent })
        return
    }
  }

  /** Applies events in log order (those at or before the checkpoint are skipped); how many it applied. */
  const project = (events: ReadonlyArray<EventStore.StoredEvent>): number => {
    let applied = 0
    for (const stored of events) {
      if (stored.globalPosition <= checkpoint.get()) continue
      apply(stored)
      checkpoint.set(stored.globalPosition)
      applied++
    }
    return applied
  }

  // ---- queries -----------------------------------------------------------------------------------

  const bmState = (id: string | null) => (id === null ? null : businessManagers.get(id)?.state ?? null)
  const wabaView = (row: WabaRow, now: number) => ReadViews.waba(row.id, row.state, bmState(row.state.businessManagerId), now)
  const sortedWabas = () => [...wabas.values()].sort(byKey((w) => [w.id]))
  const allMessages = () => [...messages.values()].map((r) => r.message)
  const channelView = (row: ChannelRow): ChannelView => ({
    phoneNumberId: row.state.config.phoneNumberId,
    wabaId: row.state.config.wabaId,
    displayPhoneNumber: row.state.config.displayPhoneNumber,
    provider: row.state.config.provider,
    routing: row.state.routing,
    throughputMps: row.state.config.throughputMps,
    registeredAt: row.registeredAt,
    updatedAt: row.updatedAt
  })
  /** Whether a scope sees a message: one of its channels, or a WABA of its Business Managers (no scope: the admin). */
  const seesMessage = (scope: TenantScope | null, m: Message.MessageRecord) => {
    if (scope === null || scope.channelIds.includes(m.request.channel)) return true
    const owner = wabas.get(m.request.wabaId)?.state.businessManagerId ?? null
    return owner !== null && scope.businessManagerIds.includes(owner)
  }
  const templateView = (row: TemplateRow) => ReadViews.template(row.key, row.state, row.statusReason, row.updatedAt)

  /** The earliest attribution of `clickId` to a message of `channel`: an attribution names no tenant on its own. */
  const attributedMessage = (clickId: string | null, channel: string): string | null => {
    if (clickId === null) return null
    let first: AttributionRow | null = null
    for (const a of attributions.values()) {
      if (a.clickId !== clickId || messages.get(a.messageId)?.message.request.channel !== channel) continue
      if (first === null || a.position < first.position) first = a
    }
    return first?.messageId ?? null
  }

  /** Every user action as the join of a view to its click reads it. */
  const actionKeys = () =>
    [...clicks.values()].map((c) => ({
      position: c.position,
      channel: c.event.channel as string,
      actionType: c.event.actionType,
      kind: c.event.kind,
      clickId: c.event.clickId,
      trackingToken: c.event.trackingToken,
      event: c.event
    }))

  /** The message a user action is tied to, and for a landing page view the click it joins (`ReadViews.joinedClick`). */
  const tieAction = (action: ReturnType<typeof actionKeys>[number], all: ReturnType<typeof actionKeys>) => {
    const joined = ReadViews.joinedClick(action, all)
    return { joined, messageId: attributedMessage(joined?.clickId ?? action.clickId, action.channel) }
  }

  const businessManagerView = (id: string, now: number) => {
    const row = businessManagers.get(id)
    if (row === undefined) return null
    return {
      id,
      name: row.state.name,
      mmApi: { termsSigned: row.state.termsSignedAt !== null, signedAt: row.state.termsSignedAt, invitedAt: row.state.invitedAt },
      invitationLink: row.invitationLink,
      metaRequest: ReadViews.metaRequest(row.state),
      wabas: sortedWabas().filter((w) => w.state.businessManagerId === id).map((w) => wabaView(w, now))
    }
  }

  const onboarding: Context.Tag.Service<OnboardingQueries> = {
    businessManager: (id, now) => Effect.sync(() => businessManagerView(id, now)),
    businessManagers: (options) =>
      Effect.sync(() => {
        const limit = clampLimit(options.limit)
        const from = decodeCursor<[string]>(options.cursor)?.[0] ?? ""
        const scope = options.businessManagerIds
        const items = [...businessManagers.keys()]
          .filter((id) => id > from && (scope === undefined || scope.includes(id)))
          .sort()
          .slice(0, limit)
          .flatMap((id) => businessManagerView(id, options.now) ?? [])
        return pageOf(items, limit, (b) => [b.id])
      }),
    waba: (id, now) =>
      Effect.sync(() => {
        const row = wabas.get(id)
        return row === undefined ? null : wabaView(row, now)
      }),
    wabas: (options) =>
      Effect.sync(() => {
        const limit = clampLimit(options.limit)
        const from = decodeCursor<[string]>(options.cursor)?.[0] ?? ""
        const scope = options.businessManagerIds
        const items = sortedWabas()
          .filter((w) => w.id > from)
          .filter((w) => scope === undefined || (w.state.businessManagerId !== null && scope.includes(w.state.businessManagerId)))
          .map((w) => wabaView(w, options.now))
          .filter((w) => options.status === undefined || w.mmApi.status === options.status)
          .slice(0, limit)
        return pageOf(items, limit, (w) => [w.id])
      })
  }

  const configuration: Context.Tag.Service<ConfigurationQueries> = {
    channel: (id) =>
      Effect.sync(() => {
        const row = channels.get(id)
        return row === undefined ? null : channelView(row)
      }),
    routingSettings: () =>
      Effect.sync(() => {
        const state = settings.get()
        return state === null
          ? PartnerSettings.DEFAULT_ROUTING_SETTINGS
          : { marketingViaMmApi: state.marketingViaMmApi, ttlOnCloudFallback: state.ttlOnCloudFallback }
      }),
    template: (wabaId, name, language) =>
      Effect.sync(() => {
        const row = templates.get(templateKey(wabaId, name, language))
        return row === undefined ? null : templateView(row)
      }),
    listChannels: (options = {}) =>
      Effect.sync(() => {
        const limit = clampLimit(options.limit)
        const from = decodeCursor<[string]>(options.cursor)?.[0] ?? ""
        const scope = options.scope ?? null
        const sees = (row: ChannelRow) => {
          if (scope === null || scope.channelIds.includes(row.state.config.phoneNumberId)) return true
          const owner = wabas.get(row.state.config.wabaId)?.state.businessManagerId ?? null
          return owner !== null && scope.businessManagerIds.includes(owner)
        }
        const items = [...channels.values()]
          .filter((row) => row.state.config.phoneNumberId > from && sees(row))
          .sort(byKey((row) => [row.state.config.phoneNumberId]))
          .slice(0, limit)
          .map(channelView)
        return pageOf(items, limit, (c) => [c.phoneNumberId])
      }),
    templates: (wabaId, options = {}) =>
      Effect.sync(() => {
        const limit = clampLimit(options.limit)
        const from = decodeCursor<[string, string]>(options.cursor) ?? ["", ""]
        const items = [...templates.values()]
          .filter((t) => t.key.wabaId === wabaId && after([t.key.name, t.key.language], from))
          .sort(byKey((t) => [t.key.name, t.key.language]))
          .slice(0, limit)
          .map(templateView)
        return pageOf(items, limit, (t) => [t.name, t.language])
      })
  }

  const messageQueries: Context.Tag.Service<MessageQueries> = {
    message: (id) =>
      Effect.sync(() => {
        const row = messages.get(id)
        return row === undefined ? null : ReadViews.messageResource(row.message)
      }),
    messagesByWamid: (wamid) =>
      Effect.sync(() =>
        allMessages().filter((m) => m.wamid === wamid).sort(byKey((m) => [m.request.messageId])).map((m) => ReadViews.messageResource(m))
      ),
    campaignStats: (campaignId, scope = null) =>
      Effect.sync(() => {
        const all = actionKeys()
        const viewed = new Set(all.filter((a) => a.actionType === ReadViews.LANDING_PAGE_VIEW).flatMap((a) => {
          const id = tieAction(a, all).messageId
          return id === null ? [] : [id]
        }))
        return ReadViews.campaignStats(campaignId, allMessages().filter((m) => m.request.campaignId === campaignId && seesMessage(scope, m)), viewed)
      }),
    campaigns: (options = {}) =>
      Effect.sync(() => {
        const limit = clampLimit(options.limit)
        const before = decodeCursor<[number, string]>(options.cursor)
        const byCampaign = new Map<string, { messages: number; first: number; last: number }>()
        for (const m of allMessages()) {
          const id = m.request.campaignId
          if (id === null || !seesMessage(options.scope ?? null, m)) continue
          const c = byCampaign.get(id) ?? { messages: 0, first: m.request.at, last: m.request.at }
          byCampaign.set(id, { messages: c.messages + 1, first: Math.min(c.first, m.request.at), last: Math.max(c.last, m.request.at) })
        }
        const items = [...byCampaign.entries()]
          .map(([campaignId, c]) => ({ campaignId, messages: c.messages, firstAcceptedAt: c.first, lastAcceptedAt: c.last }))
          .filter((c) => before === null || after(before, [c.firstAcceptedAt, c.campaignId]))
          .sort(byKey((c) => [c.firstAcceptedAt, c.campaignId]))
          .reverse()
          .slice(0, limit)
        return pageOf(items, limit, (c) => [c.firstAcceptedAt, c.campaignId])
      }),
    messagesByRecipient: (recipient, options = {}) =>
      Effect.sync(() => {
        const limit = clampLimit(options.limit)
        const before = decodeCursor<[number, string]>(options.cursor)
        const items = allMessages()
          .filter((m) => m.request.to === recipient && seesMessage(options.scope ?? null, m))
          .filter((m) => before === null || after(before, [m.request.at, m.request.messageId]))
          .sort(byKey((m) => [m.request.at, m.request.messageId]))
          .reverse()
          .slice(0, limit)
          .map((m) => ReadViews.messageResource(m))
        return pageOf(items, limit, (m) => [m.timestamps.acceptedAt, m.id])
      })
  }

  const clickQueries: Context.Tag.Service<ClickQueries> = {
    clickAttribution: (clickId, channel) => Effect.sync(() => attributedMessage(clickId, channel)),
    clickChannels: (clickId) =>
      Effect.sync(() => [...new Set([...clicks.values()].filter((c) => c.event.clickId === clickId).map((c) => c.event.channel as string))].sort()),
    clicks: (channel, options = {}) =>
      Effect.sync(() => {
        const limit = clampLimit(options.limit)
        const from = decodeCursor<[number]>(options.cursor)?.[0] ?? 0
        const all = actionKeys()
        const rows = all
          .filter((c) => c.channel === channel && c.position > from)
          .sort(byKey((c) => [c.position]))
          .slice(0, limit)
        const page = pageOf(rows, limit, (c) => [c.position])
        return {
          items: page.items.map((action): ClickView => {
            const e = action.event
            const { joined, messageId } = tieAction(action, all)
            return {
              actionType: e.actionType,
              kind: e.kind,
              clickId: e.clickId,
              trackingToken: e.trackingToken,
              component: e.component,
              productId: e.productId,
              occurredAt: e.occurredAt,
              messageId,
              joinedClick: joined === null
                ? null
                : { clickId: joined.clickId, trackingToken: joined.trackingToken, occurredAt: joined.event.occurredAt }
            }
          }),
          nextCursor: page.nextCursor
        }
      })
  }

  const dispatchQueue: Context.Tag.Service<DispatchQueue> = {
    dispatchable: (now, limit, from = null, only) =>
      Effect.sync(() => {
        const start = [from?.acceptedAt ?? -1, from?.id ?? ""]
        return allMessages()
          .filter((m) => m.phase._tag === "Ready" && (m.phase.notBefore === null || m.phase.notBefore <= now))
          .filter((m) => only === undefined || only.includes(m.request.channel))
          .filter((m) => after([m.request.at, m.request.messageId], start))
          .sort(byKey((m) => [m.request.at, m.request.messageId]))
          .slice(0, Math.max(0, Math.floor(limit)))
          .map(ReadViews.messageWork)
      }),
    channelForDispatch: (id) =>
      Effect.sync((): ChannelDispatchView | null => {
        const row = channels.get(id)
        return row === undefined ? null : { ...channelView(row), credentialsRef: row.state.config.credentialsRef }
      }),
    channels: () => Effect.sync(() => [...channels.values()].map((row) => row.state.config.phoneNumberId as string).sort()),
    recentStarts: (channel, since) =>
      Effect.sync(() => [...starts.values()].filter((s) => s.channel === channel && s.at >= since).map((s) => s.at).sort((a, b) => a - b)),
    inDispatchPhase: (phase, options = {}) =>
      Effect.sync(() => {
        const limit = clampLimit(options.limit)
        const from = decodeCursor<[string]>(options.cursor)?.[0] ?? ""
        const items = allMessages()
          .filter((m) => m.phase._tag === phase && m.request.messageId > from)
          .sort(byKey((m) => [m.request.messageId]))
          .slice(0, limit)
          .map(ReadViews.messageWork)
        return pageOf(items, limit, (w) => [w.id])
      }),
    expiryDue: (now, limit) =>
      Effect.sync(() =>
        allMessages()
          .flatMap((m) => {
            const deadline = Message.expiryDeadline(m)
            const status = Message.viewOf(m).status
            return deadline !== null && deadline <= now && (status === "submitted" || status === "sent") ? [{ m, deadline }] : []
          })
          .sort(byKey(({ deadline, m }) => [deadline, m.request.messageId]))
          .slice(0, Math.max(0, Math.floor(limit)))
          .map(({ m }) => ReadViews.messageWork(m))
      ),
    messagesToRecipient: (channel, recipient, from, to) =>
      Effect.sync(() =>
        allMessages()
          .filter((m) => m.request.channel === channel && m.request.to === recipient && m.request.at >= from && m.request.at <= to)
          .sort(byKey((m) => [m.request.at, m.request.messageId]))
          .map((m) => ReadViews.messageResource(m))
      )
  }

  const candidate = (m: Message.MessageRecord): StatusReports.MessageCandidate => ({ messageId: m.request.messageId as Ids.MessageId, channel: m.request.channel, wamid: m.wamid })
  const parkedStatus = (p: ParkedRow): StatusReports.ParkedStatus => ({
    id: p.id,
    channel: p.channel,
    observation: p.observation,
    receivedAt: p.receivedAt,
    retryAt: p.retryAt
  })
  const MAY_HAVE_REACHED_THE_PROVIDER: ReadonlyArray<Message.DispatchPhase["_tag"]> = ["InFlight", "OutcomeUnknown", "DispatchUnknown"]

  const statusMatching: Context.Tag.Service<StatusReports.StatusMatching> = {
    byWamids: (wamids) =>
      Effect.sync(() => {
        const wanted = new Set(wamids)
        return allMessages().filter((m) => m.wamid !== null && wanted.has(m.wamid)).sort(byKey((m) => [m.request.messageId])).map(candidate)
      }),
    byId: (id) =>
      Effect.sync(() => {
        const row = messages.get(id)
        return row === undefined ? null : candidate(row.message)
      }),
    awaitingWamid: (channel, recipient, from, to) =>
      Effect.sync(() =>
        allMessages()
          .filter((m) =>
            m.request.channel === channel && m.request.to === recipient && m.request.at >= from && m.request.at <= to && m.wamid === null &&
            MAY_HAVE_REACHED_THE_PROVIDER.includes(m.phase._tag)
          )
          .sort(byKey((m) => [m.request.at, m.request.messageId]))
          .map(candidate)
      ),
    park: (status) =>
      Effect.sync(() => {
        if (parkedKeys.has(status.dedupeKey)) return
        const id = nextParkedId.get()
        nextParkedId.set(id + 1)
        parkedKeys.set(status.dedupeKey, id)
        parked.set(id, {
          id,
          dedupeKey: status.dedupeKey,
          channel: status.channel,
          observation: status.observation as Status.StatusObservation,
          receivedAt: status.receivedAt,
          retryAt: status.retryAt
        })
      }),
    parkedFor: (wamids) =>
      Effect.sync(() => {
        const wanted = new Set<string>(wamids)
        return [...parked.values()].filter((p) => wanted.has(p.observation.wamid)).sort(byKey((p) => [p.id])).map(parkedStatus)
      }),
    dueParked: (now, limit) =>
      Effect.sync(() =>
        [...parked.values()]
          .filter((p) => p.retryAt !== null && p.retryAt <= now)
          .sort(byKey((p) => [p.retryAt!, p.id]))
          .slice(0, clampLimit(limit))
          .map(parkedStatus)
      ),
    retryParkedAt: (id, retryAt) =>
      Effect.sync(() => {
        const row = parked.get(id)
        if (row !== undefined) parked.set(id, { ...row, retryAt })
      }),
    dropParked: (receivedBefore) =>
      Effect.sync(() => {
        let dropped = 0
        for (const row of [...parked.values()]) {
          if (row.receivedAt >= receivedBefore) continue
          parked.delete(row.id)
          parkedKeys.delete(row.dedupeKey)
          dropped++
        }
        return dropped
      }),
    unpark: (ids) =>
      Effect.sync(() => {
        for (const id of ids) {
          const row = parked.get(id)
          if (row === undefined) continue
          parked.delete(id)
          parkedKeys.delete(row.dedupeKey)
        }
      })
  }

  return { project, checkpoint: () => checkpoint.get(), onboarding, configuration, messageQueries, clickQueries, dispatchQueue, statusMatching }
}
