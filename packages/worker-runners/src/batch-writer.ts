import { UnitOfWork } from "@mm-gateway/domain"
import { Deferred, Effect, Exit, Queue, type Scope } from "effect"

/**
 * Groups the database writes submitted at about the same moment into one transaction (one commit)
 * and answers each submitter once it has committed. Under load, the starts and answers of many
 * requests share a commit; alone, a write commits by itself at once. Jobs are store work only (see
 * `UnitOfWork`). If a batch fails, its jobs run again one by one, so one bad job fails only itself.
 */
export interface BatchWriter<R> {
  readonly submit: <A>(job: Effect.Effect<A, never, R>) => Effect.Effect<A>
}

const nextTurn = Effect.async<void>((resume) => {
  const handle = setImmediate(() => resume(Effect.void))
  return Effect.sync(() => clearImmediate(handle))
})

interface Pending<R> {
  readonly job: Effect.Effect<unknown, never, R>
  readonly done: Deferred.Deferred<unknown>
}

export const makeBatchWriter = <R>(maxBatch: number): Effect.Effect<BatchWriter<R>, never, Scope.Scope | UnitOfWork.UnitOfWork | R> =>
  Effect.gen(function*() {
    const queue = yield* Queue.unbounded<Pending<R>>()
    const context = yield* Effect.context<UnitOfWork.UnitOfWork | R>()
    const { transact } = yield* UnitOfWork.UnitOfWork
    const write = Effect.gen(function*() {
      const first = yield* Queue.take(queue)
      // Node runs every I/O callback that is ready before the next setImmediate: waiting for it lets the
      // answers that arrived together submit theirs too, so they share this commit.
      yield* nextTurn
      const batch = [first, ...(yield* Queue.takeUpTo(queue, maxBatch - 1))]
      const together = yield* Effect.exit(transact(Effect.forEach(batch, (p) => p.job)))
      if (Exit.isSuccess(together)) {
        batch.forEach((p, i) => Deferred.unsafeDone(p.done, Exit.succeed(together.value[i])))
        return
      }
      for (const p of batch) Deferred.unsafeDone(p.done, yield* Effect.exit(transact(p.job)))
    })
    yield* Effect.forkScoped(Effect.forever(Effect.provide(write, context)))
    return {
      submit: <A>(job: Effect.Effect<A, never, R>) =>
        Effect.gen(function*() {
          const done = yield* Deferred.make<unknown>()
          yield* Queue.offer(queue, { job, done })
          return (yield* Deferred.await(done)) as A
        })
    }
  })
