import { useState } from "preact/hooks"
import { when } from "../format.js"
import { Empty, ErrorNote, Outcome, StatusBadge, useAction, usePoll, type ViewProps } from "../ui.js"

interface Waba {
  readonly id: string
  readonly businessManagerId: string | null
  readonly name: string | null
  readonly mmApi: { status: string; since: string | null; source: string | null; reason: string | null; suspendedUntil: string | null }
}
interface BusinessManager {
  readonly id: string
  readonly name: string | null
  readonly mmApi: {
    termsSigned: boolean
    signedAt: string | null
    invitedAt: string | null
    metaRequest: { requestId: string | null; alreadyInvited: boolean; solutionId: string | null; requestedAt: string } | null
  }
  readonly wabas: ReadonlyArray<Waba>
}

/** A WABA that was eligible and is not now: suspended, or set back to not onboarded for a reason. */
const lostEligibility = (w: Waba) => w.mmApi.status === "suspended" || (w.mmApi.status === "not_onboarded" && w.mmApi.source !== null)

const ManualStatus = ({ api, waba, onDone }: ViewProps & { waba: Waba; onDone: () => void }) => {
  const [status, setStatus] = useState("onboarded")
  const [reason, setReason] = useState("")
  const action = useAction()
  const id = `manual-${waba.id}`
  return (
    <form
      class="inline-form"
      aria-label={`Set the MM API status of WABA ${waba.id} by hand`}
      onSubmit={(e) => {
        e.preventDefault()
        void action.run(async () => {
          await api.send("POST", `/v1/wabas/${waba.id}/mm-api-status`, { status, reason })
          onDone()
          return `set to ${status.replace(/_/g, " ")}`
        })
      }}
    >
      <label for={`${id}-status`}>Status</label>
      <select id={`${id}-status`} value={status} onChange={(e) => setStatus(e.currentTarget.value)}>
        <option value="onboarded">onboarded</option>
        <option value="not_onboarded">not onboarded</option>
        <option value="suspended">suspended</option>
      </select>
      <label for={`${id}-reason`}>Reason</label>
      <input id={`${id}-reason`} required maxLength={500} value={reason} onInput={(e) => setReason(e.currentTarget.value)} placeholder="e.g. confirmed in WhatsApp Manager" />
      <button type="submit" disabled={action.busy}>Confirm</button>
      <Outcome message={action.message} failed={action.failed} />
    </form>
  )
}

/** The latest request through Meta's Intent API, as Meta answered it. */
const metaRequestText = (r: NonNullable<BusinessManager["mmApi"]["metaRequest"]>) =>
  `${r.alreadyInvited ? "Meta: already invited" : `Meta request ${r.requestId ?? ""}`} ${when(r.requestedAt)}${r.solutionId === null ? "" : ` (solution ${r.solutionId})`}`

/** Meta's Intent API emails the portfolio's admins; a refusal or a missing token shows its reason. */
const MetaEmail = ({ api, bm, onDone }: ViewProps & { bm: BusinessManager; onDone: () => void }) => {
  const action = useAction()
  return (
    <div class="invitation meta-email">
      <button
        type="button"
        disabled={action.busy}
        onClick={() =>
          void action.run(async () => {
            const invitation = await api.send<{ metaRequest: { requestId: string | null; alreadyInvited: boolean } }>(
              "POST",
              `/v1/business-managers/${bm.id}/onboarding-invitations`,
              { via: "meta_email" }
            )
            onDone()
            return invitation.metaRequest.alreadyInvited
              ? "Meta says the business was already invited"
              : `Meta is emailing the admins (request ${invitation.metaRequest.requestId ?? ""})`
          })}
      >
        Ask Meta to email the admins
      </button>
      <Outcome message={action.message} failed={action.failed} />
    </div>
  )
}

const Invitation = ({ api, bm, onDone }: ViewProps & { bm: BusinessManager; onDone: () => void }) => {
  const [link, setLink] = useState<string | null>(null)
  const action = useAction()
  return (
    <div class="invitation">
      <button
        type="button"
        disabled={action.busy}
        onClick={() =>
          void action.run(async () => {
            const invitation = await api.send<{ link: string }>("POST", `/v1/business-managers/${bm.id}/onboarding-invitations`)
            setLink(invitation.link)
            onDone()
            try {
              await navigator.clipboard.writeText(invitation.link)
              return "invitation recorded, link copied"
            } catch {
              return "invitation recorded: copy the link below"
            }
          })}
      >
        Record an invitation and copy the onboarding link
      </button>
      <Outcome message={action.message} failed={action.failed} />
      {link === null ? null : (
        <label class="link">
          Onboarding link <input readOnly value={link} onFocus={(e) => e.currentTarget.select()} />
        </label>
      )}
    </div>
  )
}

export const Onboarding = (props: ViewProps) => {
  const { api, admin } = props
  const [status, setStatus] = useState("")
  const [search, setSearch] = useState("")
  const board = usePoll(async () => {
    const { items: bms } = await api.get<{ items: ReadonlyArray<BusinessManager> }>("/v1/business-managers?limit=500")
    return { wabas: bms.flatMap((bm) => bm.wabas), bms }
  }, 3_000, [api])
  const matches = (w: Waba) =>
    (status === "" || w.mmApi.status === status) &&
    (search === "" || `${w.id} ${w.name ?? ""} ${w.businessManagerId ?? ""}`.toLowerCase().includes(search.toLowerCase()))
  const recent = (board.data?.wabas ?? []).filter((w) => w.mmApi.since !== null)
    .sort((a, b) => (b.mmApi.since ?? "").localeCompare(a.mmApi.since ?? "")).slice(0, 8)
  return (
    <section aria-labelledby="onboarding-title">
      <h2 id="onboarding-title" tabIndex={-1}>Onboarding</h2>
      <ErrorNote error={board.error} />
      <div class="filters" role="search">
        <label>
          MM API status{" "}
          <select value={status} onChange={(e) => setStatus(e.currentTarget.value)}>
            <option value="">any</option>
            <option value="onboarded">onboarded</option>
            <option value="not_onboarded">not onboarded</option>
            <option value="suspended">suspended</option>
          </select>
        </label>
        <label>
          Find <input type="search" value={search} onInput={(e) => setSearch(e.currentTarget.value)} placeholder="WABA or Business Manager id, name" />
        </label>
      </div>
      {board.data === null ? <p role="status">Loading…</p> : board.data.bms.length === 0 ? (
        <Empty>
          No Business Manager yet. Register one with <code>PUT /v1/business-managers/&#123;id&#125;</code> and its WABAs with{" "}
          <code>PUT /v1/wabas/&#123;id&#125;</code>; they appear here.
        </Empty>
      ) : (
        <>
          <h3>Recent changes</h3>
          {recent.length === 0 ? <Empty>No WABA has changed its MM API status yet.</Empty> : (
            <ul class="changes">
              {recent.map((w) => (
                <li key={w.id} class={lostEligibility(w) ? "lost" : undefined}>
                  <time dateTime={w.mmApi.since ?? ""}>{when(w.mmApi.since)}</time> WABA {w.id} <StatusBadge status={w.mmApi.status} />
                  {lostEligibility(w) ? <strong> lost eligibility</strong> : null} {w.mmApi.reason ?? ""}
                </li>
              ))}
            </ul>
          )}
          {board.data.bms.map((bm) => {
            const wabas = bm.wabas.filter(matches)
            return (
              <article class="card" key={bm.id} aria-label={`Business Manager ${bm.id}`}>
                <header>
                  <h3>{bm.name ?? "Business Manager"} <span class="muted">{bm.id}</span></h3>
                  <p>
                    Terms {bm.mmApi.termsSigned ? `signed ${when(bm.mmApi.signedAt)}` : "not signed"} · invited {when(bm.mmApi.invitedAt)}
                    {bm.mmApi.metaRequest === null ? null : <> · <span class="meta-request">{metaRequestText(bm.mmApi.metaRequest)}</span></>}
                  </p>
                  <Invitation {...props} bm={bm} onDone={board.reload} />
                  <MetaEmail {...props} bm={bm} onDone={board.reload} />
                </header>
                {wabas.length === 0 ? (
                  <Empty>
                    {bm.wabas.length === 0
                      ? <>No WABA yet: register one with <code>PUT /v1/wabas/&#123;id&#125;</code>, or it appears with its first webhook.</>
                      : "No WABA matches the filters."}
                  </Empty>
                ) : (
                  <div class="scroll">
                    <table>
                      <thead>
                        <tr><th scope="col">WABA</th><th scope="col">MM API status</th><th scope="col">Source</th><th scope="col">Since</th><th scope="col">Reason</th>{admin ? <th scope="col">Manual confirmation</th> : null}</tr>
                      </thead>
                      <tbody>
                        {wabas.map((w) => (
                          <tr key={w.id} data-waba={w.id} class={lostEligibility(w) ? "lost" : undefined}>
                            <th scope="row">{w.id}<br /><span class="muted">{w.name ?? ""}</span></th>
                            <td><StatusBadge status={w.mmApi.status} /></td>
                            <td>{w.mmApi.source?.replace(/_/g, " ") ?? "—"}</td>
                            <td>{when(w.mmApi.since)}{w.mmApi.suspendedUntil === null ? null : <><br />until {when(w.mmApi.suspendedUntil)}</>}</td>
                            <td>{w.mmApi.reason ?? "—"}</td>
                            {admin ? <td><ManualStatus {...props} waba={w} onDone={board.reload} /></td> : null}
                          </tr>
                        ))}
                      </tbody>
                    </table>
                  </div>
                )}
              </article>
            )
          })}
        </>
      )}
    </section>
  )
}
