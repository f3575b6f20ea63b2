import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from "node:crypto"
import { Config, Context, Data, Effect, Either, Layer, Option, Redacted } from "effect"

/** A channel's provider secrets, as the clients use them. */
export interface ChannelSecrets {
  /** 360dialog's `D360-API-KEY`; for the sandbox, the bearer token. */
  readonly apiKey?: Redacted.Redacted<string>
  /** Meta's bearer token (a system user token with `whatsapp_business_messaging`). */
  readonly accessToken?: Redacted.Redacted<string>
}

/** Nothing is stored under this reference, or what is stored cannot be decrypted. */
export class CredentialsNotFound extends Data.TaggedError("CredentialsNotFound")<{
  readonly credentialsRef: string
  readonly reason: "missing" | "undecryptable"
}> {
  override get message() {
    return `credentials ${this.reason} for reference ${this.credentialsRef}`
  }
}

/** Resolves a channel's `credentialsRef` to its secrets at send time. */
export class ChannelCredentials extends Context.Tag("@mm-gateway/http-adapter/ChannelCredentials")<ChannelCredentials, {
  readonly resolve: (credentialsRef: string) => Effect.Effect<ChannelSecrets, CredentialsNotFound>
}>() {}

/** A 32-byte AES-256 key; built only by `deriveCredentialsKey`. */
export interface CredentialsKey {
  readonly _tag: "CredentialsKey"
  readonly bytes: Redacted.Redacted<Buffer>
}

/**
 * The salt is fixed so the same `MMGW_SECRET_KEY` always yields the same key (the database outlives
 * the process); scrypt still makes a guessed secret expensive to try against a stolen database.
 */
const KEY_SALT = "mm-gateway/channel-credentials/v1"
const SCRYPT = { N: 1 << 14, r: 8, p: 1 } as const

/** scrypt(secret, fixed salt, N=2^14, r=8, p=1) → 32 bytes. Synchronous: derive once at start-up. */
export const deriveCredentialsKey = (secret: string | Redacted.Redacted<string>): CredentialsKey => {
  const value = Redacted.isRedacted(secret) ? Redacted.value(secret) : secret
  if (value.length === 0) throw new Error("MMGW_SECRET_KEY must not be empty")
  return { _tag: "CredentialsKey", bytes: Redacted.make(scryptSync(value, KEY_SALT, 32, SCRYPT)) }
}

/** The key from `MMGW_SECRET_KEY`. */
export const credentialsKeyConfig: Config.Config<CredentialsKey> = Config.redacted("MMGW_SECRET_KEY").pipe(
  Config.validate({ message: "MMGW_SECRET_KEY must not be empty", validation: (s) => Redacted.value(s).length > 0 }),
  Config.map(deriveCredentialsKey)
)

export class CredentialsDecryptError extends Data.TaggedError("CredentialsDecryptError")<{
  readonly reason: "malformed" | "unsupported_version" | "authentication_failed" | "invalid_content"
}> {
  override get message() {
    return `stored credentials cannot be decrypted: ${this.reason}`
  }
}

const VERSION = "v1"
/** Binds a ciphertext to its purpose, so it cannot be replayed as another kind of secret. */
const CREDENTIALS_PURPOSE = "mm-gateway channel credentials v1"

const plain = (secret: Redacted.Redacted<string> | string | undefined): string | undefined =>
  secret === undefined ? undefined : Redacted.isRedacted(secret) ? Redacted.value(secret) : secret

/**
 * AES-256-GCM with a random 96-bit IV and `purpose` as additional data: `v1:<iv b64>:<tag b64>:<ciphertext b64>`.
 * Channel credentials and webhook endpoints' signing secrets are kept this way, each under its purpose.
 */
export const sealSecret = (text: string, key: CredentialsKey, purpose: string): string => {
  const iv = randomBytes(12)
  const cipher = createCipheriv("aes-256-gcm", Redacted.value(key.bytes), iv)
  cipher.setAAD(Buffer.from(purpose))
  const ciphertext = Buffer.concat([cipher.update(text, "utf8"), cipher.final()])
  return [VERSION, iv.toString("base64"), cipher.getAuthTag().toString("base64"), ciphertext.toString("base64")].join(":")
}

const B64 = /^[A-Za-z0-9+/]*={0,2}$/

/** The text `sealSecret` sealed for `purpose`, or why it cannot be opened. */
export const openSecret = (stored: string, key: CredentialsKey, purpose: string): Either.Either<string, CredentialsDecryptError> => {
  const parts = stored.split(":")
  if (parts[0] !== VERSION) {
    return Either.left(new CredentialsDecryptError({ reason: parts.length === 4 ? "unsupported_version" : "malformed" }))
  }
  const [, ivText, tagText, bodyText] = parts
  if (parts.length !== 4 || ivText === undefined || tagText === undefined || bodyText === undefined || ![ivText, tagText, bodyText].every((p) => B64.test(p))) {
    return Either.left(new CredentialsDecryptError({ reason: "malformed" }))
  }
  const iv = Buffer.from(ivText, "base64")
  const tag = Buffer.from(tagText, "base64")
  if (iv.length !== 12 || tag.length !== 16) return Either.left(new CredentialsDecryptError({ reason: "malformed" }))
  try {
    const decipher = createDecipheriv("aes-256-gcm", Redacted.value(key.bytes), iv, { authTagLength: 16 })
    decipher.setAAD(Buffer.from(purpose))
    decipher.setAuthTag(tag)
    return Either.right(Buffer.concat([decipher.update(Buffer.from(bodyText, "base64")), decipher.final()]).toString("utf8"))
  } catch {
    return Either.left(new CredentialsDecryptError({ reason: "authentication_failed" }))
  }
}

/** A channel's credentials sealed (`sealSecret`) as the JSON `{"apiKey"?, "accessToken"?}`. */
export const encryptCredentials = (
  secrets: {
    readonly apiKey?: Redacted.Redacted<string> | string | undefined
    readonly accessToken?: Redacted.Redacted<string> | string | undefined
  },
  key: CredentialsKey
): string => {
  const apiKey = plain(secrets.apiKey)
  const accessToken = plain(secrets.accessToken)
  const json = JSON.stringify({ ...(apiKey === undefined ? {} : { apiKey }), ...(accessToken === undefined ? {} : { accessToken }) })
  return sealSecret(json, key, CREDENTIALS_PURPOSE)
}

export const decryptCredentials = (
  stored: string,
  key: CredentialsKey
): Either.Either<ChannelSecrets, CredentialsDecryptError> =>
  Either.flatMap(openSecret(stored, key, CREDENTIALS_PURPOSE), (json) => {
    let parsed: unknown
    try {
      parsed = JSON.parse(json)
    } catch {
      return Either.left(new CredentialsDecryptError({ reason: "invalid_content" }))
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
      return Either.left(new CredentialsDecryptError({ reason: "invalid_content" }))
    }
    const record = parsed as Record<string, unknown>
    const apiKey = record["apiKey"]
    const accessToken = record["accessToken"]
    if ((apiKey !== undefined && typeof apiKey !== "string") || (accessToken !== undefined && typeof accessToken !== "string")) {
      return Either.left(new CredentialsDecryptError({ reason: "invalid_content" }))
    }
    return Either.right({
      ...(apiKey === undefined ? {} : { apiKey: Redacted.make(apiKey) }),
      ...(accessToken === undefined ? {} : { accessToken: Redacted.make(accessToken) })
    })
  })

/** References resolved at most; beyond that the cache starts over (a gateway has far fewer channels). */
const MAX_CACHED = 10_000

/**
 * `ChannelCredentials` over wherever the ciphertext lives: `lookup` returns the stored `v1:…` string
 * for a reference (the SQLite package provides it). A reference names its secrets for good (it is an
 * HMAC of the channel and the secrets, never overwritten: `credentialsRefFor`), so what was decrypted
 * once is kept, redacted, for the life of the process instead of being looked up and decrypted on every
 * send. Only successes are kept: a reference missing now may be stored later.
 */
export const makeEncryptedChannelCredentials = (
  key: CredentialsKey,
  lookup: (credentialsRef: string) => Effect.Effect<Option.Option<string>>
): Context.Tag.Service<ChannelCredentials> => {
  const resolved = new Map<string, ChannelSecrets>()
  const fromStore = (credentialsRef: string) =>
    lookup(credentialsRef).pipe(
      Effect.flatMap(Option.match({
        onNone: () => Effect.fail(new CredentialsNotFound({ credentialsRef, reason: "missing" })),
        onSome: (stored) =>
          Either.match(decryptCredentials(stored, key), {
            onLeft: () => Effect.fail(new CredentialsNotFound({ credentialsRef, reason: "undecryptable" })),
            onRight: (secrets) =>
              Effect.sync(() => {
                if (resolved.size >= MAX_CACHED) resolved.clear()
                resolved.set(credentialsRef, secrets)
                return secrets
              })
          })
      }))
    )
  return {
    resolve: (credentialsRef) => {
      const known = resolved.get(credentialsRef)
      return known === undefined ? fromStore(credentialsRef) : Effect.succeed(known)
    }
  }
}

/** For tests and the demo: plaintext secrets held in memory, keyed by reference. */
export const inMemoryChannelCredentials = (
  entries: Readonly<Record<string, { readonly apiKey?: string; readonly accessToken?: string }>>
): Layer.Layer<ChannelCredentials> => {
  const table = new Map<string, ChannelSecrets>(
    Object.entries(entries).map(([ref, s]) => [ref, {
      ...(s.apiKey === undefined ? {} : { apiKey: Redacted.make(s.apiKey) }),
      ...(s.accessToken === undefined ? {} : { accessToken: Redacted.make(s.accessToken) })
    }])
  )
  return Layer.succeed(ChannelCredentials, {
    resolve: (credentialsRef) => {
      const found = table.get(credentialsRef)
      return found === undefined
        ? Effect.fail(new CredentialsNotFound({ credentialsRef, reason: "missing" }))
        : Effect.succeed(found)
    }
  })
}
