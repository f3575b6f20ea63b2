import { UnitOfWork } from "@mm-gateway/domain"
import { Deferred, Effect, Exit, Queue, type Scope } from "effect"

/**
 * Groups the database writes submitted at about the same moment into one transaction (one commit)
 * and answers each submitter once it has committed. Under load, the starts and answers of many
 * requests share a commit — and `write` gets them all at once, to record them together; alone, a
 * write commits by itself at once. Writes are store work only (see `UnitOfWork`). If a batch fails,
 * its writes run again one by one, so one bad write fails only itself.
 */
export interface BatchWriter<I, O> {
  readonly submit: (input: I) => Effect.Effect<O>
}

const nextTurn = Effect.async<void>((resume) => {
  const handle = setImmediate(() => resume(Effect.void))
  return Effect.sync(() => clearImmediate(handle))
})

interface Pending<I, O> {
  readonly input: I
  readonly done: Deferred.Deferred<O>
}

/**
 * A batch writer whose batches `write` records (one output per input, in their order) inside the
 * batch's unit of work.
 */
export const makeBatchWriter = <I, O, R>(
  maxBatch: number,
  write: (inputs: ReadonlyArray<I>) => Effect.Effect<ReadonlyArray<O>, never, R>
): Effect.Effect<BatchWriter<I, O>, never, Scope.Scope | UnitOfWork.UnitOfWork | R> =>
  Effect.gen(function*() {
    const queue = yield* Queue.unbounded<Pending<I, O>>()
    const context = yield* Effect.context<UnitOfWork.UnitOfWork | R>()
    const { transact } = yield* UnitOfWork.UnitOfWork
    const round = Effect.gen(function*() {
      const first = yield* Queue.take(queue)
      // Node runs every I/O callback that is ready before the next setImmediate: waiting for it lets the
      // answers that arrived together submit theirs too, so they share this commit.
      yield* nextTurn
      const batch = [first, ...(yield* Queue.takeUpTo(queue, maxBatch - 1))]
      const together = yield* Effect.exit(transact(write(batch.map((p) => p.input))))
      if (Exit.isSuccess(together)) {
        batch.forEach((p, i) => Deferred.unsafeDone(p.done, Exit.succeed(together.value[i]!)))
        return
      }
      for (const p of batch) {
        Deferred.unsafeDone(p.done, yield* Effect.exit(Effect.map(transact(write([p.input])), (alone) => alone[0]!)))
      }
    })
    yield* Effect.forkScoped(Effect.forever(Effect.provide(round, context)))
    return {
      submit: (input: I) =>
        Effect.gen(function*() {
          const done = yield* Deferred.make<O>()
          yield* Queue.offer(queue, { input, done })
          return yield* Deferred.await(done)
        })
    }
  })

/** The `write` of a batch writer whose inputs are store jobs of their own: each run in turn. */
export const eachJob = <A, R>(jobs: ReadonlyArray<Effect.Effect<A, never, R>>): Effect.Effect<ReadonlyArray<A>, never, R> =>
  Effect.forEach(jobs, (job) => job)
