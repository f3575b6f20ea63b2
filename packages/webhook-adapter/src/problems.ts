import { Either, type ParseResult, Schema, SchemaAST as AST } from "effect"
import type { Problem } from "./commands.js"

/** Path segments → `$.entry[0].changes[1].value` (the root is `$`). */
export const appendPath = (base: string, segments: ReadonlyArray<PropertyKey>): string => {
  let out = base
  for (const s of segments) {
    if (typeof s === "number") out += `[${s}]`
    else if (typeof s === "string" && /^[A-Za-z_][A-Za-z0-9_]*$/.test(s)) out += `.${s}`
    else out += `[${JSON.stringify(String(s))}]`
  }
  return out
}

const count = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`

/**
 * What a value is, never what it says: its type and size — "a number", "a string of 14 characters",
 * "an array of 3 items". Quarantine reasons are stored with the body, listed by the API and logged by
 * the worker; a body's values (recipients' numbers, names, texts) must not travel with them. The path
 * and the expectation say where to look in the body, which the inbox keeps.
 */
export const describeValue = (value: unknown): string => {
  if (value === null) return "null"
  if (Array.isArray(value)) return value.length === 0 ? "an empty array" : `an array of ${count(value.length, "item")}`
  switch (typeof value) {
    case "string": {
      const characters = [...value].length
      return characters === 0 ? "an empty string" : `a string of ${count(characters, "character")}`
    }
    case "number":
      return Number.isInteger(value) ? "a number" : Number.isFinite(value) ? "a number with a fractional part" : String(value)
    case "boolean":
      return "a boolean"
    case "undefined":
      return "nothing"
    case "object": {
      const properties = Object.keys(value).length
      return properties === 0 ? "an empty object" : `an object with ${count(properties, "property", "properties")}`
    }
    default:
      return `a ${typeof value}`
  }
}

/**
 * Why a text is not JSON, without quoting it: V8's messages can quote the text itself
 * (`Unexpected token 'h', "hello 1650"... is not valid JSON`), so only the position is taken from them.
 */
export const describeNotJson = (text: string, error: unknown): string => {
  if (text.trim() === "") return text === "" ? "an empty text" : "only white space"
  const message = error instanceof Error ? error.message : ""
  const position = /\bposition (\d+)\b/.exec(message)?.[1]
  const where = message.includes("Unexpected end of JSON input")
    ? " (it ends before the document does)"
    : position === undefined
    ? ""
    : ` (the parser stopped at position ${position})`
  return `${count(text.length, "character")} that are not JSON${where}`
}

const describe = (ast: AST.AST): string => {
  const described = AST.getDescriptionAnnotation(ast)
  if (described._tag === "Some") return described.value
  switch (ast._tag) {
    case "Literal":
      return JSON.stringify(ast.literal)
    case "StringKeyword":
      return "a string"
    case "NumberKeyword":
      return "a number"
    case "BooleanKeyword":
      return "a boolean"
    case "TypeLiteral":
      return "an object"
    case "TupleType":
      return "an array"
    case "UndefinedKeyword":
      return "undefined"
    case "Union": {
      // `null | undefined` members come from tolerating nulls; naming them would only add noise.
      const members = ast.types.filter((t) => !(t._tag === "UndefinedKeyword" || (t._tag === "Literal" && t.literal === null)))
      return (members.length > 0 ? members : ast.types).map(describe).join(" or ")
    }
    case "Refinement":
      return describe(ast.from)
    case "Transformation":
      return describe(ast.to)
    default:
      return String(ast)
  }
}

interface Leaf {
  readonly path: ReadonlyArray<PropertyKey>
  readonly expected: string
  readonly actual?: unknown
  readonly hasActual: boolean
}

const walk = (issue: ParseResult.ParseIssue, path: ReadonlyArray<PropertyKey>, out: Array<Leaf>): void => {
  switch (issue._tag) {
    case "Pointer":
      walk(issue.issue, [...path, ...(Array.isArray(issue.path) ? issue.path : [issue.path])], out)
      return
    case "Composite": {
      const issues = (Array.isArray(issue.issues) ? issue.issues : [issue.issues]) as ReadonlyArray<ParseResult.ParseIssue>
      if (issue.ast._tag === "Union") {
        // A union failed. Members that got past their outer type say the most; if none did, name the union.
        const deeper = issues.filter((i) => i._tag !== "Type")
        if (deeper.length > 0) for (const i of deeper) walk(i, path, out)
        else out.push({ path, expected: describe(issue.ast), actual: issue.actual, hasActual: true })
        return
      }
      for (const i of issues) walk(i, path, out)
      return
    }
    case "Refinement": {
      if (issue.kind === "Predicate") {
        out.push({ path, expected: describe(issue.ast), actual: issue.actual, hasActual: true })
        return
      }
      // The outermost description at a place says the most ("a WABA id" rather than "a string").
      const inner: Array<Leaf> = []
      walk(issue.issue, path, inner)
      const outer = describe(issue.ast)
      for (const leaf of inner) out.push(leaf.path.length === path.length ? { ...leaf, expected: outer } : leaf)
      return
    }
    case "Transformation":
      if (issue.issue._tag === "Type" && issue.issue.message !== undefined) {
        out.push({ path, expected: issue.issue.message, actual: issue.actual, hasActual: true })
      } else walk(issue.issue, path, out)
      return
    case "Type":
      out.push({ path, expected: issue.message ?? describe(issue.ast), actual: issue.actual, hasActual: true })
      return
    case "Missing":
      out.push({ path, expected: `${describe(issue.ast.type)} (the property is missing)`, hasActual: false })
      return
    case "Unexpected":
      out.push({ path, expected: "no such property", actual: issue.actual, hasActual: true })
      return
    case "Forbidden":
      out.push({ path, expected: issue.message ?? "a value that decodes synchronously", actual: issue.actual, hasActual: true })
      return
  }
}

/** A parse error as problems, one per offending place, each with its full path from the body's root. */
export const problemsOf = (error: ParseResult.ParseError, base: string): ReadonlyArray<Problem> => {
  const leaves: Array<Leaf> = []
  walk(error.issue, [], leaves)
  const problems = leaves.map((leaf): Problem => {
    const path = appendPath(base, leaf.path)
    return leaf.hasActual ? { path, expected: leaf.expected, actual: describeValue(leaf.actual) } : { path, expected: leaf.expected }
  })
  // Not `error.message`: the schema library's own rendering quotes the offending values.
  return problems.length > 0 ? problems : [{ path: base, expected: "a value of another shape", actual: describeValue(error.issue.actual) }]
}

type FirstErrorDecoder = (input: unknown) => Either.Either<unknown, ParseResult.ParseError>
const firstErrorDecoders = new WeakMap<object, FirstErrorDecoder>()

/** The stop-at-the-first-error decoder of a schema, made once (decoding runs per webhook item). */
const firstErrorDecoder = <A, I>(schema: Schema.Schema<A, I, never>) => {
  let decoder = firstErrorDecoders.get(schema)
  if (decoder === undefined) {
    decoder = Schema.decodeUnknownEither(schema, { errors: "first", onExcessProperty: "ignore" })
    firstErrorDecoders.set(schema, decoder)
  }
  return decoder as (input: unknown) => Either.Either<A, ParseResult.ParseError>
}

/** Decode against a schema; failures become problems under `base`. */
export const decodeAt = <A, I>(
  schema: Schema.Schema<A, I, never>,
  input: unknown,
  base: string
): Either.Either<A, ReadonlyArray<Problem>> =>
{
  // Stopping at the first error is the fast path; only a failure is decoded again to name every problem.
  const first = firstErrorDecoder(schema)(input)
  if (Either.isRight(first)) return Either.right(first.right)
  return Either.left(problemsOf(
    Either.match(Schema.decodeUnknownEither(schema, { errors: "all", onExcessProperty: "ignore" })(input), {
      onLeft: (error) => error,
      onRight: () => first.left
    }),
    base
  ))
}

/** One line per problem, for the quarantine reason: where, what was expected, and what kind of value was there. */
export const describeProblems = (problems: ReadonlyArray<Problem>, max = 10): string => {
  const lines = problems.slice(0, max).map((p) =>
    p.actual === undefined ? `${p.path}: expected ${p.expected}` : `${p.path}: expected ${p.expected}, got ${p.actual}`
  )
  if (problems.length > max) lines.push(`… and ${problems.length - max} more`)
  return lines.join("\n")
}
