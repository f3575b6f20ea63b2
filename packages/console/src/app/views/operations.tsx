import { useState } from "preact/hooks"
import { count, when } from "../format.js"
import { Empty, ErrorNote, Outcome, useAction, usePoll, type ViewProps } from "../ui.js"

interface InboxItem {
  readonly id: number
  readonly source: string
  readonly receivedAt: string
  readonly state: string
  readonly reason: string | null
  readonly body: string
  readonly bodyEncoding: "utf8" | "base64"
}
interface Worker {
  readonly instance: string
  readonly startedAt: string
  readonly lastHeartbeatAt: string
  readonly expiresAt: string
  readonly channels: ReadonlyArray<{ phoneNumberId: string; since: string }>
  readonly timers: { since: string } | null
  readonly inbox: { claimed: number }
}

/** The inbox backlog: the `mmgw_webhook_inbox_pending` gauge of `/metrics`. */
const backlogOf = (metrics: string): number | null => {
  const match = /^mmgw_webhook_inbox_pending (\d+)$/m.exec(metrics)
  return match === null ? null : Number(match[1])
}

const Quarantined = ({ api, item, onDone }: ViewProps & { item: InboxItem; onDone: (outcome: string) => void }) => {
  const action = useAction()
  return (
    <li class="card" data-inbox={item.id}>
      <p>
        <strong>#{item.id}</strong> from {item.source}, received <time dateTime={item.receivedAt}>{when(item.receivedAt)}</time>
        <br />Why: {item.reason ?? "—"}
      </p>
      {/* The body is shown as text (never parsed as HTML): Preact sets it as a text node. */}
      <pre class="body" tabIndex={0} aria-label={`Body of delivery ${item.id} (${item.bodyEncoding})`}>{item.body}</pre>
      <button type="button" disabled={action.busy} onClick={() => void action.run(async () => {
        const replayed = await api.send<InboxItem>("POST", `/v1/webhook-inbox/${item.id}/replay`)
        const outcome = `#${item.id} sent back to the worker (now ${replayed.state})`
        onDone(outcome)
        return outcome
      })}>Replay #{item.id}</button>
      <Outcome message={action.message} failed={action.failed} />
    </li>
  )
}

export const Operations = (props: ViewProps) => {
  const { api, admin } = props
  const backlog = usePoll(async () => backlogOf(await api.text("/metrics")), 3_000, [api])
  const inbox = usePoll(() => (admin ? api.get<{ items: ReadonlyArray<InboxItem> }>("/v1/webhook-inbox?state=quarantined&limit=100") : Promise.resolve(null)), 3_000, [api, admin])
  const [replayed, setReplayed] = useState<string | null>(null)
  const workers = usePoll(() => (admin ? api.get<{ workers: ReadonlyArray<Worker> }>("/v1/workers") : Promise.resolve(null)), 3_000, [api, admin])
  return (
    <section aria-labelledby="operations-title">
      <h2 id="operations-title" tabIndex={-1}>Operations</h2>
      <article class="card" aria-labelledby="backlog-title">
        <h3 id="backlog-title">Inbox backlog</h3>
        <ErrorNote error={backlog.error} />
        <p data-backlog>{backlog.data === null ? "—" : `${count(backlog.data, "webhook delivery", "webhook deliveries")} stored and not yet processed`}</p>
      </article>
      {!admin ? <Empty>Quarantined webhooks and workers are shown to the admin only: sign in with the admin token to see them.</Empty> : (
        <>
          <article class="card" aria-labelledby="quarantine-title">
            <h3 id="quarantine-title">Quarantined webhooks</h3>
            <ErrorNote error={inbox.error} />
            {replayed === null ? null : <p class="outcome" role="status" data-replayed>{replayed}</p>}
            {inbox.data == null ? <p role="status">Loading…</p> : inbox.data.items.length === 0 ? (
              <Empty>Nothing quarantined: every webhook was applied. A delivery the worker cannot apply lands here with its reason.</Empty>
            ) : <ul class="plain">{inbox.data.items.map((item) => <Quarantined key={item.id} {...props} item={item} onDone={(outcome) => {
              setReplayed(outcome)
              inbox.reload()
            }} />)}</ul>}
          </article>
          <article class="card" aria-labelledby="workers-title">
            <h3 id="workers-title">Workers</h3>
            <ErrorNote error={workers.error} />
            {workers.data == null ? <p role="status">Loading…</p> : workers.data.workers.length === 0 ? (
              <Empty>No live worker: start one (<code>pnpm start:worker</code>); until then nothing is sent and no webhook is applied.</Empty>
            ) : (
              <div class="scroll">
                <table>
                  <thead><tr><th scope="col">Instance</th><th scope="col">Last heartbeat</th><th scope="col">Channels</th><th scope="col">Timers</th><th scope="col">Inbox claimed</th></tr></thead>
                  <tbody>
                    {workers.data.workers.map((w) => (
                      <tr key={w.instance}>
                        <th scope="row">{w.instance}<br /><span class="muted">since {when(w.startedAt)}</span></th>
                        <td>{when(w.lastHeartbeatAt)}</td>
                        <td>{w.channels.length === 0 ? "none" : w.channels.map((c) => c.phoneNumberId).join(", ")}</td>
                        <td>{w.timers === null ? "no" : `since ${when(w.timers.since)}`}</td>
                        <td>{count(w.inbox.claimed, "delivery", "deliveries")}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
          </article>
        </>
      )}
    </section>
  )
}
