import { Context, type Effect } from "effect"

/**
 * Where channel credentials are kept, already encrypted by the caller: the store sees only ciphertext
 * under a reference the domain carries instead of the secret.
 */
export class CredentialStore extends Context.Tag("@mm-gateway/ports/CredentialStore")<CredentialStore, {
  /** Keeps `ciphertext` under `ref`; a reference already kept is left as it is. */
  readonly put: (ref: string, ciphertext: string, at: number) => Effect.Effect<void>
  readonly ciphertextOf: (ref: string) => Effect.Effect<string | null>
}>() {}
