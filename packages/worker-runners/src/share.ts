import { ChannelShare } from "@mm-gateway/domain"
import { channelLease, channelOfLease, DispatchQueue, Leases, TIMERS_LEASE } from "@mm-gateway/ports"
import { Clock, Effect, type Scope } from "effect"
import type { Dispatcher } from "./dispatcher.js"
import { workerIdOf } from "./lease.js"

export interface ShareSettings {
  /** This process's instance identity (`newInstanceId`): what holds its leases and beats its heartbeat. */
  readonly instance: string
  /** A lease or a heartbeat lapses this long after it was last renewed. */
  readonly leaseTtlMs: number
  /** How often a channel given up is checked for messages still in hand before its lease is released. */
  readonly pollIntervalMs: number
}

/** What the share needs of the timers: recording the attempts cut off on channels just taken. */
export interface InterruptedAttempts<R> {
  readonly recordInterruptedAttempts: (taken: ReadonlySet<string>) => Effect.Effect<void, never, R>
}

/**
 * This worker's part in sharing the channels and the timers out among the live workers
 * (docs/worker.md#many-workers). Each `round` — the session runs one every second, or every third of
 * the lease time if that is shorter —
 * beats the heartbeat and renews every lease the worker holds in one statement each, tells the
 * dispatcher which channels it still holds and which it lost, keeps or takes the timers lease, then
 * asks `ChannelShare.decideShare` what to give up and what to take, and does it:
 *
 * - a channel given up is let go at once (nothing more is let through, no request leaves) and its
 *   lease released once none of its messages is in hand any more (their answers recorded);
 * - a channel taken: first its attempts still in flight are recorded as unknown (they were cut off
 *   under its former holder), then its recent starts are read and the dispatcher takes it with them,
 *   so its rate window holds across the takeover.
 *
 * A lease is usable until a sixth of its time before it could lapse: renewals that fall behind stop
 * the dispatch and the timers before another worker can take over.
 */
export const makeShare = <R>(settings: ShareSettings, dispatcher: Dispatcher, timers: InterruptedAttempts<R>) =>
  Effect.gen(function*() {
    const leases = yield* Leases
    const queue = yield* DispatchQueue
    const { instance, leaseTtlMs } = settings
    const usable = (renewedAt: number) => renewedAt + leaseTtlMs - Math.floor(leaseTtlMs / 6)
    const leaving = new Set<string>()
    let timersUntil = 0
    let twinWarned = false

    /** Lets the channel go now, and releases its lease once nothing of it is in hand. */
    const giveUp = (channel: string): Effect.Effect<void, never, Scope.Scope> =>
      Effect.gen(function*() {
        leaving.add(channel)
        dispatcher.letGo(channel)
        yield* Effect.forkScoped(Effect.gen(function*() {
          while (dispatcher.inHandOn(channel) > 0) yield* Effect.sleep(settings.pollIntervalMs)
          // Still `leaving` until a round sees the lease gone: a round that read it as ours before this
          // release must not take the channel back into the dispatcher.
          yield* leases.release(channelLease(channel), instance)
          yield* Effect.logInfo(`channel ${channel} given up by ${instance}: released for a fair share`)
        }))
      })

    /** The channels whose leases this worker holds (as of `at`) and the dispatcher has not taken yet. */
    const takeOver = (channels: ReadonlyMap<string, number>) =>
      Effect.gen(function*() {
        if (channels.size === 0) return
        yield* timers.recordInterruptedAttempts(new Set(channels.keys()))
        for (const [channel, at] of channels) {
          const now = yield* Clock.currentTimeMillis
          const startedAt = yield* queue.recentStarts(channel, dispatcher.startsSince(now))
          yield* dispatcher.take(channel, usable(at), startedAt, now)
        }
        yield* Effect.logInfo(`channel(s) ${[...channels.keys()].join(", ")} taken by ${instance}`)
      })

    const round: Effect.Effect<void, never, Scope.Scope | R> = Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      yield* leases.heartbeat(instance, leaseTtlMs, now)
      const kept = new Set(yield* leases.renewAll(instance, leaseTtlMs, now))
      const keptChannels = [...kept].flatMap((name) => {
        const channel = channelOfLease(name)
        return channel === null ? [] : [channel]
      })
      dispatcher.keep(keptChannels, usable(now))
      for (const channel of dispatcher.taken()) {
        if (kept.has(channelLease(channel))) continue
        dispatcher.letGo(channel)
        yield* Effect.logWarning(`channel ${channel}: lease lost by ${instance} (renewed too late); another worker may hold it now`)
      }
      for (const channel of [...leaving]) if (!kept.has(channelLease(channel))) leaving.delete(channel)

      if (kept.has(TIMERS_LEASE)) {
        timersUntil = usable(now)
      } else if (yield* leases.acquire(TIMERS_LEASE, instance, leaseTtlMs, now)) {
        timersUntil = usable(now)
        yield* Effect.logInfo(`timers taken by ${instance}`)
      } else if (timersUntil > 0) {
        timersUntil = 0
        yield* Effect.logWarning(`timers: lease lost by ${instance}`)
      }

      const workers = (yield* leases.liveWorkers(now)).map((w) => w.instance)
      const twin = workers.find((w) => w !== instance && workerIdOf(w) === workerIdOf(instance))
      if (twin !== undefined && !twinWarned) {
        twinWarned = true
        yield* Effect.logWarning(
          `another live worker runs under this worker id: ${twin}; this process is ${instance}. They share the work as two workers; give each process its own MMGW_WORKER_ID to tell them apart`
        )
      }
      const holders = new Map<string, string>()
      for (const lease of yield* leases.held(now)) {
        const channel = channelOfLease(lease.name)
        if (channel !== null) holders.set(channel, lease.holder)
      }
      const share = ChannelShare.decideShare({ instance, workers, channels: yield* queue.channels(), holders, leaving })
      for (const channel of share.release) yield* giveUp(channel)

      // Held and not taken by the dispatcher: just acquired, or left over by a round cut short.
      const toTake = new Map<string, number>()
      for (const channel of keptChannels) if (!leaving.has(channel)) toTake.set(channel, now)
      for (const channel of dispatcher.taken()) toTake.delete(channel)
      for (const channel of share.take) {
        const at = yield* Clock.currentTimeMillis
        if (!(yield* leases.acquire(channelLease(channel), instance, leaseTtlMs, at))) continue
        // Given up and released since this round began, and free again: taken back.
        leaving.delete(channel)
        toTake.set(channel, at)
      }
      yield* takeOver(toTake)
    })

    return {
      round,
      /** What the worker holds now, for its logs. */
      summary: (now: number) => {
        const channels = dispatcher.taken().length
        return `${channels} channel(s)${now < timersUntil ? " and the timers" : ""}`
      },
      /** Whether this worker may run the timers at `now`. */
      timersHeld: (now: number) => now < timersUntil,
      /** On stop: every lease released and the heartbeat retired, so the others take over at their next round. */
      leave: Effect.zipRight(leases.releaseAll(instance), leases.retire(instance))
    }
  })
