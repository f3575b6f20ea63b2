import { type InboxEntry, pageOf, WebhookInbox, decodeCursor } from "@mm-gateway/ports"
import { type Context, Effect } from "effect"

/**
 * The webhook inbox in memory. Like SQLite's, it stands apart from the main store: a unit of work
 * neither waits for it nor takes back what it stored, so accepting a webhook never queues behind the
 * worker. Identical deliveries (same source, same bytes) are stored once.
 */
export const makeInbox = (): Context.Tag.Service<WebhookInbox> => {
  /** By id, in id order (ids only grow). */
  const entries = new Map<number, InboxEntry>()
  let lastId = 0
  /** Who holds each claimed entry, until when (by id). */
  const claimed = new Map<number, { readonly claimant: string; readonly until: number }>()
  const bySourceAndBody = new Map<string, number>()
  const entry = (id: number): InboxEntry | undefined => entries.get(id)
  const update = (id: number, change: Partial<InboxEntry>) => {
    entries.set(id, { ...entries.get(id)!, ...change })
  }
  const all = () => [...entries.values()]
  // The body is the caller's buffer: what is kept and handed out are copies.
  const copy = (e: InboxEntry): InboxEntry => ({ ...e, headers: { ...e.headers }, body: new Uint8Array(e.body) })

  return WebhookInbox.of({
    accept: (body, headers, source, receivedAt) =>
      Effect.sync(() => {
        const key = `${source}:${Buffer.from(body).toString("base64")}`
        const known = bySourceAndBody.get(key)
        if (known !== undefined) return { id: known, duplicate: true }
        const id = ++lastId
        entries.set(id, { id, source, receivedAt, headers: { ...headers }, body: new Uint8Array(body), state: "pending", reason: null, processedAt: null })
        bySourceAndBody.set(key, id)
        return { id, duplicate: false }
      }),
    claimPending: (limit, claimant, now, ttlMs) =>
      Effect.sync(() => {
        const free = (e: InboxEntry) => {
          const claim = claimed.get(e.id)
          return claim === undefined || claim.until <= now || claim.claimant === claimant
        }
        const taken = all().filter((e) => e.state === "pending" && free(e)).slice(0, Math.max(0, Math.floor(limit)))
        for (const e of taken) claimed.set(e.id, { claimant, until: now + ttlMs })
        return taken.map(copy)
      }),
    claims: (now) =>
      Effect.sync(() => {
        const counts = new Map<string, number>()
        for (const [id, claim] of claimed) {
          if (claim.until > now && entry(id)?.state === "pending") counts.set(claim.claimant, (counts.get(claim.claimant) ?? 0) + 1)
        }
        return [...counts].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([claimant, bodies]) => ({ claimant, bodies }))
      }),
    markProcessed: (ids, at) =>
      Effect.sync(() => {
        for (const id of ids) {
          if (entry(id)?.state !== "pending") continue
          update(id, { state: "processed", reason: null, processedAt: at })
          claimed.delete(id)
        }
      }),
    quarantine: (id, reason, at) =>
      Effect.sync(() => {
        if (entry(id)?.state !== "pending") return
        update(id, { state: "quarantined", reason, processedAt: at })
        claimed.delete(id)
      }),
    listQuarantined: (limit, cursor) =>
      Effect.sync(() => {
        const from = decodeCursor<[number]>(cursor)?.[0] ?? 0
        const n = Math.max(1, Math.floor(limit))
        return pageOf(all().filter((e) => e.state === "quarantined" && e.id > from).slice(0, n).map(copy), n, (e) => [e.id])
      }),
    replay: (id) =>
      Effect.sync(() => {
        if (entry(id)?.state !== "quarantined") return false
        update(id, { state: "pending", reason: null, processedAt: null })
        claimed.delete(id)
        return true
      }),
    get: (id) =>
      Effect.sync(() => {
        const found = entry(id)
        return found === undefined ? null : copy(found)
      }),
    pendingCount: () => Effect.sync(() => all().filter((e) => e.state === "pending").length),
    dropProcessed: (processedBefore, limit) =>
      Effect.sync(() => {
        const dropped = all()
          .filter((e) => e.state === "processed")
          .slice(0, Math.max(0, Math.floor(limit)))
          .filter((e) => e.processedAt !== null && e.processedAt < processedBefore)
        for (const e of dropped) {
          entries.delete(e.id)
          bySourceAndBody.delete(`${e.source}:${Buffer.from(e.body).toString("base64")}`)
        }
        return dropped.length
      })
  })
}
