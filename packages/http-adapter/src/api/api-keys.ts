import { createHash, randomBytes, timingSafeEqual } from "node:crypto"
import { ApiKeyStore } from "@mm-gateway/ports"
import { Effect, Redacted } from "effect"
import { type Principal } from "./definition.js"

const TOKEN_PREFIX = "mmgw_"

const sha256 = (text: string): Buffer => createHash("sha256").update(text, "utf8").digest()

/** A new key: `mmgw_<id>_<secret>`, 128 bits of id and 256 bits of secret from the OS's generator. */
export const newApiKey = (): { readonly id: string; readonly secret: string; readonly secretHash: string } => {
  const id = randomBytes(8).toString("hex")
  const secret = randomBytes(32).toString("base64url")
  return { id, secret: `${TOKEN_PREFIX}${id}_${secret}`, secretHash: sha256(secret).toString("hex") }
}

const parseToken = (token: string): { readonly id: string; readonly secret: string } | null => {
  if (!token.startsWith(TOKEN_PREFIX)) return null
  const rest = token.slice(TOKEN_PREFIX.length)
  const cut = rest.indexOf("_")
  if (cut <= 0) return null
  return { id: rest.slice(0, cut), secret: rest.slice(cut + 1) }
}

/**
 * Who a bearer token is: the admin token (compared in constant time) or a live API key (its secret's
 * hash compared in constant time). Anything else is `null` (401).
 */
export const authenticate = (
  adminToken: Redacted.Redacted<string>,
  token: Redacted.Redacted<string>
): Effect.Effect<Principal | null, never, ApiKeyStore> =>
  Effect.gen(function*() {
    const given = Redacted.value(token)
    if (timingSafeEqual(sha256(given), sha256(Redacted.value(adminToken)))) return { _tag: "Admin" } as const
    const parsed = parseToken(given)
    if (parsed === null) return null
    const record = yield* (yield* ApiKeyStore).find(parsed.id)
    if (record === null || record.revokedAt !== null) return null
    if (!timingSafeEqual(sha256(parsed.secret), Buffer.from(record.secretHash, "hex"))) return null
    return {
      _tag: "ApiKey",
      id: record.id,
      businessManagerIds: new Set(record.businessManagerIds),
      channelIds: new Set(record.channelIds)
    } as const
  })
