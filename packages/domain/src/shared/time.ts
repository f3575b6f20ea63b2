import { Schema } from "effect"

/** Milliseconds since the Unix epoch. Every time in the domain arrives from outside (a command, a webhook). */
export const EpochMillis = Schema.Number.pipe(Schema.int(), Schema.nonNegative())
export type EpochMillis = typeof EpochMillis.Type

export const DAY_MS = 24 * 3_600_000
