import type { Database } from "../src/connection.js"
import { READ_MODEL_TABLES } from "../src/migrations.js"

/** Every read-model row and checkpoint, in a stable order: what "equal read models" means in the tests. */
export const dumpReadModels = (db: Database): Record<string, ReadonlyArray<string>> => {
  const dump: Record<string, ReadonlyArray<string>> = {}
  for (const table of [...READ_MODEL_TABLES, "projection_checkpoints"]) {
    dump[table] = (db.prepare(`SELECT * FROM "${table}"`).all() as Array<unknown>).map((r) => JSON.stringify(r)).sort()
  }
  return dump
}

export const countRows = (db: Database, table: string): number =>
  (db.prepare(`SELECT COUNT(*) AS n FROM "${table}"`).get() as { n: number }).n
