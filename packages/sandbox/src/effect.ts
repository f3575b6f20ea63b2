import type { Scope } from "effect"
import { Context, Data, Effect, Layer } from "effect"
import type { Sandbox, SandboxOptions } from "./server.js"
import { startSandbox } from "./server.js"

export class SandboxStartError extends Data.TaggedError("SandboxStartError")<{ readonly cause: unknown }> {}

/** The sandbox as a scoped resource: started on acquire, closed when the scope closes. */
export const scopedSandbox = (options: SandboxOptions = {}): Effect.Effect<Sandbox, SandboxStartError, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.tryPromise({ try: () => startSandbox(options), catch: (cause) => new SandboxStartError({ cause }) }),
    (sandbox) => Effect.promise(() => sandbox.close())
  )

/** The running sandbox as a service, for Effect programs and `layer(...)` in @effect/vitest. */
export class SandboxServer extends Context.Tag("@mm-gateway/sandbox/SandboxServer")<SandboxServer, Sandbox>() {}

export const sandboxLayer = (options: SandboxOptions = {}): Layer.Layer<SandboxServer, SandboxStartError> =>
  Layer.scoped(SandboxServer, scopedSandbox(options))
