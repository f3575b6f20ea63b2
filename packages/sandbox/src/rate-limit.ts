/**
 * A token bucket per phone number id, like Meta's per-number throughput: a full second's worth of burst,
 * refilled continuously. `perSecond === 0` lifts the limit (benchmarks measure the gateway, not this).
 */
export const createRateLimiter = (perSecond: number, now: () => number) => {
  const buckets = new Map<string, { tokens: number; at: number }>()
  return {
    /** Takes one token for `key`; false when the bucket is empty. */
    take: (key: string): boolean => {
      if (perSecond <= 0) return true
      const t = now()
      const bucket = buckets.get(key)
      if (bucket === undefined) {
        buckets.set(key, { tokens: perSecond - 1, at: t })
        return true
      }
      bucket.tokens = Math.min(perSecond, bucket.tokens + ((t - bucket.at) * perSecond) / 1000)
      bucket.at = t
      if (bucket.tokens < 1) return false
      bucket.tokens -= 1
      return true
    },
    reset: (): void => buckets.clear()
  }
}
