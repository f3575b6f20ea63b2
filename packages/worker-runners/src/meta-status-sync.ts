import { CommandHandler, type EventStore, type Ids, ProviderGateway, Streams } from "@mm-gateway/domain"
import { DispatchQueue, OnboardingQueries } from "@mm-gateway/ports"
import { Clock, Effect } from "effect"
import type { WorkerStats } from "./stats.js"

export type MetaStatusSyncRequirements = DispatchQueue | OnboardingQueries | EventStore.EventStore | ProviderGateway.ProviderGateway

export interface MetaStatusSyncSettings {
  /** How often each WABA on a Meta channel has its status read again (`MMGW_META_STATUS_SYNC_INTERVAL`). */
  readonly intervalMs: number
}

/**
 * Reading the MM API onboarding status from Meta (docs/worker.md#onboarding-status-from-meta): for each
 * WABA with a channel of provider `meta`, `marketing_messages_onboarding_status` of the WABA and of its
 * business portfolio (the WABA's Business Manager), with that channel's credentials. A WABA is read
 * when this worker has not read it yet (a WABA just registered, or a worker just started), when a sync
 * was asked for since (`POST /v1/wabas/{id}/mm-api-status/sync`), and otherwise every `intervalMs`.
 * What changed is recorded on the WABA (`RecordMetaOnboardingStatus`); a read that fails is logged
 * with its reason (never a token) and tried again on the schedule.
 *
 * When a WABA was last tried is kept in memory: it paces the reads, it is not a fact. A pass runs while
 * the worker holds the timers lease, so one worker reads.
 */
/** The WABAs on a Meta channel, each with the credentials of its first such channel: what the reads from Meta go over. */
export type MetaWabas = ReadonlyMap<string, string>

/** The WABAs on a Meta channel (one scan of the channels serves the status sync and the template sync alike). */
export const metaWabas: Effect.Effect<MetaWabas, never, DispatchQueue> = Effect.gen(function*() {
  const queue = yield* DispatchQueue
  const wabas = new Map<string, string>()
  for (const id of yield* queue.channels()) {
    const channel = yield* queue.channelForDispatch(id)
    if (channel !== null && channel.provider === "meta" && !wabas.has(channel.wabaId)) wabas.set(channel.wabaId, channel.credentialsRef)
  }
  return wabas
})

/**
 * When each WABA is read from Meta again: when this worker has not read it yet, when a read was asked
 * for since (`requestedAt`), and otherwise every `intervalMs`. When a WABA was last tried is kept in
 * memory: it paces the reads, it is not a fact. `due` marks the WABA tried when it says yes.
 */
export const makeReadSchedule = (intervalMs: number) => {
  const lastTried = new Map<string, number>()
  return {
    due: (wabaId: string, requestedAt: number | null, now: number): boolean => {
      const tried = lastTried.get(wabaId)
      const due = tried === undefined || (requestedAt ?? 0) > tried || now - tried >= intervalMs
      if (due) lastTried.set(wabaId, now)
      return due
    }
  }
}

export const makeMetaStatusSync = (settings: MetaStatusSyncSettings, stats: WorkerStats) => {
  const schedule = makeReadSchedule(settings.intervalMs)

  const pass = (wabas: MetaWabas) => Effect.gen(function*() {
    const onboarding = yield* OnboardingQueries
    const gateway = yield* ProviderGateway.ProviderGateway
    for (const [wabaId, credentialsRef] of wabas) {
      const now = yield* Clock.currentTimeMillis
      const waba = yield* onboarding.waba(wabaId, now)
      if (waba === null) continue
      if (!schedule.due(wabaId, waba.metaSyncRequestedAt, now)) continue
      const read = yield* gateway.readOnboardingStatus({ provider: "meta", credentialsRef, wabaId, businessId: waba.businessManagerId })
      if (read._tag === "Failed") {
        stats.timers.metaReadsFailed++
        yield* Effect.logWarning(`WABA ${wabaId}: reading the MM API onboarding status from Meta failed (${read.reason}); tried again in ${settings.intervalMs} ms`)
        continue
      }
      stats.timers.metaReads++
      const readAt = yield* Clock.currentTimeMillis
      const handled = yield* Effect.either(CommandHandler.handleCommand(Streams.WabaStream, Streams.streamId.waba(wabaId), {
        _tag: "RecordMetaOnboardingStatus",
        wabaId: wabaId as Ids.WabaId,
        status: read.status,
        businessStatus: read.businessStatus,
        readAt,
        at: readAt
      }))
      if (handled._tag === "Right" && handled.right.events.length > 0) {
        yield* Effect.logInfo(`WABA ${wabaId}: Meta says ${read.status ?? "nothing"} (portfolio ${read.businessStatus ?? "not read"})`)
      }
    }
  })

  return { pass }
}
