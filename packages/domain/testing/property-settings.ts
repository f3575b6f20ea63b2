/**
 * The run settings of every property test in the repository, read from the environment in one
 * strict place:
 *
 * - `FC_NUM_RUNS` — how many runs each property makes (a positive integer, e.g. `200000` for a deep
 *   nightly run). Unset: the property's own default.
 * - `FC_SEED` — the seed every property starts from (an integer, as fast-check prints it with a
 *   failure: `{ seed: -1819918769, path: "…" }`). Unset: a fresh random seed per property.
 *
 * Anything else is an error that says what was wrong: a typo must never become zero runs (a suite
 * that passes without testing anything) or a silently random seed (a failure that cannot be replayed).
 *
 * Pass the result straight to `fc.assert(property, propertySettings(1_000))`. The object has the shape
 * of fast-check's `Parameters`, so this module needs no fast-check import of its own.
 */
export interface PropertySettings {
  readonly numRuns: number
  readonly seed?: number
}

export type Environment = Readonly<Record<string, string | undefined>>

/** The variable that failed to parse, with the value it had and what it should look like. */
export class PropertySettingsInvalid extends Error {
  override readonly name = "PropertySettingsInvalid"
}

const POSITIVE_INTEGER = /^[1-9][0-9]*$/
const INTEGER = /^-?(0|[1-9][0-9]*)$/

// Read without Node's types: the testing export is built with `types: []`, like the domain itself.
const processEnvironment = (): Environment =>
  (globalThis as { readonly process?: { readonly env?: Environment } }).process?.env ?? {}

const readNumRuns = (raw: string | undefined, defaultRuns: number): number => {
  if (raw === undefined) return defaultRuns
  const value = Number(raw)
  if (!POSITIVE_INTEGER.test(raw) || !Number.isSafeInteger(value)) {
    throw new PropertySettingsInvalid(
      `FC_NUM_RUNS must be a positive integer (e.g. FC_NUM_RUNS=200000), got ${JSON.stringify(raw)}`
    )
  }
  return value
}

const readSeed = (raw: string | undefined): number | undefined => {
  if (raw === undefined) return undefined
  const value = Number(raw)
  if (!INTEGER.test(raw) || !Number.isSafeInteger(value)) {
    throw new PropertySettingsInvalid(
      `FC_SEED must be an integer, the seed fast-check printed with a failure (e.g. FC_SEED=-1819918769), got ${JSON.stringify(raw)}`
    )
  }
  return value
}

/**
 * The settings for one property: `defaultRuns` unless `FC_NUM_RUNS` says otherwise, and `FC_SEED`
 * when it is set. `env` is the process environment unless a test passes its own.
 */
export const propertySettings = (defaultRuns: number, env: Environment = processEnvironment()): PropertySettings => {
  if (!Number.isSafeInteger(defaultRuns) || defaultRuns < 1) {
    throw new PropertySettingsInvalid(`a property's default number of runs must be a positive integer, got ${defaultRuns}`)
  }
  const numRuns = readNumRuns(env["FC_NUM_RUNS"], defaultRuns)
  const seed = readSeed(env["FC_SEED"])
  return seed === undefined ? { numRuns } : { numRuns, seed }
}

/**
 * Vitest options for a property test: a deep run (`FC_NUM_RUNS=200000`) must not be cut short by the
 * 5 s default timeout. Nothing is timed; the bound only stops a run that hangs.
 */
export const PROPERTY_TEST = { timeout: 600_000 } as const
