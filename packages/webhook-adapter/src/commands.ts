import type { Ids, Status, Streams } from "@mm-gateway/domain"

/**
 * A fact for one stream, ready for the domain's `handleStreamCommand`: the domain's `StreamCommand`
 * (its `stream` says which kind) with where it came from.
 */
export type StreamFact = Streams.StreamCommand<"BusinessManager" | "Waba" | "Template" | "Recipient" | "UserAction"> & {
  readonly _tag: "StreamFact"
  /** A natural key of the fact (same webhook delivered twice → same key). */
  readonly dedupeKey: string
  /** Where in the body the fact came from, e.g. `$.entry[0].changes[1].value`. */
  readonly path: string
}

/**
 * A message status. Status webhooks name Meta's wamid, not the gateway's message: the worker resolves
 * the message (dispatch result, `biz_opaque_callback_data`, or channel + recipient + time) and then
 * sends `ObserveStatus` to its stream.
 */
export interface StatusReport {
  readonly _tag: "StatusReport"
  readonly channel: Ids.PhoneNumberId
  readonly wabaId: Ids.WabaId
  readonly bizOpaqueCallbackData: string | null
  readonly observation: Status.StatusObservation
  readonly dedupeKey: string
  readonly path: string
}

export type WebhookCommand = StreamFact | StatusReport

/** Something recognised and deliberately not acted upon. */
export interface Ignored {
  readonly path: string
  readonly why: string
}

/**
 * Something that should have been decodable and was not: the reason a body goes to quarantine. Where
 * (`path`), what was expected, and what kind of value was there (`actual`: "a number", "a string of 14
 * characters" — never the value itself, see `describeValue`).
 */
export interface Problem {
  readonly path: string
  readonly expected: string
  readonly actual?: string
}

/** Something decoded with a fallback worth knowing about (e.g. `entry[].time` missing → receipt time used). */
export interface Note {
  readonly path: string
  readonly note: string
}

/**
 * The outcome of decoding one verified webhook body. Every change of every entry ends up in exactly
 * one place: as commands, as ignored, or as a problem. A body whose `problems` is non-empty goes to
 * quarantine (after its commands are applied: each command is idempotent, so a replay is harmless).
 */
export interface WebhookDecoding {
  readonly commands: ReadonlyArray<WebhookCommand>
  readonly ignored: ReadonlyArray<Ignored>
  readonly problems: ReadonlyArray<Problem>
  readonly notes: ReadonlyArray<Note>
}
