import { useState } from "preact/hooks"
import { count, formatNumber, when } from "../format.js"
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

interface Endpoint {
  readonly id: string
  readonly url: string
  readonly events: ReadonlyArray<string>
  readonly state: "active" | "paused"
  readonly paused: { at: string; reason: string } | null
  readonly failingSince: string | null
  readonly health: { pending: number; failed: number; lastDeliveredAt: string | null; lastError: string | null }
}
interface Delivery {
  readonly id: string
  readonly events: ReadonlyArray<string>
  readonly state: "pending" | "delivered" | "failed"
  readonly attempts: number
  readonly createdAt: string
  readonly lastStatus: number | null
  readonly lastError: string | null
  readonly deliveredAt: string | null
  readonly latencyMs: number | null
}

/** One endpoint of a tenant's app: its health, its recent deliveries, pause / resume and replay. */
const ForwardingEndpoint = ({ api, endpoint, onChanged }: ViewProps & { endpoint: Endpoint; onChanged: () => void }) => {
  const deliveries = usePoll(() => api.get<{ items: ReadonlyArray<Delivery> }>(`/v1/webhook-endpoints/${endpoint.id}/deliveries?limit=10`), 3_000, [api, endpoint.id])
  const action = useAction()
  const paused = endpoint.state === "paused"
  return (
    <li class="card" data-endpoint={endpoint.id}>
      <p>
        <strong>{endpoint.url}</strong> — {endpoint.events.join(", ")}
        <br />
        <span data-endpoint-state={endpoint.state} class={paused ? "warning" : undefined}>
          {paused ? `Paused ${when(endpoint.paused!.at)}: ${endpoint.paused!.reason}` : endpoint.failingSince === null ? "Active" : `Active, failing since ${when(endpoint.failingSince)}`}
        </span>
        <br />
        {count(endpoint.health.pending, "delivery", "deliveries")} pending, {`${formatNumber(endpoint.health.failed)} given up`}; last delivered {when(endpoint.health.lastDeliveredAt)}
        {endpoint.health.lastError === null ? null : <><br />Last error: {endpoint.health.lastError}</>}
      </p>
      <button type="button" disabled={action.busy} onClick={() => void action.run(async () => {
        await api.send("PATCH", `/v1/webhook-endpoints/${endpoint.id}`, { state: paused ? "active" : "paused" })
        onChanged()
        return paused ? "Resumed: what waited is due now" : "Paused: deliveries wait until it is resumed"
      })}>{paused ? "Resume" : "Pause"} {endpoint.url}</button>
      <Outcome message={action.message} failed={action.failed} />
      <ErrorNote error={deliveries.error} />
      {deliveries.data == null ? null : deliveries.data.items.length === 0 ? (
        <Empty>No delivery yet: the next webhook of this tenant's WABAs is forwarded here.</Empty>
      ) : (
        <div class="scroll">
          <table aria-label={`Recent deliveries to ${endpoint.url}`}>
            <thead><tr><th scope="col">Delivery</th><th scope="col">Events</th><th scope="col">State</th><th scope="col">Attempts</th><th scope="col">Last answer</th><th scope="col">Latency</th><th scope="col">Replay</th></tr></thead>
            <tbody>
              {deliveries.data.items.map((d) => (
                <tr key={d.id} data-delivery={d.id}>
                  <th scope="row"><code>{d.id}</code><br /><span class="muted">{when(d.createdAt)}</span></th>
                  <td>{d.events.join(", ")}</td>
                  <td data-delivery-state={d.state}>{d.state}</td>
                  <td>{d.attempts}</td>
                  <td>{d.lastStatus === null ? d.lastError ?? "—" : `HTTP ${d.lastStatus}`}</td>
                  <td>{d.latencyMs === null ? "—" : `${formatNumber(d.latencyMs)} ms`}</td>
                  <td>{d.state === "pending" ? "—" : (
                    <button type="button" onClick={() => void action.run(async () => {
                      const { replayed } = await api.send<{ replayed: number }>("POST", `/v1/webhook-endpoints/${endpoint.id}/replay`, { deliveryId: d.id })
                      deliveries.reload()
                      return replayed === 1 ? `${d.id} is due again` : `${d.id} was already pending`
                    })}>Replay {d.id}</button>
                  )}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </li>
  )
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
  const endpoints = usePoll(() => api.get<{ items: ReadonlyArray<Endpoint> }>("/v1/webhook-endpoints?limit=100"), 3_000, [api])
  return (
    <section aria-labelledby="operations-title">
      <h2 id="operations-title" tabIndex={-1}>Operations</h2>
      <article class="card" aria-labelledby="backlog-title">
        <h3 id="backlog-title">Inbox backlog</h3>
        <ErrorNote error={backlog.error} />
        <p data-backlog>{backlog.data === null ? "—" : `${count(backlog.data, "webhook delivery", "webhook deliveries")} stored and not yet processed`}</p>
      </article>
      <article class="card" aria-labelledby="forwarding-title">
        <h3 id="forwarding-title">Forwarding endpoints</h3>
        <ErrorNote error={endpoints.error} />
        {endpoints.data == null ? <p role="status">Loading…</p> : endpoints.data.items.length === 0 ? (
          <Empty>No endpoint: a tenant's app registers one with <code>POST /v1/webhook-endpoints</code> to receive its webhooks (docs/forwarding.md).</Empty>
        ) : <ul class="plain">{endpoints.data.items.map((e) => <ForwardingEndpoint key={e.id} {...props} endpoint={e} onChanged={endpoints.reload} />)}</ul>}
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
