import { createHash, randomBytes, timingSafeEqual } from "node:crypto"
import { Context, Effect, Layer, Redacted } from "effect"
import { SqliteDatabase } from "@mm-gateway/sqlite-projection"
import { type Principal } from "./definition.js"

export interface ApiKeyRecord {
  readonly id: string
  readonly name: string
  readonly businessManagerIds: ReadonlyArray<string>
  readonly secretHash: string
  readonly createdAt: number
  readonly revokedAt: number | null
}

/** Where API keys live. Only the SHA-256 of a secret is stored; the secret is shown once at creation. */
export class ApiKeyStore extends Context.Tag("@mm-gateway/http-adapter/ApiKeyStore")<ApiKeyStore, {
  readonly insert: (record: ApiKeyRecord) => Effect.Effect<void>
  readonly find: (id: string) => Effect.Effect<ApiKeyRecord | null>
  readonly list: (limit: number, afterId: string | null) => Effect.Effect<ReadonlyArray<ApiKeyRecord>>
  readonly revoke: (id: string, at: number) => Effect.Effect<boolean>
}>() {}

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
    return { _tag: "ApiKey", id: record.id, businessManagerIds: new Set(record.businessManagerIds) } as const
  })

interface ApiKeyRow {
  readonly id: string
  readonly name: string
  readonly business_manager_ids: string
  readonly secret_hash: string
  readonly created_at: number
  readonly revoked_at: number | null
}

const toRecord = (row: ApiKeyRow): ApiKeyRecord => ({
  id: row.id,
  name: row.name,
  businessManagerIds: JSON.parse(row.business_manager_ids) as Array<string>,
  secretHash: row.secret_hash,
  createdAt: row.created_at,
  revokedAt: row.revoked_at
})

/** API keys in the main SQLite database (table `api_keys`, created by the sqlite-projection migrations). */
export const layerApiKeyStore = Layer.effect(
  ApiKeyStore,
  Effect.gen(function*() {
    const { db } = yield* SqliteDatabase
    const insert = db.prepare<[string, string, string, string, number]>(
      "INSERT INTO api_keys (id, name, business_manager_ids, secret_hash, created_at) VALUES (?, ?, ?, ?, ?)"
    )
    const find = db.prepare<[string], ApiKeyRow>("SELECT * FROM api_keys WHERE id = ?")
    const list = db.prepare<[string, number], ApiKeyRow>("SELECT * FROM api_keys WHERE id > ? ORDER BY id LIMIT ?")
    const revoke = db.prepare<[number, string]>("UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL")
    return ApiKeyStore.of({
      insert: (r) => Effect.sync(() => void insert.run(r.id, r.name, JSON.stringify(r.businessManagerIds), r.secretHash, r.createdAt)),
      find: (id) => Effect.sync(() => {
        const row = find.get(id)
        return row === undefined ? null : toRecord(row)
      }),
      list: (limit, afterId) => Effect.sync(() => list.all(afterId ?? "", limit).map(toRecord)),
      revoke: (id, at) => Effect.sync(() => revoke.run(at, id).changes > 0 || find.get(id) !== undefined)
    })
  })
)
