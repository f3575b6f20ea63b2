import { type ApiKeyRecord, ApiKeyStore, CredentialStore, StoreHealth, StoreNotReady } from "@mm-gateway/ports"
import { Context, Effect, Layer } from "effect"
import { type Database, gated } from "./connection.js"
import { SqliteDatabase } from "./database.js"
import { appliedMigrations, mainMigrations } from "./migrations.js"

interface ApiKeyRow {
  readonly id: string
  readonly name: string
  readonly business_manager_ids: string
  readonly channel_ids: string
  readonly secret_hash: string
  readonly created_at: number
  readonly revoked_at: number | null
}

const toRecord = (row: ApiKeyRow): ApiKeyRecord => ({
  id: row.id,
  name: row.name,
  businessManagerIds: JSON.parse(row.business_manager_ids) as Array<string>,
  channelIds: JSON.parse(row.channel_ids) as Array<string>,
  secretHash: row.secret_hash,
  createdAt: row.created_at,
  revokedAt: row.revoked_at
})

/** API keys in the main database (table `api_keys`). */
export const makeApiKeyStore = (db: Database): Context.Tag.Service<ApiKeyStore> => {
  const insert = db.prepare<[string, string, string, string, string, number]>(
    "INSERT INTO api_keys (id, name, business_manager_ids, channel_ids, secret_hash, created_at) VALUES (?, ?, ?, ?, ?, ?)"
  )
  const find = db.prepare<[string], ApiKeyRow>("SELECT * FROM api_keys WHERE id = ?")
  const list = db.prepare<[string, number], ApiKeyRow>("SELECT * FROM api_keys WHERE id > ? ORDER BY id LIMIT ?")
  const revoke = db.prepare<[number, string]>("UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL")
  return {
    insert: (r) => Effect.sync(() => void insert.run(r.id, r.name, JSON.stringify(r.businessManagerIds), JSON.stringify(r.channelIds), r.secretHash, r.createdAt)),
    find: (id) =>
      Effect.sync(() => {
        const row = find.get(id)
        return row === undefined ? null : toRecord(row)
      }),
    list: (limit, afterId) => Effect.sync(() => list.all(afterId ?? "", limit).map(toRecord)),
    revoke: (id, at) => Effect.sync(() => revoke.run(at, id).changes > 0 || find.get(id) !== undefined)
  }
}

/** Encrypted channel credentials in the main database (table `channel_credentials`). */
export const makeCredentialStore = (db: Database): Context.Tag.Service<CredentialStore> => {
  const insert = db.prepare<[string, string, number]>(
    "INSERT INTO channel_credentials (ref, ciphertext, created_at) VALUES (?, ?, ?) ON CONFLICT (ref) DO NOTHING"
  )
  const select = db.prepare<[string], { ciphertext: string }>("SELECT ciphertext FROM channel_credentials WHERE ref = ?")
  return {
    put: (ref, ciphertext, at) => Effect.sync(() => void insert.run(ref, ciphertext, at)),
    ciphertextOf: (ref) => Effect.sync(() => select.get(ref)?.ciphertext ?? null)
  }
}

/** Ready when the main database answers and every migration this build knows is applied. */
export const makeStoreHealth = (db: Database): Context.Tag.Service<StoreHealth> => ({
  ready: () => Effect.gen(function*() {
    const applied = yield* Effect.try(() => new Set(appliedMigrations(db))).pipe(
      Effect.mapError((e) =>
        new StoreNotReady({ message: "the database is unreachable", details: { database: "main", reason: e instanceof Error ? e.message : String(e) } }))
    )
    const missing = Object.keys(mainMigrations).filter((name) => !applied.has(name))
    if (missing.length > 0) return yield* Effect.fail(new StoreNotReady({ message: "database migrations are not applied", details: { missing } }))
    return { migrations: applied.size }
  })
})

export const layerAdminStore: Layer.Layer<ApiKeyStore | CredentialStore | StoreHealth, never, SqliteDatabase> = Layer.effectContext(
  Effect.map(SqliteDatabase, ({ db }) =>
    Context.make(ApiKeyStore, gated(db, makeApiKeyStore(db))).pipe(
      Context.add(CredentialStore, gated(db, makeCredentialStore(db))),
      Context.add(StoreHealth, gated(db, makeStoreHealth(db)))
    ))
)
