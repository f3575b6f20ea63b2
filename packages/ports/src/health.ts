import { Context, Data, type Effect } from "effect"

/** The store cannot serve yet: unreachable, or its schema is not the one this build expects. */
export class StoreNotReady extends Data.TaggedError("StoreNotReady")<{
  readonly message: string
  readonly details: Readonly<Record<string, unknown>>
}> {}

/** Whether the store can serve (`/readyz`). */
export class StoreHealth extends Context.Tag("@mm-gateway/ports/StoreHealth")<StoreHealth, {
  /** How many migrations are applied, once every one this build knows is. */
  readonly ready: () => Effect.Effect<{ readonly migrations: number }, StoreNotReady>
}>() {}
