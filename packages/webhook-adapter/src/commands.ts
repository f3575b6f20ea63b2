import type {
  BusinessManager,
  PhoneNumberId,
  Recipient,
  StatusObservation,
  Template,
  UserAction,
  Waba,
  WabaId
} from "@mm-gateway/domain"

interface StreamCommandOf<Stream extends string, Command> {
  readonly _tag: "StreamCommand"
  readonly stream: Stream
  /** Built with the domain's `streamId.*`; hand it to `handleCommand` with the matching stream kind. */
  readonly streamId: string
  readonly command: Command
  /** A natural key of the fact (same webhook delivered twice → same key). */
  readonly dedupeKey: string
  /** Where in the body the fact came from, e.g. `$.entry[0].changes[1].value`. */
  readonly path: string
}

/** A domain command for one stream, ready for `handleCommand`. The `stream` tag says which stream kind. */
export type StreamCommand =
  | StreamCommandOf<"BusinessManager", BusinessManager.BusinessManagerCommand>
  | StreamCommandOf<"Waba", Waba.WabaCommand>
  | StreamCommandOf<"Template", Template.TemplateCommand>
  | StreamCommandOf<"Recipient", Recipient.RecipientCommand>
  | StreamCommandOf<"UserAction", UserAction.UserActionCommand>

/**
 * A message status. Status webhooks name Meta's wamid, not the gateway's message: the worker resolves
 * the message (dispatch result, `biz_opaque_callback_data`, or channel + recipient + time) and then
 * sends `ObserveStatus` to its stream.
 */
export interface StatusReport {
  readonly _tag: "StatusReport"
  readonly channel: PhoneNumberId
  readonly wabaId: WabaId
  readonly bizOpaqueCallbackData: string | null
  readonly observation: StatusObservation
  readonly dedupeKey: string
  readonly path: string
}

export type WebhookCommand = StreamCommand | StatusReport

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
