import { useEffect, useRef, useState } from "preact/hooks"
import uPlot from "uplot"
import { count, meaningOf, percent, when } from "../format.js"
import { Empty, ErrorNote, usePoll, type ViewProps } from "../ui.js"

interface Funnel {
  readonly accepted: number
  readonly submitted: number
  readonly sent: number
  readonly delivered: number
  readonly read: number
  readonly clicked: number
}
interface Stats {
  readonly campaignId: string
  readonly funnel: Funnel
  readonly routed: { marketing_messages: number; cloud_api: number }
  readonly observedRoute: { marketing_messages: number; cloud_api: number; unknown: number }
  readonly failed: number
  readonly expired: number
  readonly dispatchUnknown: number
  readonly routeMismatch: number
  readonly failuresByCode: Readonly<Record<string, number>>
  readonly queued: number
}
interface CampaignSummary {
  readonly campaignId: string
  readonly firstAcceptedAt: string
  readonly lastAcceptedAt: string
  readonly funnel: Funnel
}

const STAGES = ["accepted", "submitted", "sent", "delivered", "read", "clicked"] as const
const COLORS = ["#1f4e8c", "#2a7bbf", "#2f8f6b", "#4c9a2a", "#8a6d00", "#a3426b"]

/** The funnel's curve over time while the page watches: one point per poll, a line per stage (uPlot). */
const Curve = ({ points }: { points: ReadonlyArray<{ at: number; funnel: Funnel }> }) => {
  const host = useRef<HTMLDivElement>(null)
  const chart = useRef<uPlot | null>(null)
  useEffect(() => {
    const el = host.current
    if (el === null) return
    const width = Math.max(280, Math.min(el.clientWidth || 640, 960))
    chart.current = new uPlot({
      width,
      height: 240,
      title: "Funnel over time",
      scales: { x: { time: true } },
      axes: [{}, { label: "messages" }],
      series: [{}, ...STAGES.map((stage, i) => ({ label: stage, stroke: COLORS[i]!, width: 2 }))]
    }, [[], ...STAGES.map(() => [])], el)
    return () => chart.current?.destroy()
  }, [])
  useEffect(() => {
    chart.current?.setData([points.map((p) => p.at / 1000), ...STAGES.map((s) => points.map((p) => p.funnel[s]))])
  }, [points])
  return <div ref={host} class="chart" role="img" aria-label="The funnel's counts over time, a line per stage" />
}

const FunnelBars = ({ funnel }: { funnel: Funnel }) => (
  <table class="funnel" aria-label="Funnel">
    <thead><tr><th scope="col">Stage</th><th scope="col">Messages</th><th scope="col">of accepted</th></tr></thead>
    <tbody>
      {STAGES.map((stage, i) => (
        <tr key={stage} data-stage={stage}>
          <th scope="row">{stage}</th>
          <td>
            <span class="bar" style={{ width: `${funnel.accepted === 0 ? 0 : (funnel[stage] / funnel.accepted) * 100}%`, background: COLORS[i] }} />
            <span class="value">{count(funnel[stage], "message")}</span>
          </td>
          <td>{percent(funnel[stage], funnel.accepted)}</td>
        </tr>
      ))}
    </tbody>
  </table>
)

const Campaign = ({ api, id }: ViewProps & { id: string }) => {
  const [points, setPoints] = useState<ReadonlyArray<{ at: number; funnel: Funnel }>>([])
  const stats = usePoll(async () => {
    const s = await api.get<Stats>(`/v1/campaigns/${encodeURIComponent(id)}/stats`)
    setPoints((p) => [...p.slice(-299), { at: Date.now(), funnel: s.funnel }])
    return s
  }, 2_000, [api, id])
  useEffect(() => setPoints([]), [id])
  const s = stats.data
  return (
    <article class="card" aria-labelledby="campaign-title" aria-live="polite" aria-busy={s === null}>
      <h3 id="campaign-title">Campaign {id}</h3>
      <p class="muted">Live: refreshed every 2 s while this page is open.</p>
      <ErrorNote error={stats.error} />
      {s === null ? <p role="status">Loading…</p> : (
        <>
          <FunnelBars funnel={s.funnel} />
          <Curve points={points} />
          <div class="grid">
            <div>
              <h4>Route: decided vs observed</h4>
              <table>
                <thead><tr><th scope="col">Route</th><th scope="col">Decided</th><th scope="col">Observed</th></tr></thead>
                <tbody>
                  <tr><th scope="row">MM API</th><td data-decided="marketing_messages">{count(s.routed.marketing_messages, "message")}</td><td>{count(s.observedRoute.marketing_messages, "message")}</td></tr>
                  <tr><th scope="row">Cloud API</th><td data-decided="cloud_api">{count(s.routed.cloud_api, "message")}</td><td>{count(s.observedRoute.cloud_api, "message")}</td></tr>
                  <tr><th scope="row">not yet known</th><td>—</td><td>{count(s.observedRoute.unknown, "message")}</td></tr>
                </tbody>
              </table>
              <p class={s.routeMismatch > 0 ? "warning" : undefined}>Route mismatches: {count(s.routeMismatch, "message")}</p>
            </div>
            <div>
              <h4>Outcomes</h4>
              <ul>
                <li>queued: {count(s.queued, "message")}</li>
                <li>failed: {count(s.failed, "message")}</li>
                <li>expired: {count(s.expired, "message")}</li>
                <li>dispatch unknown: {count(s.dispatchUnknown, "message")}</li>
              </ul>
            </div>
          </div>
          <h4>Failures by code</h4>
          {Object.keys(s.failuresByCode).length === 0 ? <Empty>No failure so far.</Empty> : (
            <table data-failures>
              <thead><tr><th scope="col">Code</th><th scope="col">Messages</th><th scope="col">Meaning</th></tr></thead>
              <tbody>
                {Object.entries(s.failuresByCode).sort((a, b) => b[1] - a[1]).map(([code, n]) => (
                  <tr key={code}><th scope="row">{code}</th><td>{count(n, "message")}</td><td>{meaningOf(code)}</td></tr>
                ))}
              </tbody>
            </table>
          )}
        </>
      )}
    </article>
  )
}

export const Campaigns = (props: ViewProps) => {
  const { api } = props
  const [selected, setSelected] = useState<string | null>(null)
  const list = usePoll(() => api.get<{ items: ReadonlyArray<CampaignSummary> }>("/v1/campaigns?limit=100"), 5_000, [api])
  const items = list.data?.items ?? []
  const current = selected ?? items[0]?.campaignId ?? null
  return (
    <section aria-labelledby="campaigns-title">
      <h2 id="campaigns-title" tabIndex={-1}>Campaigns</h2>
      <ErrorNote error={list.error} />
      {list.data === null ? <p role="status">Loading…</p> : items.length === 0 ? (
        <Empty>No campaign yet. Send with an <code>x-campaign-id</code> header (or a batch with <code>campaignId</code>) and it appears here.</Empty>
      ) : (
        <div class="split">
          <nav aria-label="Campaigns, newest first">
            <ul class="list">
              {items.map((c) => (
                <li key={c.campaignId}>
                  <button type="button" aria-pressed={c.campaignId === current} onClick={() => setSelected(c.campaignId)}>
                    <strong>{c.campaignId}</strong>
                    <span class="muted">started {when(c.firstAcceptedAt)} · {count(c.funnel.accepted, "message")}, {count(c.funnel.delivered, "delivered", "delivered")}</span>
                  </button>
                </li>
              ))}
            </ul>
          </nav>
          {current === null ? null : <Campaign key={current} {...props} id={current} />}
        </div>
      )}
    </section>
  )
}
