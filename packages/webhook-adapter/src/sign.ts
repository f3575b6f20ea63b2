import { createHmac } from "node:crypto"
import { Redacted } from "effect"
import type { Secret } from "./verify.js"

/**
 * Signing, the other half of verify.ts: what a sender puts in the header for a body. The sandbox (which
 * plays Meta), the demo, the benchmarks and the tests all sign through these two functions, so there
 * is one definition of the wire format and the verifiers' tests keep it honest.
 */

const mac = (body: Uint8Array | string, secret: Secret): string =>
  createHmac("sha256", Redacted.isRedacted(secret) ? Redacted.value(secret) : secret).update(body).digest("hex")

/**
 * The value of Meta's `X-Hub-Signature-256` for these exact bytes: `sha256=` and the lower-case hex
 * HMAC-SHA256 of the raw body with the app secret. Sign the bytes that are sent; a string is taken as
 * UTF-8.
 */
export const signMetaWebhook = (rawBody: Uint8Array | string, appSecret: Secret): string =>
  `sha256=${mac(rawBody, appSecret)}`

/** A value of `x-360dialog-signature` for these bytes: the lower-case hex HMAC-SHA256 with the platform secret. */
export const sign360dialogWebhook = (rawBody: Uint8Array | string, platformSecret: Secret): string =>
  mac(rawBody, platformSecret)
