import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"

export const FIXTURES = join(__dirname, "fixtures")

/** The receipt time used throughout the tests (epoch ms); every command's `at`. */
export const AT = 1_764_100_000_000

/**
 * Every webhook body among the fixtures, keyed `<dir>/<file>` (seed: one body per file, kept as the
 * raw bytes) or `<dir>/<file>#<name>` (pywa: a map of named bodies per file).
 */
export const fixtureBodies = (): ReadonlyMap<string, Uint8Array | string> => {
  const bodies = new Map<string, Uint8Array | string>()
  for (const file of readdirSync(join(FIXTURES, "seed")).filter((f) => f.endsWith(".json")).sort()) {
    bodies.set(`seed/${file}`, readFileSync(join(FIXTURES, "seed", file)))
  }
  for (const file of readdirSync(join(FIXTURES, "pywa")).filter((f) => f.endsWith(".json")).sort()) {
    const named = JSON.parse(readFileSync(join(FIXTURES, "pywa", file), "utf8")) as Record<string, unknown>
    for (const [name, body] of Object.entries(named)) bodies.set(`pywa/${file}#${name}`, JSON.stringify(body))
  }
  return bodies
}

export const fixtureJson = (key: string): unknown => {
  const body = fixtureBodies().get(key)
  if (body === undefined) throw new Error(`no fixture ${key}`)
  return JSON.parse(typeof body === "string" ? body : Buffer.from(body).toString("utf8"))
}
