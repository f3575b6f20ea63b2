/**
 * At most `limit` requests in any window of `windowMs`, counted on the times they actually go out.
 *
 * A token bucket with a one-second burst could let nearly twice the rate into one second as a
 * provider counts it (a full bucket spent at its start, then refilled); a sliding window cannot. And
 * the time that counts is when a request leaves, not when it was let through: between the two the
 * start is committed and the event loop may be busy elsewhere. So a request is first `admit`ted —
 * holding a place while it is on its way — and leaves only into a free place of the window
 * (`slotAt`), where it is `confirm`ed (or `cancel`led). Since every departure is checked against the
 * departures before it, no window ever holds more than the limit, whenever requests were admitted.
 *
 * Admission may look ahead (`admit(now + lead)`, `lead` the time a start takes to commit): the start
 * is then committed while the window is still full, and the request leaves the moment a place frees,
 * instead of a start's time later — which would leave every place of the window idle that long, and
 * the channel short of its rate by as much.
 */
export interface SlidingWindowLimiter {
  /** Lets one request through if the window has room at `at` (now, or a little ahead), holding its place until it is confirmed or cancelled. */
  readonly admit: (at: number) => boolean
  /** When `admit(at)` may succeed again (a request leaving the window, or, while requests are on their way, a short poll). */
  readonly retryAt: (at: number) => number
  /** The earliest time from `now` at which one more departure keeps every window within the limit. */
  readonly slotAt: (now: number) => number
  /** The admitted request leaves now (at or after its `slotAt`). */
  readonly confirm: (now: number) => void
  /** The admitted request will not leave. */
  readonly cancel: () => void
  readonly limit: () => number
  /** Changes the limit (a channel's throughput was reconfigured), keeping the most recent departures. */
  readonly setLimit: (limit: number) => void
}

/** How soon to look again when only requests still on their way fill the window. */
export const ON_THE_WAY_POLL_MS = 5

export const makeSlidingWindowLimiter = (initialLimit: number, windowMs: number): SlidingWindowLimiter => {
  let limit = Math.max(1, Math.floor(initialLimit))
  // The last `limit` departures, oldest first, from `head` on (departures are confirmed in time order,
  // so the array is sorted; dropped ones are skipped by `head` and compacted away now and then).
  let departures: Array<number> = []
  let head = 0
  let onTheWay = 0
  const kept = () => departures.length - head
  /** Departures after `now - windowMs`: a binary search for the first one in the window. */
  const inWindow = (now: number) => {
    let lo = head
    let hi = departures.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (departures[mid]! > now - windowMs) hi = mid
      else lo = mid + 1
    }
    return departures.length - lo
  }
  const keepLast = (n: number) => {
    if (kept() > n) head = departures.length - n
    if (head > 1024 && head * 2 > departures.length) {
      departures = departures.slice(head)
      head = 0
    }
  }
  const remember = (at: number) => {
    departures.push(Math.max(at, departures[departures.length - 1] ?? at))
    keepLast(limit)
  }
  return {
    admit: (at) => {
      if (inWindow(at) + onTheWay >= limit) return false
      onTheWay++
      return true
    },
    retryAt: (at) => {
      const counted = inWindow(at)
      if (counted + onTheWay < limit) return at
      if (counted === 0) return at + ON_THE_WAY_POLL_MS
      // The window frees up one place when its oldest departure leaves it.
      const oldest = departures[departures.length - counted]!
      return onTheWay > 0 ? Math.min(oldest + windowMs, at + ON_THE_WAY_POLL_MS) : oldest + windowMs
    },
    slotAt: (now) => {
      if (inWindow(now) < limit) return now
      // The place of the departure `limit` back frees up when it leaves the window.
      return departures[departures.length - limit]! + windowMs
    },
    confirm: (now) => {
      onTheWay = Math.max(0, onTheWay - 1)
      remember(now)
    },
    cancel: () => {
      onTheWay = Math.max(0, onTheWay - 1)
    },
    limit: () => limit,
    setLimit: (next) => {
      limit = Math.max(1, Math.floor(next))
      keepLast(limit)
    }
  }
}
