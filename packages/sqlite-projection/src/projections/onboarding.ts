import { BusinessManager, type Events, type EventStore, Streams, Waba } from "@mm-gateway/domain"
import { ReadViews } from "@mm-gateway/ports"
import type { Database } from "../connection.js"
import { json, parse, prepared, type Projection, eachEvent } from "../projection.js"

interface BusinessManagerRow {
  readonly id: string
  readonly version: number
  readonly invitation_link: string | null
  readonly state: string
}

interface WabaRow {
  readonly id: string
  readonly version: number
  readonly state: string
}

const loadBusinessManager = (db: Database, id: string): BusinessManagerRow | undefined =>
  prepared(db, "SELECT id, version, invitation_link, state FROM business_managers WHERE id = ?").get(id) as
    | BusinessManagerRow
    | undefined

export const businessManagerState = (db: Database, id: string | null): BusinessManager.BusinessManagerState | null => {
  if (id === null) return null
  const row = loadBusinessManager(db, id)
  return row === undefined ? null : parse<BusinessManager.BusinessManagerState>(row.state)
}

/**
 * Writes a WABA row. The MM status depends on time (a restriction's expiration), so the stored
 * columns are computed as of `asOf` — the time of the fact being projected, never the clock, so a
 * rebuild gives the same rows; readers recompute from `state` with their own `now`.
 */
const writeWaba = (
  db: Database,
  id: string,
  version: number,
  state: Waba.WabaState,
  businessManager: BusinessManager.BusinessManagerState | null,
  asOf: number
): void => {
  const status = Waba.mmApiStatus(state, businessManager, asOf)
  prepared(
    db,
    `INSERT INTO wabas (id, version, business_manager_id, name, mm_status, mm_since, mm_source, mm_reason, suspended_until, as_of, state)
     VALUES (@id, @version, @businessManagerId, @name, @status, @since, @source, @reason, @suspendedUntil, @asOf, @state)
     ON CONFLICT (id) DO UPDATE SET version = excluded.version, business_manager_id = excluded.business_manager_id,
       name = excluded.name, mm_status = excluded.mm_status, mm_since = excluded.mm_since, mm_source = excluded.mm_source,
       mm_reason = excluded.mm_reason, suspended_until = excluded.suspended_until, as_of = excluded.as_of, state = excluded.state`
  ).run({
    id,
    version,
    businessManagerId: state.businessManagerId,
    name: state.name,
    status: status.status,
    since: status.since,
    source: status.source,
    reason: status.reason,
    suspendedUntil: status.suspendedUntil,
    asOf,
    state: json(state)
  })
}

const applyBusinessManager = (db: Database, stored: EventStore.StoredEvent, event: BusinessManager.BusinessManagerEvent) => {
  const id = event.businessManagerId
  const row = loadBusinessManager(db, id)
  if (row !== undefined && stored.version <= row.version) return
  const before = row === undefined ? BusinessManager.initialState() : parse<BusinessManager.BusinessManagerState>(row.state)
  const after = BusinessManager.evolve(before, event)
  // The state keeps the latest invitation time; the link of that same invitation is kept beside it.
  const link = ReadViews.invitationLink(row?.invitation_link ?? null, after, event)
  prepared(
    db,
    `INSERT INTO business_managers (id, version, name, registered, invited_at, invitation_link, terms_signed_at, state)
     VALUES (@id, @version, @name, @registered, @invitedAt, @link, @termsSignedAt, @state)
     ON CONFLICT (id) DO UPDATE SET version = excluded.version, name = excluded.name, registered = excluded.registered,
       invited_at = excluded.invited_at, invitation_link = excluded.invitation_link,
       terms_signed_at = excluded.terms_signed_at, state = excluded.state`
  ).run({
    id,
    version: stored.version,
    name: after.name,
    registered: after.registered ? 1 : 0,
    invitedAt: after.invitedAt,
    link,
    termsSignedAt: after.termsSignedAt,
    state: json(after)
  })
  if (after.termsSignedAt !== before.termsSignedAt) {
    // Business-level terms cover every WABA of the Business Manager: their status changes with it.
    const wabas = prepared(db, "SELECT id, version, state FROM wabas WHERE business_manager_id = ?").all(id) as Array<WabaRow>
    for (const w of wabas) writeWaba(db, w.id, w.version, parse<Waba.WabaState>(w.state), after, event.at)
  }
}

const applyWaba = (db: Database, stored: EventStore.StoredEvent, event: Waba.WabaEvent) => {
  const row = prepared(db, "SELECT id, version, state FROM wabas WHERE id = ?").get(event.wabaId) as WabaRow | undefined
  if (row !== undefined && stored.version <= row.version) return
  const before = row === undefined ? Waba.initialState() : parse<Waba.WabaState>(row.state)
  const after = Waba.evolve(before, event)
  writeWaba(db, event.wabaId, stored.version, after, businessManagerState(db, after.businessManagerId), event.at)
}

const isBusinessManagerEvent = (e: Events.DomainEvent): e is BusinessManager.BusinessManagerEvent =>
  e._tag === "BusinessManagerRegistered" || e._tag === "BusinessManagerRenamed" ||
  e._tag === "OnboardingInvitationIssued" || e._tag === "MetaOnboardingRequested" || e._tag === "BusinessTermsSigned"

const isWabaEvent = (e: Events.DomainEvent): e is Waba.WabaEvent =>
  e._tag === "WabaRegistered" || e._tag === "WabaDetailsChanged" || e._tag === "WabaTermsSigned" ||
  e._tag === "WabaSuspended" || e._tag === "WabaReinstated" || e._tag === "WabaMmStatusSetManually" ||
  e._tag === "WabaTermsNotAccepted" || e._tag === "WabaMetaStatusRead" || e._tag === "WabaMetaSyncRequested" ||
  e._tag === "WabaTemplateSyncRequested"

/** Business managers and WABAs with their MM status: one projection, because a WABA's status reads its BM. */
export const onboardingProjection: Projection = {
  name: "onboarding",
  tables: ["business_managers", "wabas"],
  apply: eachEvent((db, stored) => {
    const category = Streams.categoryOf(stored.streamId)
    const event = stored.event
    if (category === "BusinessManager" && isBusinessManagerEvent(event)) applyBusinessManager(db, stored, event)
    else if (category === "Waba" && isWabaEvent(event)) applyWaba(db, stored, event)
  })
}
