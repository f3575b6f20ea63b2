import { Config, ConfigError, Either } from "effect"

const UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/**
 * A duration as whole milliseconds (`600000`) or a number with a unit: `500ms`, `30s`, `10m`, `1h`, `14d`
 * (decimals allowed: `1.5s`). `null` for anything else, zero and negative values included.
 */
export const parseDuration = (text: string): number | null => {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(text)
  if (match === null) return null
  const value = Math.round(Number(match[1]) * UNITS[match[2] ?? "ms"]!)
  return Number.isSafeInteger(value) && value > 0 ? value : null
}

/** A duration variable (`parseDuration`), `fallback` when it is not set. */
export const durationConfig = (name: string, fallback: number): Config.Config<number> =>
  Config.string(name).pipe(
    Config.mapOrFail((text) => {
      const ms = parseDuration(text)
      return ms === null
        ? Either.left(ConfigError.InvalidData([], `${name} must be a positive duration: milliseconds (600000) or a number with ms, s, m, h or d (10m); got ${JSON.stringify(text)}`))
        : Either.right(ms)
    }),
    Config.withDefault(fallback)
  )
