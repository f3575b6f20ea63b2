import { WorkerLease } from "@mm-gateway/sqlite-projection"
import { Clock, Data, Effect } from "effect"

/** One worker works at a time (docs/worker.md#leases): the inbox, the timers and above all the dispatcher. */
export const LEASE_NAME = "worker"

export class LeaseLost extends Data.TaggedError("LeaseLost")<{ readonly holder: string }> {}

/** Waits until the lease is ours; says once per holder who has it meanwhile. Returns the acquisition time. */
export const waitForLease = (holder: string, ttlMs: number) =>
  Effect.gen(function*() {
    const lease = yield* WorkerLease
    const pollMs = Math.max(50, Math.min(1_000, Math.floor(ttlMs / 3)))
    let reported: string | null = null
    for (;;) {
      const now = yield* Clock.currentTimeMillis
      if (yield* lease.acquire(LEASE_NAME, holder, ttlMs, now)) return now
      const other = yield* lease.holderOf(LEASE_NAME, now)
      if (other !== null && other !== reported) {
        reported = other
        yield* Effect.logInfo(`waiting for the lease: ${other} holds it (it lapses ${ttlMs} ms after its last renewal)`)
      }
      yield* Effect.sleep(pollMs)
    }
  })

/**
 * Renews the lease every third of its time to live and tells `onRenewed` until when it is ours.
 * Fails with `LeaseLost` when a renewal finds it gone (we were paused past its expiry and another
 * worker may hold it now).
 */
export const keepLease = (holder: string, ttlMs: number, onRenewed: (validUntil: number) => void) =>
  Effect.gen(function*() {
    const lease = yield* WorkerLease
    for (;;) {
      yield* Effect.sleep(Math.max(10, Math.floor(ttlMs / 3)))
      const now = yield* Clock.currentTimeMillis
      if (!(yield* lease.renew(LEASE_NAME, holder, ttlMs, now))) return yield* Effect.fail(new LeaseLost({ holder }))
      onRenewed(now + ttlMs)
    }
  })
