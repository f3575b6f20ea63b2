/**
 * Business Managers and WABAs with their MM API status: the projection, its rows and the
 * `OnboardingQueries` that read them. One projection, because a WABA's status reads its Business
 * Manager's business-level terms.
 */
import { BusinessManager, type EventStore, Streams, Waba } from "@mm-gateway/domain"
import { type BusinessManagerView, clampLimit, decodeCursor, type OnboardingQueries, pageOf, ReadViews, type WabaView } from "@mm-gateway/ports"
import type { Context } from "effect"
import { type Database, type Session, statements } from "../connection.js"
import { num, type Projection, replaceOnConflict, Rows, writeRows } from "../projection.js"

interface BusinessManagerRow {
  readonly id: string
  readonly version: number
  readonly name: string | null
  readonly invited_at: number | null
  readonly invitation_link: string | null
  readonly terms_signed_at: number | null
  readonly state: BusinessManager.BusinessManagerState
}

interface WabaRow {
  readonly id: string
  readonly version: number
  readonly business_manager_id: string | null
  readonly name: string | null
  readonly mm_status: string
  readonly mm_since: number | null
  readonly mm_source: string | null
  readonly mm_reason: string | null
  readonly suspended_until: number | null
  readonly as_of: number
  readonly state: Waba.WabaState
}

const BUSINESS_MANAGER_COLUMNS = ["id", "version", "name", "invited_at", "invitation_link", "terms_signed_at", "state"]
const WABA_COLUMNS = ["id", "version", "business_manager_id", "name", "mm_status", "mm_since", "mm_source", "mm_reason", "suspended_until", "as_of", "state"]

const businessManagerRow = (
  id: string,
  version: number,
  state: BusinessManager.BusinessManagerState,
  invitationLink: string | null
): BusinessManagerRow => ({
  id,
  version,
  name: state.name,
  invited_at: state.invitedAt,
  invitation_link: invitationLink,
  terms_signed_at: state.termsSignedAt,
  state
})

/**
 * A WABA row. The MM status depends on time (a restriction's expiration), so the stored columns are
 * computed as of `asOf` — the time of the fact being projected, never the clock, so a rebuild gives the
 * same rows; readers recompute from the state with their own `now`.
 */
const wabaRow = (
  id: string,
  version: number,
  state: Waba.WabaState,
  businessManager: BusinessManager.BusinessManagerState | null,
  asOf: number
): WabaRow => {
  const status = Waba.mmApiStatus(state, businessManager, asOf)
  return {
    id,
    version,
    business_manager_id: state.businessManagerId,
    name: state.name,
    mm_status: status.status,
    mm_since: status.since,
    mm_source: status.source,
    mm_reason: status.reason,
    suspended_until: status.suspendedUntil,
    as_of: asOf,
    state
  }
}

const loadBusinessManagers = async (session: Session, ids: ReadonlyArray<string>) =>
  (await session.query<{ id: string; version: number; invitation_link: string | null; state: BusinessManager.BusinessManagerState }>({
    name: "mmgw_bm_rows",
    text: "SELECT id, version, invitation_link, state FROM business_managers WHERE id = ANY($1::text[])",
    values: [ids]
  })).map((r) => [r.id, businessManagerRow(r.id, r.version, r.state, r.invitation_link)] as const)

const loadWabas = async (session: Session, ids: ReadonlyArray<string>) =>
  (await session.query<WabaRow>({ name: "mmgw_waba_rows", text: "SELECT * FROM wabas WHERE id = ANY($1::text[])", values: [ids] }))
    .map((r) => [r.id, r] as const)

/** Business Managers and WABAs with their MM status (table `business_managers`, `wabas`). */
export const onboardingProjection: Projection = {
  name: "onboarding",
  tables: ["business_managers", "wabas"],
  apply: async (session, events) => {
    const own = events.filter((e) => {
      const category = Streams.categoryOf(e.streamId)
      return category === "BusinessManager" || category === "Waba"
    })
    if (own.length === 0) return
    const businessManagers = new Rows<BusinessManagerRow>((ids) => loadBusinessManagers(session, ids))
    const wabas = new Rows<WabaRow>((ids) => loadWabas(session, ids))
    const bmOf = async (id: string | null) => (id === null ? null : (await businessManagers.get(id))?.state ?? null)
    await businessManagers.prefetch(own.flatMap((e) =>
      Streams.categoryOf(e.streamId) === "BusinessManager" ? [(e.event as BusinessManager.BusinessManagerEvent).businessManagerId] : []
    ))
    await wabas.prefetch(own.flatMap((e) => (Streams.categoryOf(e.streamId) === "Waba" ? [(e.event as Waba.WabaEvent).wabaId] : [])))
    const writeWaba = (id: string, version: number, state: Waba.WabaState, businessManager: BusinessManager.BusinessManagerState | null, asOf: number) =>
      wabas.set(id, wabaRow(id, version, state, businessManager, asOf))
    for (const stored of own) await applyOne(stored, { businessManagers, wabas, bmOf, writeWaba, session })
    await writeRows(session, {
      name: "mmgw_bm_write",
      table: "business_managers",
      upsert: replaceOnConflict(["id"], BUSINESS_MANAGER_COLUMNS)
    }, businessManagers.changed() as unknown as ReadonlyArray<Record<string, unknown>>)
    await writeRows(
      session,
      { name: "mmgw_waba_write", table: "wabas", upsert: replaceOnConflict(["id"], WABA_COLUMNS) },
      wabas.changed() as unknown as ReadonlyArray<Record<string, unknown>>
    )
  }
}

interface Batch {
  readonly session: Session
  readonly businessManagers: Rows<BusinessManagerRow>
  readonly wabas: Rows<WabaRow>
  readonly bmOf: (id: string | null) => Promise<BusinessManager.BusinessManagerState | null>
  readonly writeWaba: (id: string, version: number, state: Waba.WabaState, businessManager: BusinessManager.BusinessManagerState | null, asOf: number) => void
}

const applyOne = async (stored: EventStore.StoredEvent, batch: Batch): Promise<void> => {
  if (Streams.categoryOf(stored.streamId) === "BusinessManager") {
    const event = stored.event as BusinessManager.BusinessManagerEvent
    const id = event.businessManagerId
    const row = await batch.businessManagers.get(id)
    if (row !== null && stored.version <= row.version) return
    const before = row?.state ?? BusinessManager.initialState()
    const after = BusinessManager.evolve(before, event)
    // The state keeps the latest invitation's time; that invitation's link is kept beside it.
    batch.businessManagers.set(id, businessManagerRow(id, stored.version, after, ReadViews.invitationLink(row?.invitation_link ?? null, after, event)))
    if (after.termsSignedAt !== before.termsSignedAt) {
      // Business-level terms cover every WABA of the Business Manager: their status changes with it.
      const ids = await batch.session.query<{ id: string }>({
        name: "mmgw_wabas_of_bm",
        text: "SELECT id FROM wabas WHERE business_manager_id = $1",
        values: [id]
      })
      await batch.wabas.prefetch(ids.map((r) => r.id))
      for (const [, w] of batch.wabas.loaded()) {
        if (w.state.businessManagerId === id) batch.writeWaba(w.id, w.version, w.state, after, event.at)
      }
    }
    return
  }
  const event = stored.event as Waba.WabaEvent
  const row = await batch.wabas.get(event.wabaId)
  if (row !== null && stored.version <= row.version) return
  const after = Waba.evolve(row?.state ?? Waba.initialState(), event)
  batch.writeWaba(event.wabaId, stored.version, after, await batch.bmOf(after.businessManagerId), event.at)
}

interface WabaViewRow {
  readonly id: string
  readonly state: Waba.WabaState
  readonly bm_state: BusinessManager.BusinessManagerState | null
}

const WABA_VIEW = `SELECT w.id, w.state, b.state AS bm_state FROM wabas w LEFT JOIN business_managers b ON b.id = w.business_manager_id`

/** The WABA as of `now`: the stored status columns are as of its last fact, so the view is recomputed. */
const wabaView = (r: WabaViewRow, now: number): WabaView => ReadViews.waba(r.id, r.state, r.bm_state, now)

/** A Business Manager and its WABAs, read in one statement so they come from the same moment. */
const businessManagerView = async (session: Session, id: string, now: number): Promise<BusinessManagerView | null> => {
  const [row] = await session.query<{
    id: string
    name: string | null
    terms_signed_at: string | null
    invited_at: string | null
    invitation_link: string | null
    state: BusinessManager.BusinessManagerState
    wabas: ReadonlyArray<{ id: string; state: Waba.WabaState }>
  }>({
    name: "mmgw_bm",
    text: `SELECT b.id, b.name, b.terms_signed_at, b.invited_at, b.invitation_link, b.state,
        COALESCE((SELECT json_agg(json_build_object('id', w.id, 'state', w.state) ORDER BY w.id)
          FROM wabas w WHERE w.business_manager_id = b.id), '[]'::json) AS wabas
      FROM business_managers b WHERE b.id = $1`,
    values: [id]
  })
  if (row === undefined) return null
  return {
    id: row.id,
    name: row.name,
    mmApi: { termsSigned: row.terms_signed_at !== null, signedAt: num(row.terms_signed_at), invitedAt: num(row.invited_at) },
    invitationLink: row.invitation_link,
    metaRequest: ReadViews.metaRequest(row.state),
    wabas: row.wabas.map((w) => wabaView({ id: w.id, state: w.state, bm_state: row.state }, now))
  }
}

/** `OnboardingQueries` on the `business_managers` and `wabas` rows. */
export const makeOnboardingQueries = (db: Database): Context.Tag.Service<OnboardingQueries> => ({
  businessManager: (id, now) => statements(db, (session) => businessManagerView(session, id, now)),
  businessManagers: (options) =>
    statements(db, async (session) => {
      const limit = clampLimit(options.limit)
      const after = decodeCursor<[string]>(options.cursor)?.[0] ?? ""
      const ids = await session.query<{ id: string }>({
        name: "mmgw_bm_ids",
        text: `SELECT id FROM business_managers WHERE id > $1 AND ($2::text[] IS NULL OR id = ANY($2::text[])) ORDER BY id LIMIT $3`,
        values: [String(after), options.businessManagerIds ?? null, limit]
      })
      const items: Array<BusinessManagerView> = []
      for (const { id } of ids) {
        const view = await businessManagerView(session, id, options.now)
        if (view !== null) items.push(view)
      }
      return pageOf(items, limit, (b) => [b.id])
    }),
  waba: (id, now) =>
    statements(db, async (session) => {
      const [row] = await session.query<WabaViewRow>({ name: "mmgw_waba", text: `${WABA_VIEW} WHERE w.id = $1`, values: [id] })
      return row === undefined ? null : wabaView(row, now)
    }),
  wabas: (options) =>
    statements(db, async (session) => {
      const limit = clampLimit(options.limit)
      // The stored status is as of the row's last fact, and the only thing time changes is a
      // restriction ending. Rows whose restriction may have ended by `now`, and rows stored as of a time
      // after `now` (a restriction may not have ended yet), are candidates for every status and decided
      // here. Candidates are read until the page is full, so every page but the last has `limit` WABAs
      // (docs/api.md#pagination).
      const items: Array<WabaView> = []
      let from = decodeCursor<[string]>(options.cursor)?.[0] ?? ""
      for (;;) {
        const rows = await session.query<WabaViewRow>({
          name: "mmgw_wabas",
          text: `${WABA_VIEW}
            WHERE w.id > $1
              AND ($2::text[] IS NULL OR w.business_manager_id = ANY($2::text[]))
              AND ($3::text IS NULL OR w.mm_status = $3 OR w.suspended_until <= $4 OR w.as_of > $4)
            ORDER BY w.id LIMIT $5`,
          values: [from, options.businessManagerIds ?? null, options.status ?? null, options.now, limit]
        })
        for (const row of rows) {
          const view = wabaView(row, options.now)
          if (options.status === undefined || view.mmApi.status === options.status) items.push(view)
          if (items.length === limit) return pageOf(items, limit, (w) => [w.id])
        }
        if (rows.length < limit) return pageOf(items, limit, (w) => [w.id])
        from = rows[rows.length - 1]!.id
      }
    })
})
