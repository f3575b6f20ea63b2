import { CommandHandler, type EventStore, type Ids, ProviderGateway, Streams, Template } from "@mm-gateway/domain"
import { type DispatchQueue, OnboardingQueries } from "@mm-gateway/ports"
import { Clock, Effect, Schema } from "effect"
import { makeReadSchedule, type MetaWabas } from "./meta-status-sync.js"
import type { WorkerStats } from "./stats.js"

export type TemplateSyncRequirements = DispatchQueue | OnboardingQueries | EventStore.EventStore | ProviderGateway.ProviderGateway

export interface TemplateSyncSettings {
  /** How often each WABA on a Meta channel has its template list read again (`MMGW_META_TEMPLATE_SYNC_INTERVAL`). */
  readonly intervalMs: number
}

const isCategory = Schema.is(Template.TemplateCategory)
// The template stream's key bounds (templates/template.ts): a longer name or language is not a template the gateway can keep.
const MAX_NAME = 512
const MAX_LANGUAGE = 32

/**
 * Reading the templates from Meta (docs/worker.md#templates-from-meta): for each WABA with a channel of
 * provider `meta`, every page of `GET /{WABA_ID}/message_templates`, with that channel's credentials.
 * A WABA is read when this worker has not read it yet (a WABA just registered, a worker just started),
 * when a sync was asked for since (`POST /v1/wabas/{id}/templates/sync`), and otherwise every
 * `intervalMs`. Each template is recorded (`RecordMetaTemplate`), which appends only what changed; the
 * read's time is when the worker asked, so a webhook of a change made while the list was on its way is
 * the newer fact. A category the gateway does not know is left out with a log (the template's status
 * and TTL are still recorded); a read that fails is logged with its reason (never a token), nothing of
 * it is recorded, and it is tried again on the schedule.
 *
 * The schedule is the status sync's (`makeReadSchedule`). A pass runs while the worker holds the timers
 * lease, so one worker reads.
 */
export const makeTemplateSync = (settings: TemplateSyncSettings, stats: WorkerStats) => {
  const schedule = makeReadSchedule(settings.intervalMs)

  const recordOne = (wabaId: string, listed: ProviderGateway.ListedTemplate, readAt: number) =>
    Effect.gen(function*() {
      const category = isCategory(listed.category) ? listed.category : null
      if (listed.category !== null && category === null) {
        yield* Effect.logWarning(`WABA ${wabaId}: template ${listed.name}/${listed.language} has a category the gateway does not know (${listed.category}); its category is left as it was`)
      }
      const at = yield* Clock.currentTimeMillis
      const handled = yield* Effect.either(CommandHandler.handleCommand(Streams.TemplateStream, Streams.streamId.template(wabaId, listed.name, listed.language), {
        _tag: "RecordMetaTemplate",
        wabaId: wabaId as Ids.WabaId,
        name: listed.name,
        language: listed.language,
        category,
        status: listed.status,
        ttlSeconds: listed.ttlSeconds,
        readAt,
        at
      }))
      return handled._tag === "Right" && handled.right.events.length > 0
    })

  const pass = (wabas: MetaWabas) => Effect.gen(function*() {
    const onboarding = yield* OnboardingQueries
    const gateway = yield* ProviderGateway.ProviderGateway
    for (const [wabaId, credentialsRef] of wabas) {
      const now = yield* Clock.currentTimeMillis
      const waba = yield* onboarding.waba(wabaId, now)
      if (waba === null) continue
      if (!schedule.due(wabaId, waba.templateSyncRequestedAt, now)) continue
      // The read's time: when it was asked for, before the request goes out.
      const readAt = now
      const read = yield* gateway.listTemplates({ provider: "meta", credentialsRef, wabaId })
      if (read._tag === "Failed") {
        stats.timers.templateReadsFailed++
        yield* Effect.logWarning(`WABA ${wabaId}: reading the template list from Meta failed (${read.reason}); tried again in ${settings.intervalMs} ms`)
        continue
      }
      stats.timers.templateReads++
      for (const why of read.skipped) yield* Effect.logWarning(`WABA ${wabaId}: a template in Meta's list was skipped (${why})`)
      let changed = 0
      for (const listed of read.templates) {
        if (listed.name.length > MAX_NAME || listed.language.length > MAX_LANGUAGE) {
          yield* Effect.logWarning(`WABA ${wabaId}: a template in Meta's list was skipped (its name or language is longer than the gateway keeps)`)
          continue
        }
        if (yield* recordOne(wabaId, listed, readAt)) changed++
      }
      if (changed > 0) yield* Effect.logInfo(`WABA ${wabaId}: ${changed} of ${read.templates.length} templates changed in Meta's list`)
    }
  })

  return { pass }
}
