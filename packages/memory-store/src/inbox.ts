import { type InboxEntry, pageOf, WebhookInbox, decodeCursor } from "@mm-gateway/ports"
import { type Context, Effect } from "effect"

/**
 * The webhook inbox in memory. Like SQLite's, it stands apart from the main store: a unit of work
 * neither waits for it nor takes back what it stored, so accepting a webhook never queues behind the
 * worker. Identical deliveries (same source, same bytes) are stored once.
 */
export const makeInbox = (): Context.Tag.Service<WebhookInbox> => {
  const entries: Array<InboxEntry> = []
  const bySourceAndBody = new Map<string, number>()
  // Ids are 1-based positions in `entries`.
  const entry = (id: number): InboxEntry | undefined => (Number.isInteger(id) && id >= 1 ? entries[id - 1] : undefined)
  const update = (id: number, change: Partial<InboxEntry>) => {
    entries[id - 1] = { ...entries[id - 1]!, ...change }
  }
  // The body is the caller's buffer: what is kept and handed out are copies.
  const copy = (e: InboxEntry): InboxEntry => ({ ...e, headers: { ...e.headers }, body: new Uint8Array(e.body) })

  return WebhookInbox.of({
    accept: (body, headers, source, receivedAt) =>
      Effect.sync(() => {
        const key = `${source}:${Buffer.from(body).toString("base64")}`
        const known = bySourceAndBody.get(key)
        if (known !== undefined) return { id: known, duplicate: true }
        const id = entries.length + 1
        entries.push({ id, source, receivedAt, headers: { ...headers }, body: new Uint8Array(body), state: "pending", reason: null, processedAt: null })
        bySourceAndBody.set(key, id)
        return { id, duplicate: false }
      }),
    claimPending: (limit) =>
      Effect.sync(() => entries.filter((e) => e.state === "pending").slice(0, Math.max(0, Math.floor(limit))).map(copy)),
    markProcessed: (ids, at) =>
      Effect.sync(() => {
        for (const id of ids) if (entry(id)?.state === "pending") update(id, { state: "processed", reason: null, processedAt: at })
      }),
    quarantine: (id, reason, at) =>
      Effect.sync(() => {
        if (entry(id)?.state === "pending") update(id, { state: "quarantined", reason, processedAt: at })
      }),
    listQuarantined: (limit, cursor) =>
      Effect.sync(() => {
        const from = decodeCursor<[number]>(cursor)?.[0] ?? 0
        const n = Math.max(1, Math.floor(limit))
        return pageOf(entries.filter((e) => e.state === "quarantined" && e.id > from).slice(0, n).map(copy), n, (e) => [e.id])
      }),
    replay: (id) =>
      Effect.sync(() => {
        if (entry(id)?.state !== "quarantined") return false
        update(id, { state: "pending", reason: null, processedAt: null })
        return true
      }),
    get: (id) =>
      Effect.sync(() => {
        const found = entry(id)
        return found === undefined ? null : copy(found)
      }),
    pendingCount: () => Effect.sync(() => entries.filter((e) => e.state === "pending").length)
  })
}
