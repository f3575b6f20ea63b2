import { assert } from "@effect/vitest"
import { Either } from "effect"
import { type Decider, fold } from "../src/shared/decider.js"

/**
 * Given/when/then for deciders (after emmett's `DeciderSpecification`):
 * `deciderSpec(D).given(events).when(command).then(events) | thenFails(tag) | thenNothing()`.
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
        thenFails: (tag: string, check?: (error: Error) => void) => {
          const r = result()
          if (Either.isRight(r)) assert.fail(`expected ${tag}, got events ${JSON.stringify(r.right)}`)
          else {
            assert.strictEqual((r.left as { _tag?: string })._tag, tag)
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
