import { createRequire } from "node:module"
import { Worker } from "node:worker_threads"
import type { Database } from "./connection.js"

/**
 * A WAL checkpoint copies the log back into the database file (and, at `synchronous = NORMAL`, syncs
 * it). SQLite runs one automatically in whichever connection commits past 1000 pages of log; on the
 * webhook hot path that connection is the api's event loop, and every request waiting on it pays the
 * pause. A background checkpointer moves that work to a thread of its own with its own connection:
 * `PASSIVE` checkpoints never block writers, so the api's commits go on while the log is copied.
 *
 * The thread runs a few lines of plain JavaScript (`eval`), so the bundled apps need no extra file; it
 * loads the same better-sqlite3 the caller resolved.
 */
const THREAD = `
const { parentPort, workerData } = require("node:worker_threads")
const Database = require(workerData.driver)
const db = new Database(workerData.file)
db.pragma("busy_timeout = 1000")
const run = () => {
  try {
    db.pragma("wal_checkpoint(PASSIVE)")
  } catch (error) {
    const code = error && error.code
    if (code !== "SQLITE_BUSY" && code !== "SQLITE_LOCKED") parentPort.postMessage({ error: String(error && error.message) })
  }
}
const timer = setInterval(run, workerData.intervalMs)
parentPort.on("message", () => {
  clearInterval(timer)
  run()
  db.close()
  parentPort.close()
})
`

export interface BackgroundCheckpointer {
  /** Runs a last checkpoint, closes the thread's connection and waits for the thread to end. */
  readonly stop: () => Promise<void>
}

/**
 * Turns off `db`'s automatic checkpoints and checkpoints its file every `intervalMs` from a thread.
 * Only for a file database in WAL mode; `onError` hears of anything but a busy checkpoint (which the
 * next tick simply retries).
 */
export const startBackgroundCheckpointer = (
  db: Database,
  options: { readonly intervalMs?: number; readonly onError?: (message: string) => void } = {}
): BackgroundCheckpointer => {
  const driver = createRequire(import.meta.url).resolve("better-sqlite3")
  const worker = new Worker(THREAD, { eval: true, workerData: { driver, file: db.name, intervalMs: options.intervalMs ?? 200 } })
  worker.unref()
  db.pragma("wal_autocheckpoint = 0")
  worker.on("message", (m: { readonly error?: string }) => {
    if (m.error !== undefined) options.onError?.(m.error)
  })
  // Should the thread die, the connection checkpoints for itself again: the log never grows unbounded.
  const fallBack = () => {
    if (db.open) db.pragma("wal_autocheckpoint = 1000")
  }
  worker.on("error", (error) => {
    options.onError?.(error.message)
    fallBack()
  })
  const ended = new Promise<void>((resolve) => worker.once("exit", () => resolve()))
  return {
    stop: () => {
      worker.postMessage("stop")
      return ended.then(fallBack)
    }
  }
}

/**
 * `"background"` for the long-running processes (api, worker): checkpoints run on a thread of their
 * own instead of inside whichever commit crossed the threshold. `"automatic"`: SQLite's own.
 */
export type CheckpointMode = "automatic" | "background"

/**
 * Starts the background checkpointer on `db` when `mode` asks for it and `db` is a file (an in-memory
 * database has no log to copy); returns how to close `db`: the checkpointer first, then the connection.
 */
export const withCheckpointing = (db: Database, mode: CheckpointMode = "automatic"): { readonly close: () => Promise<void> } => {
  const checkpointer = mode === "background" && db.name !== ":memory:" && db.name !== "" ? startBackgroundCheckpointer(db) : null
  return {
    close: async () => {
      await checkpointer?.stop()
      db.close()
    }
  }
}
