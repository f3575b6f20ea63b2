import { useEffect, useState } from "preact/hooks"
import { count, when } from "../format.js"
import { Empty, ErrorNote, Outcome, useAction, usePoll, type ViewProps } from "../ui.js"

interface Settings {
  readonly marketingViaMmApi: boolean
  readonly ttlOnCloudFallback: "warn" | "reject"
}
interface Channel {
  readonly phoneNumberId: string
  readonly wabaId: string
  readonly displayPhoneNumber: string
  readonly provider: string
  readonly routing: "inherit" | "marketing_messages" | "cloud_api"
  readonly throughputMps: number
  readonly updatedAt: string
}

/** The routing policy's rules in their order (docs/domain.md#routing-policy), as the reasons a message carries. */
const POLICY = [
  ["not_a_template, template_not_marketing, template_not_marketing_per_provider", "a non-template, a template that is not MARKETING, or one the provider refused as not marketing, never takes the MM API (refused with not_a_marketing_template when /marketing_messages was called)"],
  ["template_category_unknown", "an unknown category goes to the Cloud API from /messages; from /marketing_messages to the MM API with the warning template_category_unverified"],
  ["routing_disabled", "the partner setting above is off: marketing goes through the Cloud API"],
  ["channel_forced_cloud_api, channel_forced_marketing_messages", "a channel's override wins over the partner setting and the onboarding status"],
  ["waba_suspended (refused)", "a suspended WABA sends nothing"],
  ["waba_not_onboarded", "a WABA that has not signed the MM API terms goes through the Cloud API (refused with mm_api_not_available when the client asks for the MM API only)"],
  ["recipient_opted_out, recipient_marketing_cooldown (refused)", "no marketing to a recipient who opted out or is in a 131049 cooldown"],
  ["mm_api_eligible", "otherwise the MM API; a TTL on the Cloud API route warns (ttl_not_applied_on_cloud_api) or is refused (ttl_requires_mm_api), as the TTL policy says"]
] as const

interface Change {
  readonly at: string
  readonly by: string | null
  readonly what: string
}

/** Who changed the routing and when: the partner setting's changes and each channel's, newest first. */
const Changes = ({ api, channels, version }: ViewProps & { channels: ReadonlyArray<Channel>; version: number }) => {
  const changes = usePoll(async () => {
    const settings = await api.get<{ changes: ReadonlyArray<{ at: string; by: string | null } & Settings> }>("/v1/settings/routing/changes")
    const perChannel = await Promise.all(channels.slice(0, 50).map(async (c) => {
      const { changes } = await api.get<{ changes: ReadonlyArray<{ at: string; by: string | null; routing?: string; throughputMps?: number }> }>(
        `/v1/channels/${c.phoneNumberId}/changes`
      )
      return changes.map((x): Change => ({
        at: x.at,
        by: x.by,
        what: `${c.displayPhoneNumber}: ${[
          x.routing === undefined ? null : `routing ${x.routing.replace(/_/g, " ")}`,
          x.throughputMps === undefined ? null : `${x.throughputMps} msg/s`
        ].filter((p) => p !== null).join(", ")}`
      }))
    }))
    return [
      ...settings.changes.map((x): Change => ({
        at: x.at,
        by: x.by,
        what: `partner setting: marketing ${x.marketingViaMmApi ? "through the MM API" : "through the Cloud API"}, a TTL on the Cloud API ${x.ttlOnCloudFallback === "warn" ? "warns" : "is refused"}`
      })),
      ...perChannel.flat()
    ].sort((a, b) => b.at.localeCompare(a.at)).slice(0, 20)
  }, 0, [api, channels, version])
  return (
    <article class="card" aria-labelledby="changes-title">
      <h3 id="changes-title">Changes: who, when</h3>
      <ErrorNote error={changes.error} />
      {changes.data === null ? <p role="status">Loading…</p> : changes.data.length === 0 ? <Empty>No routing change yet.</Empty> : (
        <ol class="changes" data-changes>
          {changes.data.map((c, i) => (
            <li key={i}><time dateTime={c.at}>{when(c.at)}</time> · <strong>{c.by ?? "not recorded"}</strong> · {c.what}</li>
          ))}
        </ol>
      )}
    </article>
  )
}

const SettingsForm = ({ api, admin, onSaved }: ViewProps & { onSaved: () => void }) => {
  const loaded = usePoll(() => api.get<Settings>("/v1/settings/routing"), 0, [api])
  const [draft, setDraft] = useState<Settings | null>(null)
  useEffect(() => setDraft(loaded.data), [loaded.data])
  const action = useAction()
  if (draft === null) return <p role="status">Loading…</p>
  return (
    <form
      class="card"
      aria-labelledby="partner-setting"
      onSubmit={(e) => {
        e.preventDefault()
        void action.run(async () => {
          setDraft(await api.send<Settings>("PUT", "/v1/settings/routing", draft))
          onSaved()
          return "saved: the next message is routed by it"
        })
      }}
    >
      <h3 id="partner-setting">Partner setting</h3>
      <ErrorNote error={loaded.error} />
      <label class="check">
        <input type="checkbox" checked={draft.marketingViaMmApi} disabled={!admin} onChange={(e) => setDraft({ ...draft, marketingViaMmApi: e.currentTarget.checked })} />
        Send marketing templates through the MM API
      </label>
      <label>
        A TTL on a message that falls back to the Cloud API{" "}
        <select value={draft.ttlOnCloudFallback} disabled={!admin} onChange={(e) => setDraft({ ...draft, ttlOnCloudFallback: e.currentTarget.value as Settings["ttlOnCloudFallback"] })}>
          <option value="warn">sent, with a warning</option>
          <option value="reject">refused</option>
        </select>
      </label>
      {admin ? <button type="submit" disabled={action.busy}>Save partner setting</button> : <p class="muted">Only the admin changes the partner setting.</p>}
      <Outcome message={action.message} failed={action.failed} />
    </form>
  )
}

const ChannelRow = ({ api, channel, onDone }: ViewProps & { channel: Channel; onDone: () => void }) => {
  const [routing, setRouting] = useState(channel.routing)
  const [throughput, setThroughput] = useState(String(channel.throughputMps))
  const action = useAction()
  const id = `channel-${channel.phoneNumberId}`
  return (
    <tr data-channel={channel.phoneNumberId}>
      <th scope="row">{channel.displayPhoneNumber}<br /><span class="muted">{channel.phoneNumberId}</span></th>
      <td>{channel.wabaId}</td>
      <td>{channel.provider}</td>
      <td>
        <label class="visually-hidden" for={`${id}-routing`}>Routing of {channel.displayPhoneNumber}</label>
        <select id={`${id}-routing`} value={routing} onChange={(e) => setRouting(e.currentTarget.value as Channel["routing"])}>
          <option value="inherit">inherit (policy decides)</option>
          <option value="marketing_messages">always MM API</option>
          <option value="cloud_api">always Cloud API</option>
        </select>
      </td>
      <td>
        <label class="visually-hidden" for={`${id}-mps`}>Throughput of {channel.displayPhoneNumber} in messages per second</label>
        <input id={`${id}-mps`} type="number" min={1} max={1000} step={1} value={throughput} onInput={(e) => setThroughput(e.currentTarget.value)} /> msg/s
      </td>
      <td>{when(channel.updatedAt)}</td>
      <td>
        <button
          type="button"
          disabled={action.busy}
          onClick={() =>
            void action.run(async () => {
              await api.send("PATCH", `/v1/channels/${channel.phoneNumberId}`, { routing, throughputMps: Number(throughput) })
              onDone()
              return "saved"
            })}
        >
          Save {channel.displayPhoneNumber}
        </button>
        <Outcome message={action.message} failed={action.failed} />
      </td>
    </tr>
  )
}

export const Routing = (props: ViewProps) => {
  const { api } = props
  const channels = usePoll(() => api.get<{ items: ReadonlyArray<Channel> }>("/v1/channels?limit=500"), 0, [api])
  const [version, setVersion] = useState(0)
  const changed = () => setVersion((v) => v + 1)
  return (
    <section aria-labelledby="routing-title">
      <h2 id="routing-title" tabIndex={-1}>Routing</h2>
      <SettingsForm {...props} onSaved={changed} />
      <article class="card" aria-labelledby="channels-title">
        <h3 id="channels-title">Channels {channels.data === null ? null : <span class="muted">({count(channels.data.items.length, "channel")})</span>}</h3>
        <ErrorNote error={channels.error} />
        {channels.data === null ? <p role="status">Loading…</p> : channels.data.items.length === 0 ? (
          <Empty>No channel yet. Register a phone number with <code>PUT /v1/channels/&#123;phoneNumberId&#125;</code>.</Empty>
        ) : (
          <div class="scroll">
            <table>
              <thead><tr><th scope="col">Channel</th><th scope="col">WABA</th><th scope="col">Provider</th><th scope="col">Routing</th><th scope="col">Throughput</th><th scope="col">Changed</th><th scope="col"><span class="visually-hidden">Save</span></th></tr></thead>
              <tbody>{channels.data.items.map((c) => <ChannelRow key={c.phoneNumberId} {...props} channel={c} onDone={() => {
                channels.reload()
                changed()
              }} />)}</tbody>
            </table>
          </div>
        )}
      </article>
      {channels.data === null ? null : <Changes {...props} channels={channels.data.items} version={version} />}
      <article class="card" aria-labelledby="policy-title">
        <h3 id="policy-title">The reasons the policy gives</h3>
        <dl class="policy">{POLICY.map(([reason, text]) => <div key={reason}><dt><code>{reason}</code></dt><dd>{text}</dd></div>)}</dl>
      </article>
    </section>
  )
}
