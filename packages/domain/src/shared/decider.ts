import { Either } from "effect"

/**
 * A decider (Chassaing): `decide` turns a command and the current state into new events or a
 * rejection; `evolve` folds one event into the state. Both are pure and total. An empty event list
 * means "nothing to do", which is how repeated commands and webhooks become harmless.
 */
export interface Decider<Command, Event, State, Error> {
  readonly decide: (command: Command, state: State) => Either.Either<ReadonlyArray<Event>, Error>
  readonly evolve: (state: State, event: Event) => State
  readonly initialState: () => State
}

export const fold = <Event, State>(
  decider: Pick<Decider<unknown, Event, State, unknown>, "evolve" | "initialState">,
  events: Iterable<Event>
): State => {
  let state = decider.initialState()
  for (const event of events) state = decider.evolve(state, event)
  return state
}

export const accept = <Event>(...events: ReadonlyArray<Event>): Either.Either<ReadonlyArray<Event>, never> =>
  Either.right(events)

export const nothing: Either.Either<ReadonlyArray<never>, never> = Either.right([])

export const reject = <Error>(error: Error): Either.Either<never, Error> => Either.left(error)
