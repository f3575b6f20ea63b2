import { CommandHandler, type EventStore, StatusReports, UnitOfWork } from "@mm-gateway/domain"
import { type InboxEntry, WebhookEndpoints, WebhookInbox } from "@mm-gateway/ports"
import { decodeWebhook, quarantineReason, type WebhookDecoding } from "@mm-gateway/webhook-adapter"
import { Cause, Clock, Effect, Exit } from "effect"
import { type ForwardingRequirements, forwardWebhook } from "./forwarder.js"
import type { WorkerStats } from "./stats.js"

export type InboxRequirements =
  | WebhookInbox
  | EventStore.EventStore
  | StatusReports.StatusMatching
  | UnitOfWork.UnitOfWork
  | ForwardingRequirements

/** What applying one body did; `refused` lists facts the domain would not take (they send the body to quarantine). */
interface Applied {
  readonly statuses: number
  readonly parked: number
  readonly facts: number
  readonly forwarded: number
  readonly refused: ReadonlyArray<string>
}

/**
 * Every command of one decoded body, applied in the caller's transaction, and its deliveries to the
 * tenants' endpoints written there too (when any endpoint is registered).
 */
const applyDecoding = (d: Decoded, forwarding: { readonly retryForMs: number } | null) =>
  Effect.gen(function*() {
    const { decoding } = d
    const receivedAt = d.entry.receivedAt
    let statuses = 0
    let parked = 0
    let facts = 0
    const refused: Array<string> = []
    const commands = decoding.commands
    for (let i = 0; i < commands.length;) {
      const c = commands[i]!
      if (c._tag === "StreamFact") {
        const result = yield* Effect.either(CommandHandler.handleStreamCommand(c))
        if (result._tag === "Left") refused.push(`${c.path}: ${c.stream} refused it (${result.left._tag})`)
        else facts += result.right.events.length
        i++
        continue
      }
      // A run of statuses (a status webhook is nothing else) is recorded together.
      const run: Array<typeof c> = []
      for (let next = commands[i]; next !== undefined && next._tag !== "StreamFact" && run.length < STATUSES_TOGETHER; next = commands[++i]) run.push(next)
      const outcomes = yield* StatusReports.recordStatusReports(run, receivedAt)
      outcomes.forEach((result, k) => {
        if (result._tag === "Left") refused.push(`${run[k]!.path}: the message refused the status (${result.left._tag})`)
        else if (result.right._tag === "Parked") parked++
        else statuses += result.right.appended + result.right.unparked
      })
    }
    const forwarded = forwarding === null ? 0 : yield* forwardWebhook(d.entry, forwarding.retryForMs)
    return { statuses, parked, facts, forwarded, refused } satisfies Applied
  })

interface Decoded {
  readonly entry: InboxEntry
  readonly decoding: WebhookDecoding
}

/** Quarantine reason of a body, one line per problem: what could not be decoded, and what the domain refused. */
const reasonOf = (d: Decoded, applied: Applied): string | null => {
  const lines = [quarantineReason(d.decoding), ...applied.refused].filter((l): l is string => l !== null)
  return lines.length === 0 ? null : lines.join("\n")
}

/** At most this many statuses are recorded together (`recordStatusReports`): what they hold in memory at once stays small. */
export const STATUSES_TOGETHER = 50

/** At most this many commands per transaction, unless one body alone has more. */
export const MAX_COMMANDS_PER_TRANSACTION = 1_000

/** A body whose processing keeps failing (a defect, not a decoding problem) is quarantined after this many tries. */
export const MAX_PROCESSING_FAILURES = 3

export interface InboxSettings {
  readonly batchSize: number
  /** How long the deliveries of a webhook are attempted (docs/forwarding.md#delivery). */
  readonly forwardRetryForMs: number
  readonly pollIntervalMs: number
  /** Who claims the bodies (this worker's instance identity), and for how long a claim keeps them from the other workers. */
  readonly claimant: string
  readonly claimTtlMs: number
}

/**
 * The inbox processor: pending bodies, oldest first, claimed for this worker (several workers take
 * the inbox apart, docs/worker.md#many-workers), decoded (`decodeWebhook`) and applied in one
 * transaction per batch; then marked processed, or quarantined with the reason when something in
 * them could not be decoded or was refused (their good parts are applied: every command is
 * idempotent, so a replay after an upgrade is harmless). A crash between the commit and the marking
 * only makes another worker apply the same bodies again once the claim lapses, to no effect.
 */
export const makeInboxProcessor = (settings: InboxSettings, stats: WorkerStats) =>
  Effect.gen(function*() {
    const inbox = yield* WebhookInbox
    const { transact } = yield* UnitOfWork.UnitOfWork
    const endpoints = yield* WebhookEndpoints
    const failures = new Map<number, number>()
    /** Whether any endpoint is registered: when none is, a batch is not read for forwarding at all. */
    const forwardingNow = Effect.map(endpoints.list(1, null, null), (some) => (some.length > 0 ? { retryForMs: settings.forwardRetryForMs } : null))

    const settle = (d: Decoded, applied: Applied, now: number) =>
      Effect.gen(function*() {
        stats.webhooks.bodies++
        stats.webhooks.statuses += applied.statuses
        stats.webhooks.parked += applied.parked
        stats.webhooks.facts += applied.facts
        stats.forwarding.enqueued += applied.forwarded
        failures.delete(d.entry.id)
        const reason = reasonOf(d, applied)
        if (reason === null) return d.entry.id
        stats.webhooks.quarantined++
        yield* inbox.quarantine(d.entry.id, reason, now)
        // One problem per element of a JSON array: the record stays one line, and no value of the body
        // is in it (a reason names paths, expectations and kinds of values only).
        yield* Effect.logWarning(`webhook ${d.entry.id} (${d.entry.source}) quarantined`).pipe(
          Effect.annotateLogs("problems", reason.split("\n"))
        )
        return null
      })

    /** One body alone, after its batch failed: a body that keeps failing goes to quarantine, the others stay pending. */
    const processAlone = (d: Decoded) =>
      Effect.gen(function*() {
        const forwarding = yield* forwardingNow
        const exit = yield* Effect.exit(transact(applyDecoding(d, forwarding)))
        const now = yield* Clock.currentTimeMillis
        if (Exit.isSuccess(exit)) {
          const id = yield* settle(d, exit.value, now)
          if (id !== null) yield* inbox.markProcessed([id], now)
          return
        }
        const count = (failures.get(d.entry.id) ?? 0) + 1
        failures.set(d.entry.id, count)
        const why = Cause.pretty(exit.cause).split("\n")[0] ?? "unknown failure"
        yield* Effect.logError(`webhook ${d.entry.id}: processing failed (${count}/${MAX_PROCESSING_FAILURES}): ${why}`)
        if (count >= MAX_PROCESSING_FAILURES) {
          failures.delete(d.entry.id)
          stats.webhooks.quarantined++
          yield* inbox.quarantine(d.entry.id, `processing failed ${count} times: ${why}`, now)
        }
      })

    /** Bodies applied in one transaction; a big body (Meta batches up to 1000 items) gets one of its own. */
    const applyGroup = (decoded: ReadonlyArray<Decoded>) =>
      Effect.gen(function*() {
        const forwarding = yield* forwardingNow
        const exit = yield* Effect.exit(transact(Effect.forEach(decoded, (d) => applyDecoding(d, forwarding))))
        if (Exit.isFailure(exit)) {
          yield* Effect.forEach(decoded, processAlone, { discard: true })
          return
        }
        const now = yield* Clock.currentTimeMillis
        const processed: Array<number> = []
        for (let i = 0; i < decoded.length; i++) {
          const id = yield* settle(decoded[i]!, exit.value[i]!, now)
          if (id !== null) processed.push(id)
        }
        yield* inbox.markProcessed(processed, now)
      })

    const processBatch = (entries: ReadonlyArray<InboxEntry>) =>
      Effect.gen(function*() {
        // Transactions stay short (the api writes to the same file): a bounded number of commands each.
        // Each body is decoded when its group is formed, so at most a group's commands are held at once.
        let group: Array<Decoded> = []
        let commands = 0
        for (const entry of entries) {
          const d: Decoded = { entry, decoding: decodeWebhook(entry.body, entry.receivedAt) }
          if (group.length > 0 && commands + d.decoding.commands.length > MAX_COMMANDS_PER_TRANSACTION) {
            yield* applyGroup(group)
            group = []
            commands = 0
          }
          group.push(d)
          commands += d.decoding.commands.length
        }
        if (group.length > 0) yield* applyGroup(group)
      })

    /** Processes what is pending now; the number of bodies taken. */
    const tick = Effect.gen(function*() {
      const entries = yield* inbox.claimPending(settings.batchSize, settings.claimant, yield* Clock.currentTimeMillis, settings.claimTtlMs)
      if (entries.length > 0) yield* processBatch(entries)
      return entries.length
    })

    const loop = Effect.forever(
      Effect.flatMap(tick, (n) => (n < settings.batchSize ? Effect.sleep(settings.pollIntervalMs) : Effect.yieldNow()))
    )
    return { tick, loop }
  })
