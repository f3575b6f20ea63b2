/**
 * At most `limit` requests in any window of `windowMs`, counted on the times they actually go out.
 *
 * A token bucket with a one-second burst could let nearly twice the rate into one second as a
 * provider counts it (a full bucket spent at its start, then refilled); a sliding window cannot. And
 * the time that counts is when a request leaves, not when it was let through: between the two the
 * start is committed and the event loop may be busy elsewhere, so a request let through early could
 * leave late and end up in the same second as one let through a full window after it. So a request
 * is first `admit`ted — holding a place while it is on its way — and `confirm`ed as it leaves (or
 * `cancel`led); admission counts the confirmed requests of the window plus those on their way.
 */
export interface SlidingWindowLimiter {
  /** Lets one request through now if the window has room, holding its place until it is confirmed or cancelled. */
  readonly admit: (now: number) => boolean
  /** When `admit` may succeed again (a request leaving the window, or, while requests are on their way, a short poll). */
  readonly retryAt: (now: number) => number
  /** The admitted request leaves now. */
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
  // The last `limit` departures, oldest first (departures are confirmed in time order).
  let departures: Array<number> = []
  let onTheWay = 0
  const inWindow = (now: number) => {
    let n = 0
    for (let i = departures.length - 1; i >= 0 && departures[i]! > now - windowMs; i--) n++
    return n
  }
  const remember = (at: number) => {
    departures.push(Math.max(at, departures[departures.length - 1] ?? at))
    if (departures.length > limit) departures = departures.slice(departures.length - limit)
  }
  return {
    admit: (now) => {
      if (inWindow(now) + onTheWay >= limit) return false
      onTheWay++
      return true
    },
    retryAt: (now) => {
      const counted = inWindow(now)
      if (counted + onTheWay < limit) return now
      if (counted === 0) return now + ON_THE_WAY_POLL_MS
      // The window frees up one place when its oldest departure leaves it.
      const oldest = departures[departures.length - counted]!
      return onTheWay > 0 ? Math.min(oldest + windowMs, now + ON_THE_WAY_POLL_MS) : oldest + windowMs
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
      if (departures.length > limit) departures = departures.slice(departures.length - limit)
    }
  }
}
