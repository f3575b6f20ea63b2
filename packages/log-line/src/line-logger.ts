import { Cause, HashMap, Inspectable, List, Logger } from "effect"
import { inspect } from "node:util"

/**
 * The log record of every process (api, worker, sandbox), one line each:
 *
 * ```
 * 2026-11-29T22:35:57.190Z INFO  timers taken by host#42-ab12cd process=worker
 * 2026-11-29T22:35:58.004Z WARN  webhook 12 (meta) quarantined process=worker problems=["$.entry[0].id: expected a WABA id (digits), got a number"]
 * 2026-11-29T22:35:59.311Z ERROR stopped by a failure cause="Error: listen EADDRINUSE: address already in use 127.0.0.1:8080\n    at Server.setupListenHandle …"
 * ```
 *
 * Time, level, message, spans (`label=<n>ms`), annotations (`key=value`) and, last, the cause when there
 * is one (`cause="…"`, what `Cause.pretty` renders, stack traces and `[cause]` chains included).
 *
 * One line per record because that is the unit everything downstream splits on: `pnpm start`
 * interleaves three processes line by line and prefixes each line with its process (scripts/stack.mjs
 * reads them with readline, which also ends a line at a lone `\r`), and log collectors take a line for
 * a record. A continuation line would be shown as a record of its own, or under another process.
 * So nothing a record carries writes a line break:
 * - message text keeps its quotes (it reads as written) but has its control characters, the Unicode
 *   line and paragraph separators and backslashes escaped the way JSON escapes them (`\n`, `\u001b`, `\\`);
 * - an annotation's string value is bare when nothing in it needs quoting, otherwise a JSON string;
 *   other values are JSON (`problems=[…]`), an `Error` (or what JSON cannot show) `util.inspect`ed and escaped;
 * - the cause is a JSON string.
 */
export const formatRecord = ({ annotations, cause, date, logLevel, message, spans }: Logger.Logger.Options<unknown>): string => {
  const parts = (Array.isArray(message) ? message : [message]).map((m) => (typeof m === "string" ? escapeText(m) : renderData(m)))
  let line = `${date.toISOString()} ${logLevel.label.padEnd(5)} ${parts.join(" ")}`
  const now = date.getTime()
  for (const span of List.toArray(spans)) line += ` ${field(span.label)}=${now - span.startTime}ms`
  for (const [key, value] of HashMap.toEntries(annotations)) {
    line += ` ${field(key)}=${typeof value === "string" ? field(value) : renderData(value)}`
  }
  if (!Cause.isEmpty(cause)) line += ` cause=${quote(Cause.pretty(cause, { renderErrorCause: true }))}`
  return line
}

/** Writes each record with `formatRecord` on stdout. */
export const lineLogger = Logger.make<unknown, void>((options) => {
  process.stdout.write(`${formatRecord(options)}\n`)
})

const SHORT_ESCAPES: Readonly<Record<string, string>> = { "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r", "\\": "\\\\" }
const unicodeEscape = (c: string): string => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`

// C0 and C1 controls, DEL, and U+2028 / U+2029, which some readers and collectors take for line ends.
const UNSAFE_IN_TEXT = /[\\\u0000-\u001f\u007f-\u009f\u2028\u2029]/g
// What JSON.stringify leaves as it is although it is unsafe on a line.
const UNSAFE_IN_JSON = /[\u007f-\u009f\u2028\u2029]/g
const BARE = /^[^\s"\\=\u0000-\u001f\u007f-\u009f]+$/

const escapeText = (text: string): string => text.replace(UNSAFE_IN_TEXT, (c) => SHORT_ESCAPES[c] ?? unicodeEscape(c))

const quote = (text: string): string => JSON.stringify(text).replace(UNSAFE_IN_JSON, unicodeEscape)

/** A key or an annotation's string value: bare when it can be, so `process=worker` stays as it reads. */
const field = (text: string): string => (BARE.test(text) ? text : quote(text))

const renderData = (value: unknown): string => {
  const json = Inspectable.toJSON(value)
  if (!(json instanceof Error)) {
    try {
      const text = JSON.stringify(json, (_key, v: unknown) =>
        typeof v === "bigint" ? v.toString() : v instanceof Error ? inspect(v, { breakLength: Infinity }) : v)
      if (text !== undefined) return text.replace(UNSAFE_IN_JSON, unicodeEscape)
    } catch {
      // A circular structure: util.inspect shows it.
    }
  }
  return escapeText(inspect(json, { breakLength: Infinity }))
}
