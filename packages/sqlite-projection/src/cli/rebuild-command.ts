import { openDatabase } from "../database.js"
import { mainMigrations, migrate } from "../migrations.js"
import { allProjections } from "../projections/index.js"
import { snapshotsProjection } from "../snapshots.js"
import { type CatchUpResult, rebuild } from "../runner.js"

export const DEFAULT_DATABASE = "./data/mm-gateway.sqlite"

/** Which file the rebuild command works on: the argument, then `MMGW_DATABASE`, then the default. */
export const databaseFileFrom = (argv: ReadonlyArray<string>, env: Readonly<Record<string, string | undefined>>): string =>
  argv[0] ?? env["MMGW_DATABASE"] ?? DEFAULT_DATABASE

/** Opens (and migrates) the file, rebuilds every read model and the snapshots from the log, and closes it. */
export const rebuildDatabase = async (file: string, durability: "normal" | "full" = "normal"): Promise<CatchUpResult> => {
  const db = openDatabase(file, durability)
  try {
    await migrate(db, mainMigrations)
    return rebuild(db, [...allProjections, snapshotsProjection])
  } finally {
    db.close()
  }
}
