import type { Scope } from "effect"
import { Data, Effect } from "effect"
import type { Sandbox, SandboxOptions } from "./server.js"
import { startSandbox } from "./server.js"

export class SandboxStartError extends Data.TaggedError("SandboxStartError")<{ readonly cause: unknown }> {}

/** The sandbox as a scoped resource: started on acquire, closed when the scope closes. */
export const scopedSandbox = (options: SandboxOptions = {}): Effect.Effect<Sandbox, SandboxStartError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.tryPromise({ try: () => startSandbox(options), catch: (cause) => new SandboxStartError({ cause }) }),
    (sandbox) => Effect.promise(() => sandbox.close())
  )
