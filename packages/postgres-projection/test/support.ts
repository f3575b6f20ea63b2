import { BusinessManager, type Events, EventStore, type Ids, UnitOfWork } from "@mm-gateway/domain"
import { Context, Effect, Layer, type Scope } from "effect"
import pg from "pg"
import { type Database, PostgresDatabase, statements } from "../src/connection.js"
import { layerDatabase } from "../src/database.js"
import { layerEventStoreFor } from "../src/event-store.js"
import { allProjections } from "../src/read-models/index.js"
import { snapshotsProjection } from "../src/snapshots.js"
import { layerPostgresStore, type PostgresStore } from "../src/store.js"
import { migratedDatabase } from "../testing/index.js"

export const registered = (id: string): Events.DomainEvent =>
  BusinessManager.BusinessManagerRegistered.make({ businessManagerId: id as Ids.BusinessManagerId, name: null, via: "operator", at: 1 })

export const renamed = (id: string, n: number): Events.DomainEvent =>
  BusinessManager.BusinessManagerRenamed.make({ businessManagerId: id as Ids.BusinessManagerId, name: `name ${n}`, at: n })

/** The whole store on a database of its own, every migration applied: a fresh, empty store each time it is built. */
export const freshStore = (): Layer.Layer<PostgresStore> => Layer.unwrapScoped(Effect.map(migratedDatabase, (url) => layerPostgresStore({ url })))

/** The event store and its unit of work on a fresh database of the run's server, and that database's URL. */
/** An event store and its unit of work on a fresh database; `options` as `layerDatabase` takes them. */
export const eventStoreOn = (options: { readonly idleInTransactionTimeoutMs?: number } = {}): Effect.Effect<
  { readonly url: string; readonly store: EventStore.EventStore["Type"]; readonly unitOfWork: UnitOfWork.UnitOfWork["Type"] },
  never,
  Scope.Scope
> =>
  Effect.gen(function*() {
    const url = yield* migratedDatabase
    const context = yield* Layer.build(layerEventStoreFor({ url, ...options }))
    return { url, store: Context.get(context, EventStore.EventStore), unitOfWork: Context.get(context, UnitOfWork.UnitOfWork) }
  })

export const freshEventStore = eventStoreOn()

/** A real wait on the event loop (the test clock does not move under `it.effect`). */
export const pause = (ms: number) => Effect.promise(() => new Promise<void>((resolve) => setTimeout(resolve, ms)))

/**
 * Waits until some session of the database waits for an advisory lock: an append queued behind the
 * append lock. Gives up (a defect) after a generous while, so a store that takes no lock fails rather
 * than hangs.
 */
export const untilSomeoneWaitsForTheAppendLock = (url: string): Effect.Effect<void> =>
  Effect.promise(async () => {
    const client = new pg.Client({ connectionString: url })
    await client.connect()
    try {
      const giveUpAt = Date.now() + 10_000
      while (Date.now() < giveUpAt) {
        const { rows } = await client.query<{ n: string }>(
          `SELECT count(*) AS n FROM pg_locks
           WHERE locktype = 'advisory' AND NOT granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`
        )
        if (Number(rows[0]!.n) > 0) return
        await new Promise((resolve) => setTimeout(resolve, 5))
      }
      throw new Error("no session ever waited for the append lock")
    } finally {
      await client.end()
    }
  })

/** `count` pools on one fresh database, migrated: sessions of their own, as separate processes have. */
export const freshPools = (count: number): Effect.Effect<ReadonlyArray<Database>, never, Scope.Scope> =>
  Effect.gen(function*() {
    const url = yield* migratedDatabase
    return yield* Effect.forEach(Array.from({ length: count }), () => Effect.map(Layer.build(layerDatabase({ url, poolSize: 2 })), (c) => Context.get(c, PostgresDatabase)))
  })

/** Every read-model row, snapshot and checkpoint as JSON, in a stable order: what "equal read models" means in the tests. */
export const dumpReadModels = (db: Database): Effect.Effect<Record<string, ReadonlyArray<string>>> =>
  statements(db, async (session) => {
    const dump: Record<string, ReadonlyArray<string>> = {}
    for (const table of [...[...allProjections, snapshotsProjection].flatMap((p) => p.tables), "projection_checkpoints"]) {
      dump[table] = (await session.query<{ row: string }>({ text: `SELECT row_to_json(t)::text AS row FROM ${table} t` })).map((r) => r.row).sort()
    }
    return dump
  })
