import type { Dispatch } from "@mm-gateway/domain"

/** What the worker did, counted since it started; the reporter logs the differences. */
export interface WorkerStats {
  dispatch: Record<Dispatch.Settlement["_tag"] | "NotStarted", number>
  webhooks: { bodies: number; statuses: number; parked: number; facts: number; quarantined: number }
  timers: { markedUnknown: number; expired: number; interrupted: number; unparked: number; parkedDropped: number; webhooksDropped: number; deliveriesDropped: number; metaReads: number; metaReadsFailed: number }
  forwarding: { enqueued: number; delivered: number; failed: number }
}

export const makeStats = (): WorkerStats => ({
  dispatch: { Submitted: 0, RetryLater: 0, Rerouted: 0, Failed: 0, OutcomeUnknown: 0, Superseded: 0, NotStarted: 0 },
  webhooks: { bodies: 0, statuses: 0, parked: 0, facts: 0, quarantined: 0 },
  timers: { markedUnknown: 0, expired: 0, interrupted: 0, unparked: 0, parkedDropped: 0, webhooksDropped: 0, deliveriesDropped: 0, metaReads: 0, metaReadsFailed: 0 },
  forwarding: { enqueued: 0, delivered: 0, failed: 0 }
})

const snapshot = (s: WorkerStats): WorkerStats => ({
  dispatch: { ...s.dispatch },
  webhooks: { ...s.webhooks },
  timers: { ...s.timers },
  forwarding: { ...s.forwarding }
})

const delta = <K extends string>(now: Record<K, number>, before: Record<K, number>): Record<K, number> => {
  const out = {} as Record<K, number>
  for (const key of Object.keys(now) as Array<K>) out[key] = now[key] - before[key]
  return out
}

const sum = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0)

const parts = (r: Record<string, number>) =>
  Object.entries(r).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`).join(", ")

/** A line saying what happened since `before`, or `null` when nothing did. */
export const reportSince = (stats: WorkerStats, before: WorkerStats): { readonly line: string | null; readonly next: WorkerStats } => {
  const now = snapshot(stats)
  const d = delta(now.dispatch, before.dispatch)
  const w = delta(now.webhooks, before.webhooks)
  const t = delta(now.timers, before.timers)
  const f = delta(now.forwarding, before.forwarding)
  const sections: Array<string> = []
  if (sum(d) > 0) sections.push(`dispatched ${sum(d) - d.NotStarted} (${parts(d)})`)
  if (sum(w) > 0) sections.push(`webhooks ${w.bodies} (${parts({ statuses: w.statuses, parked: w.parked, facts: w.facts, quarantined: w.quarantined })})`)
  if (sum(t) > 0) sections.push(`timers (${parts(t)})`)
  if (sum(f) > 0) sections.push(`forwarding (${parts({ enqueued: f.enqueued, delivered: f.delivered, "attempts failed": f.failed })})`)
  return { line: sections.length === 0 ? null : sections.join("; "), next: now }
}
