import { type Events, type EventStore, Message, Streams } from "@mm-gateway/domain"
import { ReadViews } from "@mm-gateway/ports"
import type { Database } from "../connection.js"
import { bool, json, parse, prepared, type Projection, type StatesAfter } from "../projection.js"

const isMessageEvent = (e: Events.DomainEvent): e is Message.MessageEvent =>
  e._tag === "MessageRequested" || e._tag === "MessageRouted" || e._tag === "DispatchStarted" ||
  e._tag === "DispatchSucceeded" || e._tag === "DispatchFailed" || e._tag === "MessageRerouted" ||
  e._tag === "DispatchOutcomeUnknown" || e._tag === "DispatchMarkedUnknown" || e._tag === "DispatchResolved" ||
  e._tag === "StatusObserved" || e._tag === "MessageExpired" || e._tag === "ClickAttributed"

/** The columns of the `messages` indexes a message's events can change. */
interface Indexed {
  readonly wamid: string | null
  readonly phase: string
  readonly notBefore: number | null
  readonly expiryDeadline: number | null
}

const indexed = (m: Message.MessageRecord): Indexed => {
  const phase = m.phase
  return { wamid: m.wamid, phase: phase._tag, notBefore: phase._tag === "Ready" ? phase.notBefore : null, expiryDeadline: Message.expiryDeadline(m) }
}

const sameIndexed = (a: Indexed, b: Indexed): boolean =>
  a.wamid === b.wamid && a.phase === b.phase && a.notBefore === b.notBefore && a.expiryDeadline === b.expiryDeadline

/**
 * Writes a message's row: an INSERT when it was not there, else an UPDATE — of the indexed columns only
 * when they changed (SQLite rewrites the entries of every index whose columns an UPDATE sets, changed
 * or not; a status changes none of them). Positional parameters: binding named ones costs more, on a
 * path taken once per status.
 */
const writeMessage = (db: Database, before: Indexed | null, version: number, m: Message.MessageRecord, stateJson: string, at: number): void => {
  const view = Message.viewOf(m)
  const keys = indexed(m)
  const rest = [
    view.status,
    m.route,
    view.observedRoute,
    bool(view.routeMismatch),
    ReadViews.funnelStage(m, view),
    bool(m.clicks.length > 0),
    json(ReadViews.failureCodes(view)),
    m.phase.attempt,
    at,
    stateJson
  ]
  const REST = `status = ?, route_decided = ?, route_observed = ?, route_mismatch = ?, funnel_stage = ?, clicked = ?,
    failure_codes = ?, attempt = ?, updated_at = ?, state = ?`
  if (before !== null && sameIndexed(before, keys)) {
    prepared(db, `UPDATE messages SET version = ?, ${REST} WHERE id = ?`).run(version, ...rest, m.request.messageId)
    return
  }
  if (before !== null) {
    prepared(db, `UPDATE messages SET version = ?, wamid = ?, phase = ?, not_before = ?, expiry_deadline = ?, ${REST} WHERE id = ?`)
      .run(version, keys.wamid, keys.phase, keys.notBefore, keys.expiryDeadline, ...rest, m.request.messageId)
    return
  }
  prepared(
    db,
    `INSERT INTO messages (id, version, channel, waba_id, campaign_id, recipient, accepted_at, wamid, phase, not_before,
       expiry_deadline, status, route_decided, route_observed, route_mismatch, funnel_stage, clicked, failure_codes, attempt,
       updated_at, state)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
  ).run(
    m.request.messageId,
    version,
    m.request.channel,
    m.request.wabaId,
    m.request.campaignId,
    m.request.to,
    m.request.at,
    keys.wamid,
    keys.phase,
    keys.notBefore,
    keys.expiryDeadline,
    ...rest
  )
}

/**
 * A channel's dispatch starts, one row per attempt (table `dispatch_starts`): what a worker taking the
 * channel over counts in its rate window (docs/worker.md#many-workers). The key makes a row written
 * twice one row.
 */
const recordStart = (db: Database, channel: string, event: Message.MessageEvent): void => {
  if (event._tag !== "DispatchStarted") return
  prepared(db, "INSERT OR IGNORE INTO dispatch_starts (channel, started_at, message_id, attempt) VALUES (?, ?, ?, ?)").run(
    channel,
    event.at,
    event.messageId,
    event.attempt
  )
}

interface IndexedRow {
  readonly version: number
  readonly wamid: string | null
  readonly phase: string
  readonly not_before: number | null
  readonly expiry_deadline: number | null
}

/**
 * An append of one message's events with the state after them (inline projection): the row is written
 * from that state, with only its version and indexed columns read back; neither the stored state is
 * parsed nor the events folded again.
 */
const applyState = (db: Database, events: ReadonlyArray<EventStore.StoredEvent>, state: Message.MessageState, stateJson: string): void => {
  const last = events[events.length - 1]
  if (last === undefined || state._tag !== "Requested") return
  let at: number | null = null
  for (const stored of events) if (isMessageEvent(stored.event)) at = stored.event.at
  if (at === null) return
  const m = state.message
  const row = prepared(db, "SELECT version, wamid, phase, not_before, expiry_deadline FROM messages WHERE id = ?").get(
    m.request.messageId
  ) as IndexedRow | undefined
  if (row !== undefined && row.version >= last.version) return
  for (const stored of events) {
    if ((row === undefined || stored.version > row.version) && isMessageEvent(stored.event)) recordStart(db, m.request.channel, stored.event)
  }
  const before = row === undefined
    ? null
    : { wamid: row.wamid, phase: row.phase, notBefore: row.not_before, expiryDeadline: row.expiry_deadline }
  writeMessage(db, before, last.version, m, stateJson, at)
}

/**
 * The rows of the messages whose state after `events` the append brought (`applyState`, one stream at
 * a time); the events left for the fold, of the streams it did not.
 */
const fromStates = (db: Database, events: ReadonlyArray<EventStore.StoredEvent>, after: StatesAfter): ReadonlyArray<EventStore.StoredEvent> => {
  const byStream = new Map<string, Array<EventStore.StoredEvent>>()
  const rest: Array<EventStore.StoredEvent> = []
  for (const stored of events) {
    if (Streams.categoryOf(stored.streamId) !== "Message" || !after.has(stored.streamId)) {
      rest.push(stored)
      continue
    }
    const own = byStream.get(stored.streamId)
    if (own === undefined) byStream.set(stored.streamId, [stored])
    else own.push(stored)
  }
  for (const [streamId, own] of byStream) {
    const { json: stateJson, state } = after.get(streamId)!
    applyState(db, own, state as Message.MessageState, stateJson)
  }
  return rest
}

/**
 * One row per message (and one per dispatch attempt in `dispatch_starts`): the folded state (the `MessageState`, the same JSON as the stream's snapshot), the visible view (`Message.viewOf`, so the read model cannot
 * disagree with the decider) and the columns the API and the worker filter on. Campaign stats are
 * aggregated from these rows (see `campaignStats`).
 *
 * Events are folded per message in memory across the batch and each touched row is written once at
 * the end: a message's lifecycle is several events, and reading, parsing and re-serialising its state
 * for each of them was most of the cost of a rebuild (benchmark B4). An append (inline) brings the
 * state after its events, which the row is written from (`applyState`): the status path (B2).
 */
export const messagesProjection: Projection = {
  name: "messages",
  tables: ["messages", "dispatch_starts"],
  apply: (db, events, after) => {
    // An inline append brings each stream's state after its events: their rows are written from it.
    const rest = after === undefined ? events : fromStates(db, events, after)
    const touched = new Map<
      string,
      { before: Indexed | null; version: number; state: Message.MessageState; at: number; changed: boolean }
    >()
    for (const stored of rest) {
      const event = stored.event
      if (Streams.categoryOf(stored.streamId) !== "Message" || !isMessageEvent(event)) continue
      let entry = touched.get(event.messageId)
      if (entry === undefined) {
        const row = prepared(db, "SELECT version, state FROM messages WHERE id = ?").get(event.messageId) as
          | { version: number; state: string }
          | undefined
        if (row === undefined) {
          entry = { before: null, version: 0, state: Message.initialState(), at: 0, changed: false }
        } else {
          const state = parse<Message.MessageState>(row.state)
          entry = { before: state._tag === "Requested" ? indexed(state.message) : null, version: row.version, state, at: 0, changed: false }
        }
        touched.set(event.messageId, entry)
      }
      if (stored.version <= entry.version) continue
      entry.state = Message.evolve(entry.state, event)
      if (entry.state._tag === "Requested") recordStart(db, entry.state.message.request.channel, event)
      entry.version = stored.version
      entry.at = event.at
      entry.changed = true
    }
    for (const entry of touched.values()) {
      if (entry.changed && entry.state._tag === "Requested") {
        writeMessage(db, entry.before, entry.version, entry.state.message, json(entry.state), entry.at)
      }
    }
  }
}
