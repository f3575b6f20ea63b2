import { Context, Effect, Exit, FiberRef } from "effect"

/**
 * The unit of work: one transaction boundary around store operations. Everything `work` does through
 * the store's ports (appends, projections, parked statuses, …) commits together, or — on a failure, a
 * defect or an interruption — not at all. `work` may be asynchronous; the store decides how it keeps
 * other writers out meanwhile. Inside a unit of work already in progress on the same fiber, `transact`
 * simply joins it.
 *
 * `work` must not have effects outside the store that matter if it is rolled back (no provider
 * requests, no messages to other processes): it may be undone, and the caller may run it again.
 */
export class UnitOfWork extends Context.Tag("@mm-gateway/domain/UnitOfWork")<UnitOfWork, {
  readonly transact: <A, E, R>(work: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
}>() {}

/** What a store does at a transaction's edges; each may throw (a defect). */
export interface TransactionHooks {
  readonly begin: () => void
  readonly commit: () => void
  readonly rollback: () => void
}

/**
 * For store implementations over one connection (SQLite's, the in-memory store): one transaction at a
 * time, and no operation from outside it while it is open — otherwise a fiber scheduled while the
 * transaction waits would read its uncommitted writes, or write into it. Operations of the fiber that
 * holds the transaction (and of fibers it forks) run at once; every other operation waits for the end
 * of the transaction. A store built on a pool of connections (PostgreSQL) needs none of this.
 */
export interface TransactionGate {
  /** Runs one store operation under the gate. */
  readonly operation: <A, E, R>(op: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  /** `UnitOfWork.transact` for the connection: begin, run `work`, then commit or roll back. */
  readonly transact: (hooks: TransactionHooks) => <A, E, R>(work: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
}

export const makeTransactionGate = (): TransactionGate => {
  const lock = Effect.unsafeMakeSemaphore(1)
  const holding = FiberRef.unsafeMake(false)
  const operation = <A, E, R>(op: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    // Marked as holding meanwhile, so an operation made of other operations does not wait for itself.
    Effect.flatMap(FiberRef.get(holding), (mine) => (mine ? op : lock.withPermits(1)(Effect.locally(op, holding, true))))
  const transact = (hooks: TransactionHooks) => <A, E, R>(work: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.flatMap(FiberRef.get(holding), (mine) =>
      mine ? work : lock.withPermits(1)(Effect.uninterruptibleMask((restore) =>
        Effect.zipRight(
          Effect.sync(hooks.begin),
          Effect.flatMap(Effect.exit(restore(Effect.locally(work, holding, true))), (exit) =>
            Exit.isSuccess(exit)
              ? Effect.as(Effect.onError(Effect.sync(hooks.commit), () => Effect.sync(hooks.rollback)), exit.value)
              : Effect.zipRight(Effect.sync(hooks.rollback), exit))
        ))))
  return { operation, transact }
}
