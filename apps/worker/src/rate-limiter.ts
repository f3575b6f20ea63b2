/**
 * At most `limit` starts in any window of `windowMs`, counted on the times starts are recorded. A
 * token bucket with a one-second burst could let nearly twice the rate into one calendar second (a
 * full bucket spent at its start, then refilled); a sliding window cannot, which is what a provider
 * counting per second (and benchmark B5) checks.
 */
export interface SlidingWindowLimiter {
  /** The earliest time a start is allowed (`now` when one is allowed now). */
  readonly nextSlot: (now: number) => number
  /** Records a start at `now`; only call it when `nextSlot(now) <= now`. */
  readonly record: (now: number) => void
  readonly limit: () => number
  /** Changes the limit, keeping the most recent starts (a channel's throughput was reconfigured). */
  readonly setLimit: (limit: number) => void
}

export const makeSlidingWindowLimiter = (initialLimit: number, windowMs: number): SlidingWindowLimiter => {
  let limit = Math.max(1, Math.floor(initialLimit))
  // The last `limit` start times in a ring; `head` is the oldest once the ring is full.
  let times: Array<number> = []
  let head = 0
  const nextSlot = (now: number) => (times.length < limit ? now : Math.max(now, times[head]! + windowMs))
  return {
    nextSlot,
    record: (now) => {
      if (times.length < limit) {
        times.push(now)
      } else {
        times[head] = now
        head = (head + 1) % limit
      }
    },
    limit: () => limit,
    setLimit: (next) => {
      const n = Math.max(1, Math.floor(next))
      if (n === limit) return
      const ordered = [...times.slice(head), ...times.slice(0, head)]
      times = ordered.slice(-n)
      head = 0
      limit = n
    }
  }
}
