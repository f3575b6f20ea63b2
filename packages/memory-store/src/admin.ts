import { type ApiKeyRecord, ApiKeyStore, CredentialStore, type LeaseRecord, Leases, StoreHealth, type WorkerRecord } from "@mm-gateway/ports"
import { type Context, Effect } from "effect"
import { byKey, type Journal, Table } from "./journal.js"

/** Heartbeat records lapsed for this long are forgotten (the port allows it after an hour). */
const FORGET_WORKERS_AFTER_MS = 60 * 60_000

/** Named leases and the workers' heartbeats in memory; each operation is one step, so concurrent callers see one winner. */
export const makeLeases = (journal: Journal): Context.Tag.Service<Leases> => {
  const leases = new Table<string, LeaseRecord>(journal)
  const workers = new Table<string, WorkerRecord>(journal)
  const holding = (holder: string, now: number) =>
    [...leases.values()].filter((l) => l.holder === holder && l.expiresAt > now).sort(byKey((l) => [l.name]))
  return Leases.of({
    acquire: (name, holder, ttlMs, now) =>
      Effect.sync(() => {
        const lease = leases.get(name)
        if (lease !== undefined && lease.holder !== holder && lease.expiresAt > now) return false
        const kept = lease !== undefined && lease.holder === holder && lease.expiresAt > now
        leases.set(name, { name, holder, acquiredAt: kept ? lease.acquiredAt : now, expiresAt: now + ttlMs })
        return true
      }),
    renew: (name, holder, ttlMs, now) =>
      Effect.sync(() => {
        const lease = leases.get(name)
        if (lease === undefined || lease.holder !== holder || lease.expiresAt <= now) return false
        leases.set(name, { ...lease, expiresAt: now + ttlMs })
        return true
      }),
    release: (name, holder) =>
      Effect.sync(() => {
        if (leases.get(name)?.holder === holder) leases.delete(name)
      }),
    holderOf: (name, now) =>
      Effect.sync(() => {
        const lease = leases.get(name)
        return lease !== undefined && lease.expiresAt > now ? lease.holder : null
      }),
    held: (now) => Effect.sync(() => [...leases.values()].filter((l) => l.expiresAt > now).sort(byKey((l) => [l.name]))),
    renewAll: (holder, ttlMs, now) =>
      Effect.sync(() =>
        holding(holder, now).map((lease) => {
          leases.set(lease.name, { ...lease, expiresAt: now + ttlMs })
          return lease.name
        })
      ),
    releaseAll: (holder) =>
      Effect.sync(() => {
        for (const lease of [...leases.values()]) if (lease.holder === holder) leases.delete(lease.name)
      }),
    heartbeat: (instance, ttlMs, now) =>
      Effect.sync(() => {
        const known = workers.get(instance)
        workers.set(instance, { instance, startedAt: known?.startedAt ?? now, heartbeatAt: now, expiresAt: now + ttlMs })
        for (const w of [...workers.values()]) if (w.expiresAt <= now - FORGET_WORKERS_AFTER_MS) workers.delete(w.instance)
      }),
    liveWorkers: (now) => Effect.sync(() => [...workers.values()].filter((w) => w.expiresAt > now).sort(byKey((w) => [w.instance]))),
    retire: (instance) => Effect.sync(() => workers.delete(instance))
  })
}

/** API keys in memory: the record the api made, with the hash of the secret (it never sees the secret). */
export const makeApiKeyStore = (journal: Journal): Context.Tag.Service<ApiKeyStore> => {
  const keys = new Table<string, ApiKeyRecord>(journal)
  const copy = (r: ApiKeyRecord): ApiKeyRecord => ({ ...r, businessManagerIds: [...r.businessManagerIds], channelIds: [...r.channelIds] })
  return ApiKeyStore.of({
    insert: (record) =>
      Effect.suspend(() =>
        keys.has(record.id) ? Effect.dieMessage(`an API key ${record.id} exists already`) : Effect.sync(() => keys.set(record.id, copy(record)))
      ),
    find: (id) =>
      Effect.sync(() => {
        const found = keys.get(id)
        return found === undefined ? null : copy(found)
      }),
    list: (limit, afterId) =>
      Effect.sync(() =>
        [...keys.values()].filter((k) => k.id > (afterId ?? "")).sort(byKey((k) => [k.id])).slice(0, Math.max(0, Math.floor(limit))).map(copy)
      ),
    revoke: (id, at) =>
      Effect.sync(() => {
        const found = keys.get(id)
        if (found === undefined) return false
        if (found.revokedAt === null) keys.set(id, { ...found, revokedAt: at })
        return true
      })
  })
}

/** Channel credentials in memory, as ciphertext under their reference; the first one put is kept. */
export const makeCredentialStore = (journal: Journal): Context.Tag.Service<CredentialStore> => {
  const credentials = new Table<string, string>(journal)
  return CredentialStore.of({
    put: (ref, ciphertext) =>
      Effect.sync(() => {
        if (!credentials.has(ref)) credentials.set(ref, ciphertext)
      }),
    ciphertextOf: (ref) => Effect.sync(() => credentials.get(ref) ?? null)
  })
}

/** A store in memory has no schema to migrate: it is ready once built. */
export const storeHealth: Context.Tag.Service<StoreHealth> = StoreHealth.of({ ready: () => Effect.succeed({ migrations: 0 }) })
