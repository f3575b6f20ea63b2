import { createHash, createHmac, timingSafeEqual } from "node:crypto"
import { Either, Redacted, Schema } from "effect"

/**
 * Verification of webhook deliveries, before anything parses the body: Meta's `X-Hub-Signature-256`,
 * Meta's GET subscription handshake, and 360dialog's shared header and `x-360dialog-signature`.
 * Everything here works on the raw bytes the sender signed and compares in constant time.
 */

/** A secret as configuration hands it over: `Config.redacted` gives a `Redacted`, tests a plain string. */
export type Secret = string | Redacted.Redacted<string>

/** Request headers as Node and @effect/platform give them (names lower-cased; Node may repeat a header). */
export type HeaderBag = Readonly<Record<string, string | ReadonlyArray<string> | undefined>>

/** Which check a failure is about, so logs and metrics can tell them apart without seeing any secret. */
export const VerificationScheme = Schema.Literal("meta_signature", "360dialog_header", "360dialog_signature")
export type VerificationScheme = typeof VerificationScheme.Type

/** The header that should carry the proof is absent (or empty). */
export class SignatureMissing extends Schema.TaggedError<SignatureMissing>()("SignatureMissing", {
  scheme: VerificationScheme,
  header: Schema.String,
  httpStatus: Schema.Literal(401)
}) {}

/** The header is present but not in the expected shape (wrong prefix, not hex, wrong length, repeated). */
export class SignatureMalformed extends Schema.TaggedError<SignatureMalformed>()("SignatureMalformed", {
  scheme: VerificationScheme,
  header: Schema.String,
  reason: Schema.String,
  httpStatus: Schema.Literal(401)
}) {}

/** The proof is well formed but does not match the body (or the shared secret). */
export class SignatureMismatch extends Schema.TaggedError<SignatureMismatch>()("SignatureMismatch", {
  scheme: VerificationScheme,
  header: Schema.String,
  httpStatus: Schema.Literal(401)
}) {}

/** Meta's GET handshake was refused; Meta expects a 4xx, the gateway answers 403 (docs/webhooks.md#ingress). */
export class HandshakeRejected extends Schema.TaggedError<HandshakeRejected>()("HandshakeRejected", {
  reason: Schema.Literal("mode_not_subscribe", "verify_token_mismatch", "challenge_missing_or_too_long", "parameter_repeated"),
  httpStatus: Schema.Literal(403)
}) {}

/** The webhook verification settings cannot protect the endpoint; refuse to start rather than accept everything. */
export class WebhookConfigInvalid extends Schema.TaggedError<WebhookConfigInvalid>()("WebhookConfigInvalid", {
  setting: Schema.String,
  reason: Schema.String
}) {}

export type SignatureFailure = SignatureMissing | SignatureMalformed | SignatureMismatch

/** Checks one POST: the raw body as received and its headers. */
export type SignatureVerifier = (rawBody: Uint8Array | string, headers: HeaderBag) => Either.Either<void, SignatureFailure>

export const META_SIGNATURE_HEADER = "x-hub-signature-256"
export const DIALOG360_SIGNATURE_HEADER = "x-360dialog-signature"
export const DEFAULT_DIALOG360_HEADER = "x-mmgw-webhook-secret"

const SHA256_PREFIX = "sha256="
const HEX_DIGEST = /^[0-9a-fA-F]{64}$/
// A SHA-256 digest in standard or URL-safe base64, with or without padding.
const BASE64_DIGEST = /^[A-Za-z0-9+/_-]{43}=?$/
// RFC 9110 token characters: what a header name may consist of.
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/
const MAX_CHALLENGE_LENGTH = 1024

const reveal = (secret: Secret): string => Redacted.isRedacted(secret) ? Redacted.value(secret) : secret

const toBytes = (body: Uint8Array | string): Uint8Array => typeof body === "string" ? Buffer.from(body, "utf8") : body

const hmac = (key: Buffer, body: Uint8Array): Buffer => createHmac("sha256", key).update(body).digest()

// Hashing both sides first gives equal lengths, so secrets of different lengths compare in constant time too.
const sameSecret = (expectedDigest: Buffer, given: string): boolean =>
  timingSafeEqual(expectedDigest, createHash("sha256").update(given, "utf8").digest())

const secretDigest = (secret: string): Buffer => createHash("sha256").update(secret, "utf8").digest()

/** One header value; a repeated header is ambiguous and reported as such rather than guessed at. */
const headerValue = (
  headers: HeaderBag,
  name: string
): { readonly _tag: "Absent" } | { readonly _tag: "Repeated" } | { readonly _tag: "Present"; readonly value: string } => {
  const lower = name.toLowerCase()
  let raw = headers[lower]
  if (raw === undefined) {
    for (const key of Object.keys(headers)) {
      if (key.toLowerCase() === lower) {
        raw = headers[key]
        break
      }
    }
  }
  if (raw === undefined) return { _tag: "Absent" }
  if (typeof raw !== "string") {
    if (raw.length === 0) return { _tag: "Absent" }
    if (raw.length > 1) return { _tag: "Repeated" }
    raw = raw[0] as string
  }
  return raw.trim() === "" ? { _tag: "Absent" } : { _tag: "Present", value: raw.trim() }
}

type DigestParse = { readonly _tag: "Digest"; readonly digest: Buffer } | { readonly _tag: "Malformed"; readonly reason: string }

const parseDigest = (text: string, allowBase64: boolean): DigestParse => {
  if (HEX_DIGEST.test(text)) return { _tag: "Digest", digest: Buffer.from(text, "hex") }
  if (allowBase64 && BASE64_DIGEST.test(text)) {
    const digest = Buffer.from(text.replace(/-/g, "+").replace(/_/g, "/"), "base64")
    if (digest.length === 32) return { _tag: "Digest", digest }
  }
  return {
    _tag: "Malformed",
    reason: allowBase64 ? "expected a SHA-256 digest as 64 hex characters (or base64)" : "expected 64 hex characters after sha256="
  }
}

const checkDigest = (
  scheme: VerificationScheme,
  header: string,
  expected: Buffer,
  given: string,
  options: { readonly requirePrefix: boolean; readonly allowBase64: boolean }
): Either.Either<void, SignatureFailure> => {
  let text = given
  if (text.startsWith(SHA256_PREFIX)) text = text.slice(SHA256_PREFIX.length)
  else if (options.requirePrefix) {
    return Either.left(new SignatureMalformed({ scheme, header, reason: "expected the prefix sha256=", httpStatus: 401 }))
  }
  const parsed = parseDigest(text, options.allowBase64)
  if (parsed._tag === "Malformed") {
    return Either.left(new SignatureMalformed({ scheme, header, reason: parsed.reason, httpStatus: 401 }))
  }
  return timingSafeEqual(expected, parsed.digest)
    ? Either.void
    : Either.left(new SignatureMismatch({ scheme, header, httpStatus: 401 }))
}

/**
 * A verifier for `POST /webhooks/meta`: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(raw body, app secret)>`.
 * The key is prepared once; each call is one HMAC over the bytes as received, so a body re-serialised
 * by a JSON parser (Meta signs an escaped-unicode form) never verifies.
 */
export const makeMetaSignatureVerifier = (appSecret: Secret): Either.Either<SignatureVerifier, WebhookConfigInvalid> => {
  const secret = reveal(appSecret)
  if (secret === "") {
    return Either.left(new WebhookConfigInvalid({ setting: "MMGW_META_APP_SECRET", reason: "the app secret is empty" }))
  }
  const key = Buffer.from(secret, "utf8")
  return Either.right((rawBody, headers) => {
    const header = headerValue(headers, META_SIGNATURE_HEADER)
    if (header._tag === "Absent") {
      return Either.left(new SignatureMissing({ scheme: "meta_signature", header: META_SIGNATURE_HEADER, httpStatus: 401 }))
    }
    if (header._tag === "Repeated") {
      return Either.left(new SignatureMalformed({
        scheme: "meta_signature",
        header: META_SIGNATURE_HEADER,
        reason: "the header is repeated",
        httpStatus: 401
      }))
    }
    return checkDigest("meta_signature", META_SIGNATURE_HEADER, hmac(key, toBytes(rawBody)), header.value, {
      requirePrefix: true,
      allowBase64: false
    })
  })
}

/** One-shot form of {@link makeMetaSignatureVerifier}, for callers holding the header value itself. */
export const verifyMetaSignature = (
  appSecret: Secret,
  rawBody: Uint8Array | string,
  signatureHeader: string | null | undefined
): Either.Either<void, SignatureFailure | WebhookConfigInvalid> =>
  Either.flatMap(
    makeMetaSignatureVerifier(appSecret),
    (verify) => verify(rawBody, signatureHeader == null ? {} : { [META_SIGNATURE_HEADER]: signatureHeader })
  )

/** The query of Meta's GET handshake, as a router hands it over (a parameter may be repeated). */
export type HandshakeQuery = Readonly<Record<string, string | ReadonlyArray<string> | undefined>>

/**
 * A verifier for `GET /webhooks/meta`: `hub.mode=subscribe` and `hub.verify_token` equal to the
 * configured token → the `hub.challenge` to answer with 200 (as `text/plain`: it is the caller's text).
 */
export type HandshakeVerifier = (query: HandshakeQuery) => Either.Either<string, HandshakeRejected>

export const makeHandshakeVerifier = (verifyToken: Secret): Either.Either<HandshakeVerifier, WebhookConfigInvalid> => {
  const token = reveal(verifyToken)
  if (token === "") {
    return Either.left(new WebhookConfigInvalid({ setting: "MMGW_META_VERIFY_TOKEN", reason: "the verify token is empty" }))
  }
  const expected = secretDigest(token)
  const reject = (reason: HandshakeRejected["reason"]) => Either.left(new HandshakeRejected({ reason, httpStatus: 403 }))
  return Either.right((query) => {
    const single = (name: string): string | null | "repeated" => {
      const value = query[name]
      if (value === undefined) return null
      if (typeof value === "string") return value
      if (value.length > 1) return "repeated"
      return value[0] ?? null
    }
    const mode = single("hub.mode")
    const given = single("hub.verify_token")
    const challenge = single("hub.challenge")
    if (mode === "repeated" || given === "repeated" || challenge === "repeated") return reject("parameter_repeated")
    if (mode !== "subscribe") return reject("mode_not_subscribe")
    if (given === null || !sameSecret(expected, given)) return reject("verify_token_mismatch")
    if (challenge === null || challenge === "" || challenge.length > MAX_CHALLENGE_LENGTH) return reject("challenge_missing_or_too_long")
    return Either.right(challenge)
  })
}

/** One-shot form of {@link makeHandshakeVerifier}. */
export const verifyHandshake = (
  verifyToken: Secret,
  query: HandshakeQuery
): Either.Either<string, HandshakeRejected | WebhookConfigInvalid> =>
  Either.flatMap(makeHandshakeVerifier(verifyToken), (verify) => verify(query))

export interface Dialog360VerificationConfig {
  /** `MMGW_360DIALOG_WEBHOOK_HEADER`; defaults to `x-mmgw-webhook-secret`. */
  readonly headerName?: string | undefined
  /** `MMGW_360DIALOG_WEBHOOK_SECRET`: the value 360dialog was told to send in that header. */
  readonly headerSecret?: Secret | null | undefined
  /** `MMGW_360DIALOG_PLATFORM_SECRET`: the key of the `x-360dialog-signature` HMAC. */
  readonly platformSecret?: Secret | null | undefined
}

/**
 * A verifier for `POST /webhooks/360dialog`. Every configured check must pass: the shared header
 * secret when one is set, the `x-360dialog-signature` HMAC-SHA256 of the raw body when a platform
 * secret is set. With neither configured the endpoint would accept anyone, so that is a configuration
 * error. The signature's encoding is not documented: lowercase (or uppercase) hex, optionally prefixed
 * `sha256=`, and base64 of the 32-byte digest are accepted — each names the same MAC, so accepting
 * them all costs no security.
 */
export const make360dialogVerifier = (
  config: Dialog360VerificationConfig
): Either.Either<SignatureVerifier, WebhookConfigInvalid> => {
  const headerName = (config.headerName ?? DEFAULT_DIALOG360_HEADER).trim().toLowerCase()
  const headerSecret = config.headerSecret == null ? null : reveal(config.headerSecret)
  const platformSecret = config.platformSecret == null ? null : reveal(config.platformSecret)
  if (headerSecret === null && platformSecret === null) {
    return Either.left(new WebhookConfigInvalid({
      setting: "MMGW_360DIALOG_WEBHOOK_SECRET / MMGW_360DIALOG_PLATFORM_SECRET",
      reason: "neither a shared header secret nor a platform secret is configured"
    }))
  }
  if (headerSecret === "") {
    return Either.left(new WebhookConfigInvalid({ setting: "MMGW_360DIALOG_WEBHOOK_SECRET", reason: "the header secret is empty" }))
  }
  if (platformSecret === "") {
    return Either.left(new WebhookConfigInvalid({ setting: "MMGW_360DIALOG_PLATFORM_SECRET", reason: "the platform secret is empty" }))
  }
  if (headerSecret !== null && !HEADER_NAME.test(headerName)) {
    return Either.left(new WebhookConfigInvalid({ setting: "MMGW_360DIALOG_WEBHOOK_HEADER", reason: "not a valid header name" }))
  }
  if (headerSecret !== null && headerName === DIALOG360_SIGNATURE_HEADER) {
    return Either.left(new WebhookConfigInvalid({
      setting: "MMGW_360DIALOG_WEBHOOK_HEADER",
      reason: `${DIALOG360_SIGNATURE_HEADER} carries 360dialog's own signature; choose another header name`
    }))
  }
  const expectedHeader = headerSecret === null ? null : secretDigest(headerSecret)
  const platformKey = platformSecret === null ? null : Buffer.from(platformSecret, "utf8")

  return Either.right((rawBody, headers) => {
    if (expectedHeader !== null) {
      const header = headerValue(headers, headerName)
      if (header._tag === "Absent") {
        return Either.left(new SignatureMissing({ scheme: "360dialog_header", header: headerName, httpStatus: 401 }))
      }
      if (header._tag === "Repeated") {
        return Either.left(new SignatureMalformed({
          scheme: "360dialog_header",
          header: headerName,
          reason: "the header is repeated",
          httpStatus: 401
        }))
      }
      if (!sameSecret(expectedHeader, header.value)) {
        return Either.left(new SignatureMismatch({ scheme: "360dialog_header", header: headerName, httpStatus: 401 }))
      }
    }
    if (platformKey !== null) {
      const header = headerValue(headers, DIALOG360_SIGNATURE_HEADER)
      if (header._tag === "Absent") {
        return Either.left(new SignatureMissing({
          scheme: "360dialog_signature",
          header: DIALOG360_SIGNATURE_HEADER,
          httpStatus: 401
        }))
      }
      if (header._tag === "Repeated") {
        return Either.left(new SignatureMalformed({
          scheme: "360dialog_signature",
          header: DIALOG360_SIGNATURE_HEADER,
          reason: "the header is repeated",
          httpStatus: 401
        }))
      }
      return checkDigest("360dialog_signature", DIALOG360_SIGNATURE_HEADER, hmac(platformKey, toBytes(rawBody)), header.value, {
        requirePrefix: false,
        allowBase64: true
      })
    }
    return Either.void
  })
}
