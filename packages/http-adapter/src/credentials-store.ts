import { createHmac } from "node:crypto"
import { Clock, Context, Effect, Layer, Option, Redacted } from "effect"
import { CredentialStore } from "@mm-gateway/ports"
import { ChannelCredentials, type CredentialsKey, encryptCredentials, makeEncryptedChannelCredentials } from "./provider/credentials.js"

export interface PlainCredentials {
  readonly apiKey?: string | undefined
  readonly accessToken?: string | undefined
}

/**
 * Where channel credentials are kept: encrypted (AES-256-GCM with the key from `MMGW_SECRET_KEY`) in the
 * store (`CredentialStore`, which sees only ciphertext), under a reference the domain carries instead of the secret. The reference is an HMAC
 * of the channel and the secrets, so registering the same credentials again changes nothing, and it
 * reveals nothing without the key.
 */
export class CredentialVault extends Context.Tag("@mm-gateway/http-adapter/CredentialVault")<CredentialVault, {
  readonly put: (phoneNumberId: string, credentials: PlainCredentials) => Effect.Effect<string>
}>() {}

export const credentialsRefFor = (key: CredentialsKey, phoneNumberId: string, credentials: PlainCredentials): string =>
  "cred_" +
  createHmac("sha256", Redacted.value(key.bytes))
    .update(`${phoneNumberId}\u0000${credentials.apiKey ?? ""}\u0000${credentials.accessToken ?? ""}`)
    .digest("hex")
    .slice(0, 40)

/** The vault and the `ChannelCredentials` the provider clients resolve from, both over the store's `CredentialStore`. */
export const layerCredentials = (key: CredentialsKey): Layer.Layer<CredentialVault | ChannelCredentials, never, CredentialStore> =>
  Layer.effectContext(Effect.gen(function*() {
    const store = yield* CredentialStore
    const vault = CredentialVault.of({
      put: (phoneNumberId, credentials) =>
        Effect.gen(function*() {
          const ref = credentialsRefFor(key, phoneNumberId, credentials)
          const ciphertext = encryptCredentials(credentials.apiKey === undefined && credentials.accessToken === undefined ? {} : {
            ...(credentials.apiKey === undefined ? {} : { apiKey: credentials.apiKey }),
            ...(credentials.accessToken === undefined ? {} : { accessToken: credentials.accessToken })
          }, key)
          yield* store.put(ref, ciphertext, yield* Clock.currentTimeMillis)
          return ref
        })
    })
    const resolver = makeEncryptedChannelCredentials(key, (ref) => Effect.map(store.ciphertextOf(ref), Option.fromNullable))
    return Context.make(CredentialVault, vault).pipe(Context.add(ChannelCredentials, resolver))
  }))
