import { type ApiKeyRecord, ApiKeyStore, CredentialStore, StoreHealth, StoreNotReady } from "@mm-gateway/ports"
import { Context, Effect, Layer } from "effect"
import { type Database, PostgresDatabase, statements } from "./connection.js"
import { appliedMigrations, migrations } from "./migrations.js"

interface ApiKeyRow {
  readonly id: string
  readonly name: string
  readonly business_manager_ids: Array<string>
  readonly channel_ids: Array<string>
  readonly secret_hash: string
  readonly created_at: string
  readonly revoked_at: string | null
}

const toRecord = (row: ApiKeyRow): ApiKeyRecord => ({
  id: row.id,
  name: row.name,
  businessManagerIds: row.business_manager_ids,
  channelIds: row.channel_ids,
  secretHash: row.secret_hash,
  createdAt: Number(row.created_at),
  revokedAt: row.revoked_at === null ? null : Number(row.revoked_at)
})

const API_KEY_COLUMNS = "id, name, business_manager_ids, channel_ids, secret_hash, created_at, revoked_at"

/** API keys (table `api_keys`), one statement each. */
export const makeApiKeyStore = (db: Database): Context.Tag.Service<ApiKeyStore> => ({
  insert: (r) =>
    Effect.asVoid(statements(db, (session) =>
      session.query({
        name: "mmgw_api_key_insert",
        text: `INSERT INTO api_keys (id, name, business_manager_ids, channel_ids, secret_hash, created_at)
          VALUES ($1, $2, $3::text[], $4::text[], $5, $6)`,
        values: [r.id, r.name, r.businessManagerIds, r.channelIds, r.secretHash, r.createdAt]
      }))),
  find: (id) =>
    statements(db, async (session) => {
      const [row] = await session.query<ApiKeyRow>({ name: "mmgw_api_key", text: `SELECT ${API_KEY_COLUMNS} FROM api_keys WHERE id = $1`, values: [id] })
      return row === undefined ? null : toRecord(row)
    }),
  list: (limit, afterId) =>
    statements(db, async (session) =>
      (await session.query<ApiKeyRow>({
        name: "mmgw_api_keys",
        text: `SELECT ${API_KEY_COLUMNS} FROM api_keys WHERE id > $1 ORDER BY id LIMIT $2`,
        values: [afterId ?? "", Math.max(0, Math.floor(limit))]
      })).map(toRecord)),
  revoke: (id, at) =>
    statements(db, async (session) => {
      // The first revocation's time is kept; the key is found whether this one revoked it or an earlier one did.
      const [row] = await session.query<{ found: boolean }>({
        name: "mmgw_api_key_revoke",
        text: `WITH revoked AS (UPDATE api_keys SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL RETURNING 1)
          SELECT EXISTS (SELECT 1 FROM api_keys WHERE id = $1) AS found`,
        values: [id, at]
      })
      return row?.found === true
    })
})

/** Encrypted channel credentials (table `channel_credentials`): the first ciphertext under a reference is kept. */
export const makeCredentialStore = (db: Database): Context.Tag.Service<CredentialStore> => ({
  put: (ref, ciphertext, at) =>
    Effect.asVoid(statements(db, (session) =>
      session.query({
        name: "mmgw_credential_put",
        text: "INSERT INTO channel_credentials (ref, ciphertext, created_at) VALUES ($1, $2, $3) ON CONFLICT (ref) DO NOTHING",
        values: [ref, ciphertext, at]
      }))),
  ciphertextOf: (ref) =>
    statements(db, async (session) => {
      const [row] = await session.query<{ ciphertext: string }>({
        name: "mmgw_credential",
        text: "SELECT ciphertext FROM channel_credentials WHERE ref = $1",
        values: [ref]
      })
      return row?.ciphertext ?? null
    })
})

/** Ready when the database answers and every migration this build knows is applied. */
export const makeStoreHealth = (db: Database): Context.Tag.Service<StoreHealth> => ({
  ready: () =>
    Effect.gen(function*() {
      const applied = yield* Effect.tryPromise(() => appliedMigrations(db.pool)).pipe(
        Effect.map((names) => new Set(names)),
        Effect.mapError((e) =>
          new StoreNotReady({
            message: "the database is unreachable",
            details: { reason: e.cause instanceof Error ? e.cause.message : String(e.cause) }
          })
        )
      )
      const missing = Object.keys(migrations).filter((name) => !applied.has(name))
      if (missing.length > 0) return yield* Effect.fail(new StoreNotReady({ message: "database migrations are not applied", details: { missing } }))
      return { migrations: applied.size }
    })
})

export const layerAdminStore: Layer.Layer<ApiKeyStore | CredentialStore | StoreHealth, never, PostgresDatabase> = Layer.effectContext(
  Effect.map(PostgresDatabase, (db) =>
    Context.make(ApiKeyStore, makeApiKeyStore(db)).pipe(
      Context.add(CredentialStore, makeCredentialStore(db)),
      Context.add(StoreHealth, makeStoreHealth(db))
    ))
)
