/** A page of a list: `nextCursor` is null on the last page (docs/api.md). */
export interface Page<A> {
  readonly items: ReadonlyArray<A>
  readonly nextCursor: string | null
}

/** Cursors are opaque to clients: the keyset of the last item, as base64url JSON. */
export const encodeCursor = (key: ReadonlyArray<string | number>): string =>
  Buffer.from(JSON.stringify(key), "utf8").toString("base64url")

/** A cursor that does not decode is treated as the start, never as an error a client could trip on. */
export const decodeCursor = <K extends ReadonlyArray<string | number>>(cursor: string | null | undefined): K | null => {
  if (cursor === null || cursor === undefined || cursor === "") return null
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"))
    return Array.isArray(value) && value.every((v) => typeof v === "string" || typeof v === "number") ? (value as unknown as K) : null
  } catch {
    return null
  }
}

/** Items fetched with `LIMIT limit`: a full page may have a successor, a short one is the last. */
export const pageOf = <A>(items: ReadonlyArray<A>, limit: number, keyOf: (a: A) => ReadonlyArray<string | number>): Page<A> => {
  const last = items[items.length - 1]
  return { items, nextCursor: items.length >= limit && last !== undefined ? encodeCursor(keyOf(last)) : null }
}

export const clampLimit = (limit: number | undefined, fallback = 50, max = 500): number =>
  limit === undefined || !Number.isFinite(limit) ? fallback : Math.min(max, Math.max(1, Math.floor(limit)))
