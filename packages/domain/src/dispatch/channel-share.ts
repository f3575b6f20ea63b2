/**
 * How the live workers share the channels out (docs/worker.md#many-workers). Each worker applies this
 * rule on its own, every round, to what the store says at that moment — the live workers (their
 * heartbeats), the channels, and who holds each channel's lease — and takes or gives up leases as it
 * says. Nobody coordinates: the rule is such that workers looking at the same facts agree, and that
 * once the facts stop changing a round changes nothing (no flapping).
 *
 * With `C` channels and `W` live workers, a fair share is `lo = floor(C / W)` or `hi = ceil(C / W)`
 * channels (C mod W workers at `hi`, the rest at `lo`). A worker's round:
 *
 * 1. **Surplus.** Holding more than `hi`, it gives up the surplus.
 * 2. **Short of the least share.** Holding fewer than `lo`, it takes free channels up to `lo`.
 * 3. **Up to the full share** `hi`, only while no live worker is short of `lo`: a worker that is
 *    short comes first.
 * 4. **Making room.** When workers short of `lo` need more than the free channels, workers at `hi`
 *    give up one each — just as many as are needed, the first in the order of their identities, so
 *    that workers looking at the same facts choose the same ones.
 * 5. A channel whose lease another holds is never taken: it passes when its holder gives it up or its
 *    lease lapses (a dead worker). The channels this worker is giving up count neither as its own nor
 *    as free.
 * 6. **Preference.** Free channels are taken, and channels given up, in the worker's own order of
 *    preference (a hash of worker and channel): workers starting together reach for different
 *    channels, and a worker gives up the ones it cares least for.
 */

export interface ShareView {
  /** This worker's instance identity. */
  readonly instance: string
  /** The live workers' instance identities (this one may be among them or not; it counts as live). */
  readonly workers: ReadonlyArray<string>
  /** Every channel to share out. */
  readonly channels: ReadonlyArray<string>
  /** Who holds each channel's lease now (unexpired leases only; a channel absent here is free). */
  readonly holders: ReadonlyMap<string, string>
  /** The channels this worker is giving up (still its leases until they are released). */
  readonly leaving: ReadonlySet<string>
}

export interface Share {
  /** The least and the full share: every worker ends with one or the other. */
  readonly lo: number
  readonly hi: number
  /** Free channels to try to take, most preferred first (another worker may win one first). */
  readonly take: ReadonlyArray<string>
  /** Channels of this worker's to give up, least preferred first. */
  readonly release: ReadonlyArray<string>
}

/** 32-bit FNV-1a: a stable, well-spread hash, the same in every process. */
const fnv1a = (text: string): number => {
  let hash = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i)
    hash = Math.imul(hash, 0x01000193) >>> 0
  }
  return hash
}

/** How much `instance` prefers `channel` (rule 6): higher is preferred. */
export const preference = (instance: string, channel: string): number => fnv1a(`${instance}\u0000${channel}`)

const byPreference = (instance: string, descending: boolean) => (a: string, b: string): number => {
  const d = preference(instance, a) - preference(instance, b)
  const ordered = d !== 0 ? d : a < b ? -1 : a > b ? 1 : 0
  return descending ? -ordered : ordered
}

/** This worker's round: what to take and what to give up. */
export const decideShare = (view: ShareView): Share => {
  const workers = [...new Set([...view.workers, view.instance])].sort()
  const channels = [...new Set(view.channels)]
  const lo = Math.floor(channels.length / workers.length)
  const hi = Math.ceil(channels.length / workers.length)
  const counts = new Map<string, number>(workers.map((w) => [w, 0]))
  const free: Array<string> = []
  const mine: Array<string> = []
  for (const channel of channels) {
    const holder = view.holders.get(channel)
    if (holder === undefined) {
      free.push(channel)
      continue
    }
    if (holder === view.instance) {
      if (view.leaving.has(channel)) continue
      mine.push(channel)
    }
    const count = counts.get(holder)
    if (count !== undefined) counts.set(holder, count + 1)
  }
  // Counted without the channels this worker is giving up.
  counts.set(view.instance, mine.length)
  const none: Share = { lo, hi, take: [], release: [] }

  // Rule 1.
  if (mine.length > hi) return { ...none, release: mine.sort(byPreference(view.instance, false)).slice(0, mine.length - hi) }

  let short = 0
  for (const [worker, count] of counts) if (worker !== view.instance && count < lo) short += lo - count
  const preferred = () => free.sort(byPreference(view.instance, true))

  // Rules 2 and 3.
  if (mine.length < lo) return { ...none, take: preferred().slice(0, lo - mine.length) }
  if (mine.length < hi) return short === 0 ? { ...none, take: preferred().slice(0, hi - mine.length) } : none

  // Rule 4: at `hi` (above `lo`), with others short of more than the free channels.
  const needed = short - free.length
  if (hi === lo || needed <= 0) return none
  const atHi = workers.filter((w) => counts.get(w) === hi)
  return atHi.indexOf(view.instance) < needed ? { ...none, release: mine.sort(byPreference(view.instance, false)).slice(0, 1) } : none
}
