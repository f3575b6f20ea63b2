/**
 * The worker's dispatch scheduling as a decider (Chassaing): which ready message goes into which
 * channel's lane, when a lane may let its next message through and when that message may leave, and
 * what a provider's answer holds back. Time arrives in every command (`now`); the dispatcher around it
 * only runs fibers, queues, permits and I/O: it asks (`decide`) and folds what it was told (`evolve`).
 *
 * Commands and events are plain types, not schemas: they live in one process's memory, are never
 * stored or decoded, and run several times per message on the dispatch path.
 *
 * The rules:
 *
 * 1. **Lanes.** Each channel has a lane holding at most `capacityFor(throughputMps)` messages, ten
 *    seconds of sends. Each lane has its own pump, so what one lane holds does not hold back another;
 *    the bound only keeps memory small under a very large backlog. A message the scheduler holds
 *    (queued, let through, in flight) is never offered twice.
 * 2. **The rate window.** At most `throughputMps` departures in any sliding window of `rateWindowMs`
 *    (1 s plus a margin for a request's way to the provider), counted when requests leave. A token
 *    bucket with a one-second burst could let nearly twice the rate into one second as a provider counts
 *    it (a full bucket spent at its start, then refilled); a sliding window cannot. A request is first
 *    admitted (`Admit`) — holding a place while its start is committed — and then leaves only into a
 *    free place of the window (`Depart`). Since every departure is checked against the departures before
 *    it, no window ever holds more than the limit, whenever requests were admitted.
 *    **The pace.** Within the window, departures keep `rateWindowMs / throughputMps` apart (a
 *    generic cell rate: each departure moves the lane's pace on by that spacing), beyond a burst of
 *    `burstOf(throughputMps)` (a tenth of the rate) after an idle spell, and a lane that fell behind the
 *    pace by less than that burst catches up. Without it a backlog leaves as the window allows it, a
 *    whole window's worth at once, once a window: every channel's burst then queues for the same
 *    permits at the same moment, each request leaves a little after its place frees, and the channel
 *    loses that much of its rate every window. Paced, a channel sends its rate evenly, as a provider
 *    counting per second sees it, and admission holds a permit only for the lead (rule 3).
 * 3. **The admission lead.** Admission looks ahead by the time a start has lately taken to commit (a
 *    moving average from the permit to the commit, at most `maxLeadMs`): the start is then committed
 *    while the window is still full, and the request leaves the moment a place frees, instead of a
 *    start's time later — which would leave every place of the window idle that long, and the channel
 *    short of its rate by as much. The wait for a permit is not counted: a permit is held while the
 *    request waits for its place, so a lead grown by permit waits would hold permits longer and grow
 *    itself.
 * 4. **Channel pauses.** 130429, 131057 and HTTP 429 hold the whole channel back for the rule's minimum
 *    or `Retry-After`: nothing is admitted on it before the pause ends.
 * 5. **Recipient pauses.** 131056 is a pair rate: it holds back that recipient on that channel only. A
 *    message to a paused recipient is deferred until the pause ends, and not offered again before.
 * 6. **The feeder.** The ready messages are swept oldest first, a page at a time, from a cursor, each
 *    message once (held messages stay ready in the store until their start commits, so going back over
 *    them would only read them again), and only those of lanes with room (`channelsToFeed`): a full
 *    lane is marked as wanting (`LaneFull`), as if its messages had been left behind, so a backlog
 *    far larger than its lane is not read again and again while the lane drains. At the end of a
 *    sweep the feeder goes back to the oldest (`Rewound`) only when something is behind its cursor:
 *    messages left for a full lane once it has room again (half empty), a retry or a deferred message
 *    coming due, a channel taken (rule 9), and every `REWIND_MS` for anything else put back to ready
 *    (an operator's resend keeps its old age).
 * 7. **Channels held.** Several workers share the channels out by leases (docs/worker.md#many-workers):
 *    a worker dispatches a channel only while it holds the channel's lease, each until a little before
 *    the lease could lapse (`until`, moved on by every renewal). A lane whose channel is not held takes
 *    no message from the feeder, lets none through (what it still queues is released) and lets no
 *    request leave (`DepartureWithheld`: the dispatcher records it as not sent, and it is retried).
 * 8. **The departure deadline.** A request leaves within `departureDeadlineMs` of its start's time or
 *    not at all (withheld, as in rule 7). So every request recorded as started left, if it left, between
 *    its start and its start plus the deadline, and before its channel changed hands.
 * 9. **A channel taken over** (`TakeChannel`) starts its window from the starts the store has recorded
 *    for it since `startsSince` — by any worker, the one it was taken from included — each counted as a
 *    departure at its start plus the deadline, or at the moment of the takeover if that is sooner
 *    (rules 7 and 8: it cannot have left later). The window then holds across the takeover: no 1 s of
 *    the channel sees more than its rate, whichever workers sent in it.
 */
import { Either, HashMap, Match, Option } from "effect"
import type { Settlement } from "../application/dispatch.js"
import { DEFAULT_THROUGHPUT_MPS } from "../channels/channel.js"
import { accept, type Decider, nothing } from "../shared/decider.js"

// ---- settings ----------------------------------------------------------------------------------

export interface SchedulerSettings {
  /** The sliding window a channel's `throughputMps` counts in: 1 s plus a margin for the way to the provider. */
  readonly rateWindowMs: number
  /** Admission never looks further ahead than this, however slow starts get (rule 3). */
  readonly maxLeadMs: number
  /** A request leaves within this of its start's time, or not at all (rule 8). */
  readonly departureDeadlineMs: number
}

/** The dispatcher's `maxLeadMs`: admission never looks further ahead than this, however slow commits get. */
export const MAX_LEAD_MS = 100
/** The dispatcher's `departureDeadlineMs` (rule 8): far more than a start's commit and the lead take, short enough to keep a takeover's look back short. */
export const DEPARTURE_DEADLINE_MS = 1_000
/** How often the feeder goes back to the oldest ready messages even if nothing it knows of is behind its cursor (rule 6). */
const REWIND_MS = 2_000
/** How long a channel's throughput, as read from the store, is trusted before it is read again. */
const RATE_REFRESH_MS = 5_000
/**
 * Rule 2, the pace: how many departures may leave back to back after an idle spell (and how far
 * behind its pace a lane may catch up): a tenth of the limit, at least one.
 */
export const burstOf = (limit: number) => Math.max(1, Math.ceil(limit / 10))
/** How soon to try admission again when only requests still on their way fill the window. */
const ON_THE_WAY_POLL_MS = 5

/** Ten seconds of sends at the channel's rate (rule 1). */
export const capacityFor = (throughputMps: number) => Math.max(64, Math.ceil(throughputMps * 10))

// ---- what it schedules -------------------------------------------------------------------------

/** Where the feeder's sweep is: the last message it went over, in the store's order (accepted, then id). */
export interface Position {
  readonly acceptedAt: number
  readonly id: string
}

/** A message ready for a dispatch attempt, as the feeder finds it. */
export interface ReadyMessage extends Position {
  readonly channel: string
  /** The attempt to start; the scheduler carries it to the dispatcher's start. */
  readonly attempt: number
}

// ---- commands ----------------------------------------------------------------------------------

export type SchedulerCommand =
  /** The channel's throughput as the store has it now. */
  | { readonly _tag: "RecordRate"; readonly channel: string; readonly throughputMps: number; readonly now: number }
  /** A page of ready messages, from the feeder's cursor (`state.feeder.cursor`) on. */
  | { readonly _tag: "Offer"; readonly messages: ReadonlyArray<ReadyMessage>; readonly now: number }
  /** The feeder reached the end of the ready messages and waited: go back to the oldest? */
  | { readonly _tag: "EndSweep"; readonly now: number }
  /** May this queued message be let through now? */
  | { readonly _tag: "Admit"; readonly messageId: string; readonly now: number }
  /** The recipient of a message let through (asked only while `recipientCheckDue`). */
  | { readonly _tag: "CheckRecipient"; readonly messageId: string; readonly recipient: string; readonly now: number }
  /**
   * The start of a message let through was committed at `now`; it had its permit at `permittedAt`, and
   * its start was recorded as of `startedAt` (the time its `DispatchStarted` carries).
   */
  | { readonly _tag: "RecordStart"; readonly messageId: string; readonly permittedAt: number; readonly startedAt: number; readonly now: number }
  /** May the request of this started message leave now? */
  | { readonly _tag: "Depart"; readonly messageId: string; readonly now: number }
  /** What the provider's answer came to (`settleDispatch`'s settlement). */
  | {
    readonly _tag: "RecordAnswer"
    readonly messageId: string
    readonly recipient: string
    readonly settlement: Settlement
    readonly now: number
  }
  /** The dispatcher is done with the message, whatever became of it. */
  | { readonly _tag: "Release"; readonly messageId: string }
  /**
   * This worker took the channel's lease at `now` and may dispatch it until `until`; `startedAt` are the
   * times of the channel's dispatch starts the store has recorded since `startsSince(state, now)` (rule 9).
   */
  | { readonly _tag: "TakeChannel"; readonly channel: string; readonly until: number; readonly startedAt: ReadonlyArray<number>; readonly now: number }
  /** The leases of these channels were renewed: each still held may be dispatched until `until`. */
  | { readonly _tag: "KeepChannels"; readonly channels: ReadonlyArray<string>; readonly until: number }
  /** The channel's lease was lost, or is being given up: dispatch nothing more on it. */
  | { readonly _tag: "LetGoChannel"; readonly channel: string }

// ---- events ------------------------------------------------------------------------------------

/**
 * What the scheduler decided. `AdmissionPostponed` and `DeparturePostponed` change no state: they are
 * its "not yet, ask again at `until`".
 */
export type SchedulerEvent =
  | { readonly _tag: "RateRead"; readonly channel: string; readonly throughputMps: number; readonly at: number }
  | { readonly _tag: "Queued"; readonly message: ReadyMessage }
  | { readonly _tag: "LeftBehind"; readonly messageId: string; readonly channel: string }
  /** A held lane was full when a page was asked for: its messages were not (rule 6). */
  | { readonly _tag: "LaneFull"; readonly channel: string }
  | { readonly _tag: "Swept"; readonly through: Position | null; readonly at: number }
  | { readonly _tag: "Rewound"; readonly reason: RewindReason; readonly at: number }
  | { readonly _tag: "Admitted"; readonly messageId: string; readonly channel: string; readonly at: number }
  /** A lane the feeder left messages behind for is half empty again. */
  | { readonly _tag: "RoomMade"; readonly channel: string }
  | {
    readonly _tag: "AdmissionPostponed"
    readonly messageId: string
    readonly channel: string
    readonly until: number
    readonly reason: "channel_paused" | "rate_window"
  }
  /** Its recipient is paused: not sent now, not offered again before `until` (it is released next). */
  | { readonly _tag: "Deferred"; readonly messageId: string; readonly channel: string; readonly until: number }
  | { readonly _tag: "StartCommitted"; readonly messageId: string; readonly channel: string; readonly lead: number; readonly startedAt: number }
  | { readonly _tag: "Departed"; readonly messageId: string; readonly channel: string; readonly at: number }
  | { readonly _tag: "DeparturePostponed"; readonly messageId: string; readonly channel: string; readonly until: number }
  /** The request must not leave (rules 7 and 8): it is to be recorded as not sent, then released. */
  | {
    readonly _tag: "DepartureWithheld"
    readonly messageId: string
    readonly channel: string
    readonly reason: "channel_not_held" | "departure_deadline"
  }
  | { readonly _tag: "ChannelPaused"; readonly channel: string; readonly until: number }
  | { readonly _tag: "RecipientPaused"; readonly channel: string; readonly recipient: string; readonly until: number }
  /** A message behind the feeder's cursor becomes ready again at `at` (a retry). */
  | { readonly _tag: "RetryDue"; readonly messageId: string; readonly at: number }
  | { readonly _tag: "Released"; readonly messageId: string; readonly channel: string; readonly phase: HeldPhase }
  /** The channel is this worker's until `until`, its window holding `departures` (rule 9). */
  | { readonly _tag: "ChannelTaken"; readonly channel: string; readonly until: number; readonly departures: ReadonlyArray<number> }
  | { readonly _tag: "ChannelsKept"; readonly channels: ReadonlyArray<string>; readonly until: number }
  | { readonly _tag: "ChannelLetGo"; readonly channel: string }

export type RewindReason = "room_made" | "due" | "channel_taken" | "periodic"

// ---- state -------------------------------------------------------------------------------------

export interface Lane {
  readonly channel: string
  /** `throughputMps`: departures allowed in any window. */
  readonly limit: number
  readonly capacity: number
  readonly rateReadAt: number
  /** The last `limit` departures, oldest first (never fewer than the window can hold). */
  readonly departures: ReadonlyArray<number>
  /** Rule 2, the pace: when the next departure is due, evenly spaced (`-Infinity`: nothing due, idle). */
  readonly paceAt: number
  /** Let through and neither departed nor released: each holds a place in the window. */
  readonly onTheWay: number
  /** Offered and not yet let through (in the lane's queue, or the one its pump asks about). */
  readonly queued: number
  /** Rule 4. */
  readonly pausedUntil: number
  /** The latest end of a recipient pause on this channel (rule 5): before it, let-through messages are checked. */
  readonly recipientsPausedUntil: number
  /** Rule 3: how long a start takes to commit, lately. */
  readonly lead: number
  /** The feeder left messages behind for this lane (it was full). */
  readonly wanted: boolean
  /** Rule 7: until when this worker may dispatch the channel; `null` while it is not taken (or let go). */
  readonly heldUntil: number | null
}

export type HeldPhase = "Queued" | "Admitted" | "Departed"

export interface Held {
  readonly channel: string
  readonly phase: HeldPhase
  /** The time its start was recorded as of, once committed (rule 8). */
  readonly startedAt: number | null
}

export interface Feeder {
  /** Where the sweep goes on from; `null`: from the oldest. */
  readonly cursor: Position | null
  /** When the sweep from the oldest began. */
  readonly sweptFrom: number
  readonly leftBehind: boolean
  readonly roomMade: boolean
  /** The earliest time a message behind the cursor becomes ready again (a retry, a deferred message). */
  readonly dueBehind: number
  /** A channel was taken since the sweep began: its ready messages may be behind the cursor. */
  readonly channelTaken: boolean
}

export interface SchedulerState {
  readonly settings: SchedulerSettings
  readonly lanes: HashMap.HashMap<string, Lane>
  /** The messages in hand: queued, let through, or in flight until released. */
  readonly held: HashMap.HashMap<string, Held>
  /** Messages deferred for their recipient's pause, and until when. */
  readonly deferred: HashMap.HashMap<string, number>
  /** By `recipientKey`. */
  readonly recipientPauses: HashMap.HashMap<string, number>
  readonly feeder: Feeder
}

export const initialState = (settings: SchedulerSettings): SchedulerState => ({
  settings,
  lanes: HashMap.empty(),
  held: HashMap.empty(),
  deferred: HashMap.empty(),
  recipientPauses: HashMap.empty(),
  feeder: { cursor: null, sweptFrom: -Infinity, leftBehind: false, roomMade: false, dueBehind: Infinity, channelTaken: false }
})

const recipientKey = (channel: string, recipient: string) => `${channel}\u0000${recipient}`

const newLane = (channel: string, throughputMps: number, rateReadAt: number): Lane => {
  const limit = limitOf(throughputMps)
  return {
    channel,
    limit,
    capacity: capacityFor(limit),
    rateReadAt,
    departures: [],
    paceAt: -Infinity,
    onTheWay: 0,
    queued: 0,
    pausedUntil: 0,
    recipientsPausedUntil: 0,
    lead: 0,
    wanted: false,
    heldUntil: null
  }
}

const limitOf = (throughputMps: number) => Math.max(1, Math.floor(throughputMps))

/** A channel's lane; one the scheduler has not heard of yet runs at the default throughput until its rate is read. */
export const laneOf = (state: SchedulerState, channel: string): Lane => {
  const lane = HashMap.get(state.lanes, channel)
  return Option.isSome(lane) ? lane.value : newLane(channel, DEFAULT_THROUGHPUT_MPS, -Infinity)
}

// ---- queries (for the dispatcher's I/O) --------------------------------------------------------

/** Whether the scheduler has this message in hand (queued or in flight): the stale-attempt timer must leave it alone. */
export const holds = (state: SchedulerState, messageId: string): boolean => HashMap.has(state.held, messageId)

/** Whether the channel's throughput should be read (again) before its lane decides anything. */
export const rateDue = (state: SchedulerState, channel: string, now: number): boolean => {
  const lane = HashMap.get(state.lanes, channel)
  return Option.isNone(lane) || now - lane.value.rateReadAt >= RATE_REFRESH_MS
}

/** Whether a message of this channel let through must have its recipient checked (`CheckRecipient`) before it starts. */
export const recipientCheckDue = (state: SchedulerState, channel: string, now: number): boolean => {
  const lane = HashMap.get(state.lanes, channel)
  return Option.isSome(lane) && lane.value.recipientsPausedUntil > now
}

/** Whether the feeder, at the end of its sweep, should wait for a lane to make room rather than for new messages. */
export const waitsForRoom = (state: SchedulerState): boolean => state.feeder.leftBehind

const heldAt = (lane: Lane, now: number) => lane.heldUntil !== null && lane.heldUntil > now

/** Whether this worker may dispatch the channel at `now` (rule 7). */
export const holdsChannel = (state: SchedulerState, channel: string, now: number): boolean => {
  const lane = HashMap.get(state.lanes, channel)
  return Option.isSome(lane) && heldAt(lane.value, now)
}

/** The channels this worker may dispatch at `now`, for the feeder's look-up. */
export const heldChannels = (state: SchedulerState, now: number): ReadonlyArray<string> => {
  const held: Array<string> = []
  for (const [channel, lane] of state.lanes) if (heldAt(lane, now)) held.push(channel)
  return held.sort()
}

/** The held channels whose lanes have room: those whose ready messages the feeder asks for (rule 6). */
export const channelsToFeed = (state: SchedulerState, now: number): ReadonlyArray<string> => {
  const open: Array<string> = []
  for (const [channel, lane] of state.lanes) if (heldAt(lane, now) && lane.queued < lane.capacity) open.push(channel)
  return open.sort()
}

/** The channels taken and not let go (whether or not their `until` has passed): what renewals keep. */
export const takenChannels = (state: SchedulerState): ReadonlyArray<string> => {
  const taken: Array<string> = []
  for (const [channel, lane] of state.lanes) if (lane.heldUntil !== null) taken.push(channel)
  return taken.sort()
}

/** How many of the channel's messages the scheduler has in hand: a channel given up is released once none is left. */
export const inHandOn = (state: SchedulerState, channel: string): number => {
  let n = 0
  for (const [, held] of state.held) if (held.channel === channel) n++
  return n
}

/** From when the store's starts of a channel taken at `now` count in its window (rule 9). */
export const startsSince = (state: SchedulerState, now: number): number =>
  now - state.settings.rateWindowMs - state.settings.departureDeadlineMs

// ---- the rate window (rule 2) ------------------------------------------------------------------

/** Departures after `at - windowMs`: a binary search for the first one in the window. */
const inWindow = (lane: Lane, at: number, windowMs: number) => {
  const d = lane.departures
  let lo = 0
  let hi = d.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (d[mid]! > at - windowMs) hi = mid
    else lo = mid + 1
  }
  return d.length - lo
}

/** When admission at `at` may succeed again: the oldest departure leaving the window, or, while requests are on their way, a short poll. */
const retryAt = (lane: Lane, at: number, counted: number, windowMs: number) => {
  if (counted === 0) return at + ON_THE_WAY_POLL_MS
  const oldest = lane.departures[lane.departures.length - counted]! + windowMs
  return lane.onTheWay > 0 ? Math.min(oldest, at + ON_THE_WAY_POLL_MS) : oldest
}

/** The earliest time from `now` at which one more departure keeps every window within the limit. */
const slotAt = (lane: Lane, now: number, windowMs: number) =>
  inWindow(lane, now, windowMs) < lane.limit ? now : lane.departures[lane.departures.length - lane.limit]! + windowMs

/** Rule 2, the pace: the spacing of a lane's departures. */
const spacingOf = (lane: Lane, windowMs: number) => windowMs / lane.limit

/**
 * The earliest time the pace lets a departure leave at `now` with `ahead` of the lane's requests
 * leaving before it: its due time, less the burst a lane may catch up by.
 */
const pacedAt = (lane: Lane, now: number, ahead: number, windowMs: number) => {
  const spacing = spacingOf(lane, windowMs)
  return Math.max(lane.paceAt, now) + (ahead - (burstOf(lane.limit) - 1)) * spacing
}

/** The lane's pace after a departure at `at` (a generic cell rate's theoretical arrival time). */
const pacedAfter = (lane: Lane, at: number, windowMs: number) => Math.max(lane.paceAt, at) + spacingOf(lane, windowMs)

const keepLast = (departures: ReadonlyArray<number>, n: number) =>
  departures.length > n ? departures.slice(departures.length - n) : departures

// ---- decide ------------------------------------------------------------------------------------

const heldIn = (state: SchedulerState, messageId: string, phase: HeldPhase): Held | undefined => {
  const held = HashMap.get(state.held, messageId)
  return Option.isSome(held) && held.value.phase === phase ? held.value : undefined
}

const offer = (state: SchedulerState, messages: ReadonlyArray<ReadyMessage>, now: number) => {
  const events: Array<SchedulerEvent> = []
  // A full lane whose messages the page was not asked for (rule 6) wants the feeder back once it has room.
  const inPage = new Set(messages.map((m) => m.channel))
  for (const [channel, lane] of state.lanes) {
    if (heldAt(lane, now) && lane.queued >= lane.capacity && !lane.wanted && !inPage.has(channel)) events.push({ _tag: "LaneFull", channel })
  }
  // Each lane as this page fills it, and what the page queued.
  const filling = new Map<string, { readonly capacity: number; queued: number; readonly held: boolean }>()
  const taken = new Set<string>()
  const anyDeferred = HashMap.size(state.deferred) > 0
  for (const message of messages) {
    if (HashMap.has(state.held, message.id) || taken.has(message.id)) continue
    if (anyDeferred) {
      const until = HashMap.get(state.deferred, message.id)
      if (Option.isSome(until) && until.value > now) continue
    }
    let lane = filling.get(message.channel)
    if (lane === undefined) {
      const known = laneOf(state, message.channel)
      lane = { capacity: known.capacity, queued: known.queued, held: heldAt(known, now) }
      filling.set(message.channel, lane)
    }
    if (!lane.held) continue
    if (lane.queued >= lane.capacity) {
      events.push({ _tag: "LeftBehind", messageId: message.id, channel: message.channel })
      continue
    }
    lane.queued++
    taken.add(message.id)
    events.push({ _tag: "Queued", message })
  }
  const last = messages[messages.length - 1]
  events.push({ _tag: "Swept", through: last === undefined ? null : { acceptedAt: last.acceptedAt, id: last.id }, at: now })
  return accept(...events)
}

/** The lane wants the feeder back from the oldest once it is half empty (`RoomMade`). */
const wantedBack = (state: SchedulerState, channel: string): SchedulerState => {
  const next = withLane(state, channel, (lane) => (lane.wanted ? lane : { ...lane, wanted: true }))
  return next.feeder.leftBehind ? next : { ...next, feeder: { ...next.feeder, leftBehind: true } }
}

const endSweep = (state: SchedulerState, now: number) => {
  const f = state.feeder
  const reason: RewindReason | null = f.leftBehind && f.roomMade
    ? "room_made"
    : f.dueBehind <= now
    ? "due"
    : f.channelTaken
    ? "channel_taken"
    : now - f.sweptFrom >= REWIND_MS
    ? "periodic"
    : null
  return reason === null ? nothing : accept<SchedulerEvent>({ _tag: "Rewound", reason, at: now })
}

const admit = (state: SchedulerState, messageId: string, now: number) => {
  const held = heldIn(state, messageId, "Queued")
  if (held === undefined) return nothing
  const channel = held.channel
  const lane = laneOf(state, channel)
  if (!heldAt(lane, now)) return accept<SchedulerEvent>({ _tag: "Released", messageId, channel, phase: "Queued" })
  if (lane.pausedUntil > now) {
    return accept<SchedulerEvent>({ _tag: "AdmissionPostponed", messageId, channel, until: lane.pausedUntil, reason: "channel_paused" })
  }
  const windowMs = state.settings.rateWindowMs
  const ahead = now + Math.round(lane.lead)
  const counted = inWindow(lane, ahead, windowMs)
  if (counted + lane.onTheWay >= lane.limit) {
    const until = now + Math.max(1, retryAt(lane, ahead, counted, windowMs) - ahead)
    return accept<SchedulerEvent>({ _tag: "AdmissionPostponed", messageId, channel, until, reason: "rate_window" })
  }
  const paced = pacedAt(lane, now, lane.onTheWay, windowMs)
  if (paced > ahead) {
    return accept<SchedulerEvent>({ _tag: "AdmissionPostponed", messageId, channel, until: now + (paced - ahead), reason: "rate_window" })
  }
  const admitted: SchedulerEvent = { _tag: "Admitted", messageId, channel, at: now }
  return lane.wanted && lane.queued - 1 <= lane.capacity / 2
    ? accept<SchedulerEvent>(admitted, { _tag: "RoomMade", channel })
    : accept(admitted)
}

const checkRecipient = (state: SchedulerState, messageId: string, recipient: string, now: number) => {
  const held = heldIn(state, messageId, "Admitted")
  if (held === undefined) return nothing
  const until = HashMap.get(state.recipientPauses, recipientKey(held.channel, recipient))
  return Option.isSome(until) && until.value > now
    ? accept<SchedulerEvent>({ _tag: "Deferred", messageId, channel: held.channel, until: until.value })
    : nothing
}

const recordStart = (state: SchedulerState, messageId: string, permittedAt: number, startedAt: number, now: number) => {
  const held = heldIn(state, messageId, "Admitted")
  if (held === undefined) return nothing
  const lane = laneOf(state, held.channel)
  const lead = Math.min(state.settings.maxLeadMs, 0.8 * lane.lead + 0.2 * Math.max(0, now - permittedAt))
  return accept<SchedulerEvent>({ _tag: "StartCommitted", messageId, channel: held.channel, lead, startedAt })
}

const depart = (state: SchedulerState, messageId: string, now: number) => {
  const held = heldIn(state, messageId, "Admitted")
  if (held === undefined) return nothing
  const channel = held.channel
  const lane = laneOf(state, channel)
  if (!heldAt(lane, now)) return accept<SchedulerEvent>({ _tag: "DepartureWithheld", messageId, channel, reason: "channel_not_held" })
  const slot = Math.max(slotAt(lane, now, state.settings.rateWindowMs), pacedAt(lane, now, 0, state.settings.rateWindowMs))
  // A place that frees only past the deadline is as good as none: withheld at once rather than waited for.
  if (held.startedAt !== null && slot > held.startedAt + state.settings.departureDeadlineMs) {
    return accept<SchedulerEvent>({ _tag: "DepartureWithheld", messageId, channel, reason: "departure_deadline" })
  }
  return accept<SchedulerEvent>(
    slot > now
      ? { _tag: "DeparturePostponed", messageId, channel, until: slot }
      : { _tag: "Departed", messageId, channel, at: now }
  )
}

/** Rule 9: each start counts as leaving at its start plus the deadline, or now if that is sooner; those out of the window already do not. */
const takeChannel = (state: SchedulerState, channel: string, until: number, startedAt: ReadonlyArray<number>, now: number) => {
  const latest = startedAt.map((at) => Math.min(at + state.settings.departureDeadlineMs, now))
  const departures = latest.filter((at) => at > now - state.settings.rateWindowMs).sort((a, b) => a - b)
  return accept<SchedulerEvent>({ _tag: "ChannelTaken", channel, until, departures })
}

const keepChannels = (state: SchedulerState, channels: ReadonlyArray<string>, until: number) => {
  const kept = channels.filter((channel) => {
    const lane = HashMap.get(state.lanes, channel)
    return Option.isSome(lane) && lane.value.heldUntil !== null
  })
  return kept.length === 0 ? nothing : accept<SchedulerEvent>({ _tag: "ChannelsKept", channels: kept, until })
}

const letGoChannel = (state: SchedulerState, channel: string) => {
  const lane = HashMap.get(state.lanes, channel)
  return Option.isSome(lane) && lane.value.heldUntil !== null ? accept<SchedulerEvent>({ _tag: "ChannelLetGo", channel }) : nothing
}

const recordAnswer = (state: SchedulerState, messageId: string, recipient: string, settlement: Settlement, now: number) => {
  const held = HashMap.get(state.held, messageId)
  if (Option.isNone(held) || settlement._tag !== "RetryLater") return nothing
  const channel = held.value.channel
  const retry: SchedulerEvent = { _tag: "RetryDue", messageId, at: settlement.notBefore }
  const until = now + settlement.pauseMs
  switch (settlement.scope) {
    case "channel":
      return accept<SchedulerEvent>({ _tag: "ChannelPaused", channel, until }, retry)
    case "recipient":
      return accept<SchedulerEvent>({ _tag: "RecipientPaused", channel, recipient, until }, retry)
    case "message":
      return accept(retry)
  }
}

const release = (state: SchedulerState, messageId: string) => {
  const held = HashMap.get(state.held, messageId)
  return Option.isNone(held)
    ? nothing
    : accept<SchedulerEvent>({ _tag: "Released", messageId, channel: held.value.channel, phase: held.value.phase })
}

type Decision = Either.Either<ReadonlyArray<SchedulerEvent>, never>

const decideBy = Match.type<SchedulerCommand>().pipe(
  Match.tagsExhaustive({
    RecordRate: (c) => (): Decision => accept<SchedulerEvent>({ _tag: "RateRead", channel: c.channel, throughputMps: c.throughputMps, at: c.now }),
    Offer: (c) => (state: SchedulerState): Decision => offer(state, c.messages, c.now),
    EndSweep: (c) => (state: SchedulerState): Decision => endSweep(state, c.now),
    Admit: (c) => (state: SchedulerState): Decision => admit(state, c.messageId, c.now),
    CheckRecipient: (c) => (state: SchedulerState): Decision => checkRecipient(state, c.messageId, c.recipient, c.now),
    RecordStart: (c) => (state: SchedulerState): Decision => recordStart(state, c.messageId, c.permittedAt, c.startedAt, c.now),
    Depart: (c) => (state: SchedulerState): Decision => depart(state, c.messageId, c.now),
    RecordAnswer: (c) => (state: SchedulerState): Decision => recordAnswer(state, c.messageId, c.recipient, c.settlement, c.now),
    Release: (c) => (state: SchedulerState): Decision => release(state, c.messageId),
    TakeChannel: (c) => (state: SchedulerState): Decision => takeChannel(state, c.channel, c.until, c.startedAt, c.now),
    KeepChannels: (c) => (state: SchedulerState): Decision => keepChannels(state, c.channels, c.until),
    LetGoChannel: (c) => (state: SchedulerState): Decision => letGoChannel(state, c.channel)
  })
)

export const decide = (command: SchedulerCommand, state: SchedulerState): Decision => decideBy(command)(state)

// ---- evolve ------------------------------------------------------------------------------------

/** The state with one lane changed (and, when a message moves on, what is in hand). */
const withLane = (state: SchedulerState, channel: string, f: (lane: Lane) => Lane, held = state.held): SchedulerState => ({
  ...state,
  held,
  lanes: HashMap.set(state.lanes, channel, f(laneOf(state, channel)))
})

const holding = (state: SchedulerState, messageId: string, channel: string, phase: HeldPhase, startedAt: number | null = null) =>
  HashMap.set(state.held, messageId, { channel, phase, startedAt })

// Built once (a matcher per call would cost more than most of the handlers): each handler takes the
// event and returns the fold of it into a state.
const evolveBy = Match.type<SchedulerEvent>().pipe(
  Match.tagsExhaustive({
    RateRead: (e) => (state: SchedulerState): SchedulerState =>
      withLane(state, e.channel, (lane) => {
        const limit = limitOf(e.throughputMps)
        return { ...lane, limit, capacity: capacityFor(limit), rateReadAt: e.at, departures: keepLast(lane.departures, limit) }
      }),
    Queued: (e) => (state: SchedulerState): SchedulerState => {
      const next = withLane(
        state,
        e.message.channel,
        (lane) => ({ ...lane, queued: lane.queued + 1 }),
        holding(state, e.message.id, e.message.channel, "Queued")
      )
      return HashMap.has(state.deferred, e.message.id) ? { ...next, deferred: HashMap.remove(next.deferred, e.message.id) } : next
    },
    LeftBehind: (e) => (state: SchedulerState): SchedulerState => wantedBack(state, e.channel),
    LaneFull: (e) => (state: SchedulerState): SchedulerState => wantedBack(state, e.channel),
    Swept: (e) => (state: SchedulerState): SchedulerState => ({
      ...state,
      feeder: {
        ...state.feeder,
        sweptFrom: state.feeder.cursor === null ? e.at : state.feeder.sweptFrom,
        cursor: e.through ?? state.feeder.cursor
      }
    }),
    Rewound: (e) => (state: SchedulerState): SchedulerState => ({
      ...state,
      lanes: HashMap.map(state.lanes, (lane) => (lane.wanted ? { ...lane, wanted: false } : lane)),
      deferred: HashMap.filter(state.deferred, (until) => until > e.at),
      recipientPauses: HashMap.filter(state.recipientPauses, (until) => until > e.at),
      feeder: { cursor: null, sweptFrom: state.feeder.sweptFrom, leftBehind: false, roomMade: false, dueBehind: Infinity, channelTaken: false }
    }),
    Admitted: (e) => (state: SchedulerState): SchedulerState =>
      withLane(
        state,
        e.channel,
        (lane) => ({ ...lane, queued: Math.max(0, lane.queued - 1), onTheWay: lane.onTheWay + 1 }),
        holding(state, e.messageId, e.channel, "Admitted")
      ),
    RoomMade: (e) => (state: SchedulerState): SchedulerState => ({
      ...withLane(state, e.channel, (lane) => ({ ...lane, wanted: false })),
      feeder: { ...state.feeder, roomMade: true }
    }),
    AdmissionPostponed: () => (state: SchedulerState): SchedulerState => state,
    Deferred: (e) => (state: SchedulerState): SchedulerState => ({
      ...state,
      deferred: HashMap.set(state.deferred, e.messageId, e.until),
      feeder: { ...state.feeder, dueBehind: Math.min(state.feeder.dueBehind, e.until) }
    }),
    StartCommitted: (e) => (state: SchedulerState): SchedulerState =>
      withLane(state, e.channel, (lane) => ({ ...lane, lead: e.lead }), holding(state, e.messageId, e.channel, "Admitted", e.startedAt)),
    Departed: (e) => (state: SchedulerState): SchedulerState =>
      withLane(
        state,
        e.channel,
        (lane) => {
          const kept = lane.departures.slice(Math.max(0, lane.departures.length - (lane.limit - 1)))
          // Kept in time order whatever the clock did: the window searches them.
          kept.push(Math.max(e.at, kept[kept.length - 1] ?? e.at))
          return { ...lane, departures: kept, paceAt: pacedAfter(lane, e.at, state.settings.rateWindowMs), onTheWay: Math.max(0, lane.onTheWay - 1) }
        },
        holding(state, e.messageId, e.channel, "Departed")
      ),
    DeparturePostponed: () => (state: SchedulerState): SchedulerState => state,
    DepartureWithheld: () => (state: SchedulerState): SchedulerState => state,
    ChannelPaused: (e) => (state: SchedulerState): SchedulerState => withLane(state, e.channel, (lane) => ({ ...lane, pausedUntil: Math.max(lane.pausedUntil, e.until) })),
    RecipientPaused: (e) => (state: SchedulerState): SchedulerState => {
      const key = recipientKey(e.channel, e.recipient)
      const until = Math.max(e.until, Option.getOrElse(HashMap.get(state.recipientPauses, key), () => 0))
      return {
        ...withLane(state, e.channel, (lane) => ({ ...lane, recipientsPausedUntil: Math.max(lane.recipientsPausedUntil, until) })),
        recipientPauses: HashMap.set(state.recipientPauses, key, until)
      }
    },
    RetryDue: (e) => (state: SchedulerState): SchedulerState => ({ ...state, feeder: { ...state.feeder, dueBehind: Math.min(state.feeder.dueBehind, e.at) } }),
    Released: (e) => (state: SchedulerState): SchedulerState => {
      const held = HashMap.remove(state.held, e.messageId)
      switch (e.phase) {
        case "Queued":
          return withLane(state, e.channel, (lane) => ({ ...lane, queued: Math.max(0, lane.queued - 1) }), held)
        case "Admitted":
          return withLane(state, e.channel, (lane) => ({ ...lane, onTheWay: Math.max(0, lane.onTheWay - 1) }), held)
        case "Departed":
          return { ...state, held }
      }
    },
    ChannelTaken: (e) => (state: SchedulerState): SchedulerState => ({
      ...withLane(state, e.channel, (lane) => ({
        ...lane,
        heldUntil: e.until,
        departures: e.departures,
        // The pace goes on from the latest departure the store's starts imply, not from this worker's memory.
        paceAt: e.departures.length === 0 ? -Infinity : e.departures[e.departures.length - 1]! + spacingOf(lane, state.settings.rateWindowMs)
      })),
      feeder: state.feeder.cursor === null ? state.feeder : { ...state.feeder, channelTaken: true }
    }),
    ChannelsKept: (e) => (state: SchedulerState): SchedulerState => {
      let next = state
      for (const channel of e.channels) next = withLane(next, channel, (lane) => ({ ...lane, heldUntil: Math.max(lane.heldUntil ?? e.until, e.until) }))
      return next
    },
    ChannelLetGo: (e) => (state: SchedulerState): SchedulerState => withLane(state, e.channel, (lane) => ({ ...lane, heldUntil: null }))
  })
)

export const evolve = (state: SchedulerState, event: SchedulerEvent): SchedulerState => evolveBy(event)(state)

/** The scheduler as a `Decider`, for a dispatcher's settings. */
export const makeDecider = (settings: SchedulerSettings): Decider<SchedulerCommand, SchedulerEvent, SchedulerState, never> => ({
  decide,
  evolve,
  initialState: () => initialState(settings)
})

/** Decides and folds in one go: the events decided and the state after them. */
export const step = (state: SchedulerState, command: SchedulerCommand): { readonly state: SchedulerState; readonly events: ReadonlyArray<SchedulerEvent> } => {
  const decided = decide(command, state)
  const events = Either.isRight(decided) ? decided.right : []
  let next = state
  for (const event of events) next = evolve(next, event)
  return { state: next, events }
}
