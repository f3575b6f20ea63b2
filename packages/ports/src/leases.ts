import { Context, type Effect } from "effect"

/**
 * Named leases (one dispatcher at a time, docs/worker.md#leases). Each operation is atomic across
 * processes; times come from the caller so tests need no clock.
 * `holder` must name one process, not a name several may be configured with: the lease counts any
 * holder equal to its own as itself.
 */
export class Leases extends Context.Tag("@mm-gateway/ports/Leases")<Leases, {
  /** Takes the lease when it is free, expired, or already ours (which renews it). */
  readonly acquire: (name: string, holder: string, ttlMs: number, now: number) => Effect.Effect<boolean>
  /** Extends a lease we still hold; false when it expired and someone else may have it. */
  readonly renew: (name: string, holder: string, ttlMs: number, now: number) => Effect.Effect<boolean>
  readonly release: (name: string, holder: string) => Effect.Effect<void>
  readonly holderOf: (name: string, now: number) => Effect.Effect<string | null>
}>() {}

