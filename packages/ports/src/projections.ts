import { Context, type Effect } from "effect"

/** The read models' catch-up: what other writers left unprojected (a backlog too large to project inline). */
export class ProjectionRunner extends Context.Tag("@mm-gateway/ports/ProjectionRunner")<ProjectionRunner, {
  /** Applies what is behind the read models' checkpoints; how many events it applied. */
  readonly catchUp: () => Effect.Effect<number>
}>() {}
