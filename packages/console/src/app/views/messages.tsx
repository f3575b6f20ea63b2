import { useState } from "preact/hooks"
import { ApiError } from "../api.js"
import { meaningOf, when } from "../format.js"
import { Empty, ErrorNote, Outcome, StatusBadge, useAction, usePoll, type ViewProps } from "../ui.js"

interface Message {
  readonly id: string
  readonly channel: string
  readonly wabaId: string
  readonly to: string
  readonly campaignId: string | null
  readonly template: { name: string; language: string; category: string | null } | null
  readonly route: {
    decided: string
    reasons: ReadonlyArray<string>
    warnings: ReadonlyArray<string>
    observed: string | null
    rerouted: ReadonlyArray<{ from: string; to: string; reason: string }>
  }
  readonly status: string
  readonly wamid: string | null
  readonly timestamps: Readonly<Record<string, string | null>>
  readonly errors: ReadonlyArray<{ code: number; title: string | null; message: string | null; details: string | null }>
  readonly routeMismatch: boolean
}
interface Event {
  readonly position: number
  readonly type: string
  readonly data: unknown
  readonly recordedAt: string
}

type Kind = "id" | "wamid" | "to"

const lookUp = async (api: ViewProps["api"], kind: Kind, value: string): Promise<ReadonlyArray<Message>> => {
  if (kind === "id") {
    try {
      return [await api.get<Message>(`/v1/messages/${encodeURIComponent(value)}`)]
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) return []
      throw e
    }
  }
  return (await api.get<{ items: ReadonlyArray<Message> }>(`/v1/messages?${kind}=${encodeURIComponent(value)}&limit=50`)).items
}

const Detail = ({ api, admin, id }: ViewProps & { id: string }) => {
  const message = usePoll(() => api.get<Message>(`/v1/messages/${encodeURIComponent(id)}`), 3_000, [api, id])
  const events = usePoll(() => api.get<{ events: ReadonlyArray<Event> }>(`/v1/messages/${encodeURIComponent(id)}/events`), 3_000, [api, id])
  const action = useAction()
  const m = message.data
  if (m === null) return <><ErrorNote error={message.error} /><p role="status">Loading…</p></>
  return (
    <article class="card" aria-labelledby="message-title">
      <h3 id="message-title">Message {m.id} <StatusBadge status={m.status} /></h3>
      <dl class="facts">
        <div><dt>Channel</dt><dd>{m.channel} (WABA {m.wabaId})</dd></div>
        <div><dt>Recipient</dt><dd>{m.to}</dd></div>
        <div><dt>wamid</dt><dd>{m.wamid ?? "—"}</dd></div>
        <div><dt>Campaign</dt><dd>{m.campaignId ?? "—"}</dd></div>
        <div><dt>Template</dt><dd>{m.template === null ? "—" : `${m.template.name} (${m.template.language}, ${m.template.category ?? "category unknown"})`}</dd></div>
        <div><dt>Route decided</dt><dd data-route-decided>{m.route.decided}</dd></div>
        <div><dt>Route observed</dt><dd>{m.route.observed ?? "not yet known"}{m.routeMismatch ? <strong class="warning"> — mismatch</strong> : null}</dd></div>
        <div><dt>Reasons</dt><dd>{m.route.reasons.join(", ") || "—"}</dd></div>
        <div><dt>Warnings</dt><dd>{m.route.warnings.join(", ") || "none"}</dd></div>
        {m.route.rerouted.length === 0 ? null : <div><dt>Rerouted</dt><dd>{m.route.rerouted.map((r) => `${r.from} → ${r.to} (${r.reason})`).join("; ")}</dd></div>}
      </dl>
      <h4>Times</h4>
      <ul>{Object.entries(m.timestamps).filter(([, t]) => t !== null).map(([name, t]) => <li key={name}>{name.replace(/At$/, "")}: <time dateTime={t!}>{when(t)}</time></li>)}</ul>
      <h4>Errors</h4>
      {m.errors.length === 0 ? <Empty>No error reported.</Empty> : (
        <ul>{m.errors.map((e, i) => <li key={i}><strong>{e.code}</strong> {e.title ?? ""} — {meaningOf(String(e.code))}{e.details === null ? "" : ` (${e.details})`}</li>)}</ul>
      )}
      {m.status === "dispatch_unknown" ? (
        <div class="resolve" role="group" aria-label="Resolve a message whose dispatch outcome is unknown">
          <p>The gateway does not know whether the provider took this message. Check with the provider, then:</p>
          {admin ? (
            <>
              <button type="button" disabled={action.busy} onClick={() => void action.run(async () => {
                await api.send("POST", `/v1/messages/${encodeURIComponent(m.id)}/resolution`, { action: "resend" })
                message.reload()
                return "sent again"
              })}>Resend</button>{" "}
              <button type="button" disabled={action.busy} onClick={() => void action.run(async () => {
                await api.send("POST", `/v1/messages/${encodeURIComponent(m.id)}/resolution`, { action: "give_up" })
                message.reload()
                return "given up"
              })}>Give up</button>
              <Outcome message={action.message} failed={action.failed} />
            </>
          ) : <p class="muted">Only the admin resolves it.</p>}
        </div>
      ) : null}
      <h4>Timeline</h4>
      <ErrorNote error={events.error} />
      {events.data === null ? <p role="status">Loading…</p> : (
        <ol class="timeline">
          {events.data.events.map((e) => (
            <li key={e.position}>
              <time dateTime={e.recordedAt}>{when(e.recordedAt)}</time> <strong>{e.type}</strong>
              <details><summary>data</summary><pre>{JSON.stringify(e.data, null, 2)}</pre></details>
            </li>
          ))}
        </ol>
      )}
    </article>
  )
}

export const Messages = (props: ViewProps) => {
  const [kind, setKind] = useState<Kind>("id")
  const [value, setValue] = useState("")
  const [found, setFound] = useState<ReadonlyArray<Message> | null>(null)
  const [selected, setSelected] = useState<string | null>(null)
  const [error, setError] = useState<string | null>(null)
  return (
    <section aria-labelledby="messages-title">
      <h2 id="messages-title" tabIndex={-1}>Messages</h2>
      <form
        class="filters"
        role="search"
        onSubmit={(e) => {
          e.preventDefault()
          setError(null)
          lookUp(props.api, kind, value.trim()).then((messages) => {
            setFound(messages)
            setSelected(messages.length === 1 ? messages[0]!.id : null)
          }, (e: unknown) => setError(e instanceof Error ? e.message : String(e)))
        }}
      >
        <label>
          Look up by{" "}
          <select value={kind} onChange={(e) => setKind(e.currentTarget.value as Kind)}>
            <option value="id">message id</option>
            <option value="wamid">wamid</option>
            <option value="to">recipient</option>
          </select>
        </label>
        <label>
          Value <input required value={value} onInput={(e) => setValue(e.currentTarget.value)} placeholder={kind === "to" ? "digits, e.g. 4915112345678" : kind} />
        </label>
        <button type="submit">Look up</button>
      </form>
      <ErrorNote error={error} />
      {found === null ? <Empty>Enter a message id (from the send answer), a wamid or a recipient's number.</Empty> : found.length === 0 ? (
        <Empty>No message found. Check the value; a scoped key sees only its own channels' messages.</Empty>
      ) : found.length > 1 ? (
        <ul class="list">
          {found.map((m) => (
            <li key={m.id}><button type="button" aria-pressed={m.id === selected} onClick={() => setSelected(m.id)}>{m.id} <StatusBadge status={m.status} /> <span class="muted">{when(m.timestamps["acceptedAt"])}</span></button></li>
          ))}
        </ul>
      ) : null}
      {selected === null ? null : <Detail key={selected} {...props} id={selected} />}
    </section>
  )
}
