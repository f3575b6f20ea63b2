import { assert } from "@effect/vitest"
import { Either } from "effect"
import { type Decider, fold } from "../src/shared/decider.js"

interface Tagged {
  readonly _tag: string
}

/** An error's tag and own fields, as plain data (errors compare by what they say, not by identity). */
const fieldsOf = (error: unknown): Record<string, unknown> =>
  ({ _tag: (error as Partial<Tagged>)._tag, ...(error as object) })

/**
 * Given/when/then for deciders (after emmett's `DeciderSpecification`):
 * `deciderSpec(D).given(events).when(command).then(events) | thenFails(tag or error) | thenNothing()`.
 */
export const deciderSpec = <Command, Event, State, Error>(decider: Decider<Command, Event, State, Error>) => ({
  given: (events: ReadonlyArray<Event>) => ({
    when: (command: Command) => {
      const result = () => decider.decide(command, fold(decider, events))
      return {
        then: (expected: ReadonlyArray<Event>) => {
          const r = result()
          if (Either.isLeft(r)) assert.fail(`expected events, got ${JSON.stringify(r.left)}`)
          else assert.deepStrictEqual(r.right, expected)
        },
        thenNothing: () => {
          const r = result()
          if (Either.isLeft(r)) assert.fail(`expected no events, got ${JSON.stringify(r.left)}`)
          else assert.deepStrictEqual(r.right, [])
        },
        /**
         * Rejected: with an error of this tag, or — given an error value — with exactly that error
         * (same tag, same fields).
         */
        thenFails: (expected: string | Tagged, check?: (error: Error) => void) => {
          const tag = typeof expected === "string" ? expected : expected._tag
          const r = result()
          if (Either.isRight(r)) assert.fail(`expected ${tag}, got events ${JSON.stringify(r.right)}`)
          else {
            assert.strictEqual((r.left as { _tag?: string })._tag, tag)
            if (typeof expected !== "string") assert.deepStrictEqual(fieldsOf(r.left), fieldsOf(expected))
            check?.(r.left)
          }
        },
        /** The events decided, for assertions the helpers above do not cover. */
        events: (): ReadonlyArray<Event> => {
          const r = result()
          if (Either.isLeft(r)) assert.fail(`expected events, got ${JSON.stringify(r.left)}`)
          return Either.getOrThrow(r)
        }
      }
    }
  })
})
