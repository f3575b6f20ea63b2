/**
 * Bounds on the shape of a parsed JSON document, checked before anything walks it recursively.
 *
 * `JSON.parse` reads any depth, but what comes after it recurses: Schema decoding and the formatting
 * of its errors, `JSON.stringify`, a hash over a body. A document nested a few thousand levels deep
 * overflows the call stack there. `firstViolation` walks the document with an explicit stack, so it
 * takes any document, and answers the first place (in document order) that is beyond a bound.
 *
 * The bounds are generous for what the gateway's JSON really is — Cloud API message bodies, batches of
 * them, Meta's webhooks — and small enough that nothing after the check can be driven too deep.
 */

/**
 * Containers inside containers. The deepest real bodies (an interactive list's rows, a status error's
 * `error_data`, a batch item's template parameters) are under a dozen levels; 32 leaves room for fields
 * the provider adds, and is far from the depths at which a recursive walk runs out of stack.
 */
export const MAX_DEPTH = 32

/** Items of one array: a batch holds at most 1000 messages, and Meta batches at most 1000 updates per webhook. */
export const MAX_ARRAY_ITEMS = 1000

/** Properties of one object: Cloud API and webhook objects have a few dozen at most. */
export const MAX_OBJECT_KEYS = 1000

/**
 * Characters (UTF-16 code units) of one string, property names included. The longest text the Cloud API
 * takes is a template parameter of 32768 characters; this is twice that.
 */
export const MAX_STRING_CHARS = 65_536

export type Bound = "depth" | "array_items" | "object_keys" | "string_chars"

/** The first place of a document beyond a bound. */
export interface Violation {
  /** Property names and array indexes from the root (`[]` is the document itself). */
  readonly path: ReadonlyArray<string | number>
  readonly bound: Bound
  /** What is wrong there, naming the bound, e.g. `is nested deeper than 32 levels`; never the value. */
  readonly message: string
}

const messages: Readonly<Record<Bound, string>> = {
  depth: `is nested deeper than ${MAX_DEPTH} levels`,
  array_items: `has more than ${MAX_ARRAY_ITEMS} items`,
  object_keys: `has more than ${MAX_OBJECT_KEYS} properties`,
  string_chars: `is longer than ${MAX_STRING_CHARS} characters`
}

/** A value still to look at, with the way back to the root (the path is only built for a violation). */
interface Frame {
  readonly value: unknown
  readonly key: string | number | undefined
  readonly parent: Frame | undefined
  /** Containers from the root down to and including this value, when it is one. */
  readonly depth: number
}

const pathOf = (frame: Frame): Array<string | number> => {
  const path: Array<string | number> = []
  for (let f: Frame | undefined = frame; f?.key !== undefined; f = f.parent) path.push(f.key)
  return path.reverse()
}

const violation = (frame: Frame, bound: Bound, message = messages[bound]): Violation => ({ path: pathOf(frame), bound, message })

const LONG_NAME = `has a property name longer than ${MAX_STRING_CHARS} characters`

/**
 * The first place of a parsed JSON document (what `JSON.parse` returns) beyond one of the bounds, or
 * `undefined` when it is within all of them. Iterative: no document is too deep for it. A property
 * name that is too long is reported at the path of its object.
 */
export const firstViolation = (document: unknown): Violation | undefined => {
  const stack: Array<Frame> = [{ value: document, key: undefined, parent: undefined, depth: 0 }]
  while (stack.length > 0) {
    const frame = stack.pop()!
    const value = frame.value
    if (typeof value === "string") {
      if (value.length > MAX_STRING_CHARS) return violation(frame, "string_chars")
      continue
    }
    if (value === null || typeof value !== "object") continue
    const depth = frame.depth + 1
    if (depth > MAX_DEPTH) return violation(frame, "depth")
    if (Array.isArray(value)) {
      if (value.length > MAX_ARRAY_ITEMS) return violation(frame, "array_items")
      // Pushed last to first, so that the first item is looked at first: the first violation in document order.
      for (let i = value.length - 1; i >= 0; i--) stack.push({ value: value[i], key: i, parent: frame, depth })
      continue
    }
    const keys = Object.keys(value)
    if (keys.length > MAX_OBJECT_KEYS) return violation(frame, "object_keys")
    for (const key of keys) if (key.length > MAX_STRING_CHARS) return violation(frame, "string_chars", LONG_NAME)
    for (let i = keys.length - 1; i >= 0; i--) {
      const key = keys[i]!
      stack.push({ value: (value as Record<string, unknown>)[key], key, parent: frame, depth })
    }
  }
  return undefined
}
