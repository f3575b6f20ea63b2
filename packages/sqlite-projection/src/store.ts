import type { WebhookInbox } from "@mm-gateway/ports"
import { type CheckpointMode } from "./checkpointer.js"
import type { Durability } from "./connection.js"
import { inboxPathFor, layerInbox } from "./inbox.js"
import { layer } from "./layers.js"
import { Layer } from "effect"

export interface SqliteStoreOptions {
  /** The main database file; the inbox lives beside it (`inboxPathFor`). */
  readonly database: string
  readonly durability: Durability
  /** `"background"` for a process that takes webhooks or commits often (the api, the worker). */
  readonly checkpoint?: CheckpointMode
}

export type SqliteStore = Layer.Layer.Success<ReturnType<typeof layer>> | WebhookInbox

/** The whole store of one process on SQLite: every port, over the main database and the inbox beside it. */
export const layerSqliteStore = (options: SqliteStoreOptions): Layer.Layer<SqliteStore> => {
  const checkpoint = options.checkpoint ?? "automatic"
  return Layer.mergeAll(
    layer({ path: options.database, durability: options.durability, checkpoint }),
    layerInbox({ path: inboxPathFor(options.database), durability: options.durability, checkpoint })
  )
}
