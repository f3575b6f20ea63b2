import { Cause, Effect, FiberId, HashMap, List, Logger, LogLevel } from "effect"
import fc from "fast-check"
import { afterEach, describe, expect, it, vi } from "vitest"
import { formatRecord, lineLogger } from "../src/line-logger.js"

/** What `lineLogger` wrote for a program, write by write. */
const captured = (program: Effect.Effect<void>): Array<string> => {
  const writes: Array<string> = []
  vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
    writes.push(String(chunk))
    return true
  })
  Effect.runSync(program.pipe(Effect.provide(Logger.replace(Logger.defaultLogger, lineLogger))))
  vi.restoreAllMocks()
  return writes
}

afterEach(() => {
  vi.restoreAllMocks()
})

const RECORD_START = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (TRACE|DEBUG|INFO |WARN |ERROR|FATAL) /

/** One write, one record: a single line ending in "\n", nothing a line reader would split again. */
const assertOneLine = (write: string | undefined) => {
  expect(write).toBeDefined()
  expect(write!.endsWith("\n")).toBe(true)
  expect(write!.slice(0, -1)).not.toMatch(/[\n\r\u2028\u2029]/)
  expect(write).toMatch(RECORD_START)
}

const record = (fields: { message: unknown; annotations?: Record<string, unknown>; cause?: Cause.Cause<unknown> }) =>
  formatRecord({
    fiberId: FiberId.none,
    logLevel: LogLevel.Info,
    message: fields.message,
    cause: fields.cause ?? Cause.empty,
    context: undefined as never,
    spans: List.empty(),
    annotations: HashMap.fromIterable(Object.entries(fields.annotations ?? {})),
    date: new Date(0)
  })

describe("lineLogger", () => {
  it("writes a record as one line: ISO time, level, message, annotations as key=value", () => {
    const writes = captured(Effect.logInfo("lease acquired by host:1:ab").pipe(Effect.annotateLogs({ process: "worker", note: "two words" })))
    expect(writes).toHaveLength(1)
    assertOneLine(writes[0])
    expect(writes[0]).toMatch(/^\S+ INFO  lease acquired by host:1:ab /)
    expect(writes[0]).toContain(" process=worker")
    expect(writes[0]).toContain(` note="two words"`)
  })

  it("renders a cause as the record's last annotation, a JSON string: the stack trace and the cause chain stay on the line", () => {
    const error = new Error("listen EADDRINUSE", { cause: new Error("the port is taken") })
    const writes = captured(Effect.catchAllCause(Effect.fail(error), (cause) => Effect.logError("stopped by a failure", cause)))
    expect(writes).toHaveLength(1)
    assertOneLine(writes[0])
    const [, head, cause] = /^(\S+ ERROR stopped by a failure) cause=(".*")\n$/.exec(writes[0]!) ?? []
    expect(head).toBeDefined()
    const pretty = JSON.parse(cause!) as string
    expect(pretty).toMatch(/^Error: listen EADDRINUSE\n {4}at /)
    expect(pretty).toContain("[cause]: Error: the port is taken")
  })

  it("escapes line breaks in a message as JSON does, and keeps its quotes as written", () => {
    const writes = captured(Effect.logWarning("webhook 7 quarantined: $.a: expected \"stop\"\n$.b: expected a number\r\nend"))
    assertOneLine(writes[0])
    expect(writes[0]).toContain(`webhook 7 quarantined: $.a: expected "stop"\\n$.b: expected a number\\r\\nend`)
  })

  it("escapes backslashes in a message, so an escaped line break cannot be mistaken for a written one", () => {
    expect(record({ message: "C:\\new and a\nbreak" })).toBe("1970-01-01T00:00:00.000Z INFO  C:\\\\new and a\\nbreak")
  })

  it("renders annotations: a plain string bare, others as JSON strings, arrays and objects as JSON", () => {
    const line = record({
      message: "quarantined",
      annotations: { process: "worker", reason: "line one\nline two", empty: "", problems: ["$.a: expected a string, got a number", "$.b: \"x\"\n"], n: 3 }
    })
    // Annotations come in the map's order; each one is checked on its own.
    expect(line).toMatch(/^1970-01-01T00:00:00.000Z INFO  quarantined /)
    for (const expected of [
      " process=worker",
      ` reason="line one\\nline two"`,
      ` empty=""`,
      ` problems=["$.a: expected a string, got a number","$.b: \\"x\\"\\n"]`,
      " n=3"
    ]) expect(line).toContain(expected)
  })

  it("renders an Error given as a message part with its stack, on the line", () => {
    const line = record({ message: ["webhook delivery not stored", new Error("disk full\nreally")] })
    expect(line).not.toMatch(/[\n\r]/)
    expect(line).toMatch(/^\S+ INFO  webhook delivery not stored Error: disk full\\nreally\\n {4}at /)
  })

  // A hang guard only: rendering causes with their stacks is slow on a loaded 2-core machine.
  it("whatever the message, annotations and cause hold, a record is one line that starts with its time and level", { timeout: 120_000 }, () => {
    const text = fc.string({ unit: "binary" })
    const value = fc.oneof(text, fc.jsonValue(), fc.array(text), fc.constant(new Error("a\nb")))
    fc.assert(
      fc.property(fc.array(fc.oneof(text, value), { maxLength: 3 }), fc.dictionary(text, value, { maxKeys: 3 }), fc.option(text), (message, annotations, failure) => {
        const line = record({ message, annotations, ...(failure === null ? {} : { cause: Cause.fail(new Error(failure)) }) })
        expect(line).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/)
        expect(`${line}\n`).toMatch(RECORD_START)
      }),
      { numRuns: 50 }
    )
  })
})
