import { Leases } from "@mm-gateway/ports"
import { Clock, Data, Effect } from "effect"
import { randomBytes } from "node:crypto"

/** One worker works at a time (docs/worker.md#leases): the inbox, the timers and above all the dispatcher. */
export const LEASE_NAME = "worker"

/**
 * The identity this process holds the lease under: its worker id (`MMGW_WORKER_ID`, a name for people,
 * which two processes may be given by mistake), its pid and a random part drawn at start. The lease
 * compares the whole, so a second process with the same worker id waits as a standby instead of
 * renewing, and dispatching under, the first one's lease; a restart after a crash is a new instance
 * too, and takes the lease once the crashed one's lapses.
 */
export const newInstanceId = (workerId: string): string => `${workerId}#${process.pid}-${randomBytes(3).toString("hex")}`

/** The worker id an instance identity was made from (a holder written without one is all worker id). */
export const workerIdOf = (instance: string): string => {
  const cut = instance.lastIndexOf("#")
  return cut === -1 ? instance : instance.slice(0, cut)
}

export class LeaseLost extends Data.TaggedError("LeaseLost")<{ readonly holder: string }> {}

/**
 * Waits until the lease is ours (`instance`, from `newInstanceId`); says once per holder who has it
 * meanwhile, and warns when that holder runs under the same worker id. Returns the acquisition time.
 */
export const waitForLease = (instance: string, ttlMs: number) =>
  Effect.gen(function*() {
    const lease = yield* Leases
    const pollMs = Math.max(50, Math.min(1_000, Math.floor(ttlMs / 3)))
    let reported: string | null = null
    for (;;) {
      const now = yield* Clock.currentTimeMillis
      if (yield* lease.acquire(LEASE_NAME, instance, ttlMs, now)) return now
      const other = yield* lease.holderOf(LEASE_NAME, now)
      if (other !== null && other !== reported) {
        reported = other
        const lapse = `it lapses ${ttlMs} ms after its last renewal`
        yield* workerIdOf(other) === workerIdOf(instance)
          ? Effect.logWarning(
            `waiting for the lease as a standby: ${other} holds it, another process with this worker id (${lapse}); this process is ${instance}; give each process its own MMGW_WORKER_ID`
          )
          : Effect.logInfo(`waiting for the lease: ${other} holds it (${lapse}); this process is ${instance}`)
      }
      yield* Effect.sleep(pollMs)
    }
  })

/**
 * Renews the lease every third of its time to live and tells `onRenewed` until when it is ours.
 * Fails with `LeaseLost` when a renewal finds it gone (we were paused past its expiry and another
 * worker may hold it now).
 */
export const keepLease = (instance: string, ttlMs: number, onRenewed: (validUntil: number) => void) =>
  Effect.gen(function*() {
    const lease = yield* Leases
    for (;;) {
      yield* Effect.sleep(Math.max(10, Math.floor(ttlMs / 3)))
      const now = yield* Clock.currentTimeMillis
      if (!(yield* lease.renew(LEASE_NAME, instance, ttlMs, now))) return yield* Effect.fail(new LeaseLost({ holder: instance }))
      onRenewed(now + ttlMs)
    }
  })
