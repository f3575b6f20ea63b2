import { Either, ParseResult, Schema, SchemaAST } from "effect"
import { ChannelEvent } from "./channels/channel.js"
import { UserActionEvent } from "./clicks/user-action.js"
import { MessageEvent } from "./lifecycle/message.js"
import { BusinessManagerEvent } from "./onboarding/business-manager.js"
import { WabaEvent } from "./onboarding/waba.js"
import { RecipientEvent } from "./recipients/recipient.js"
import { PartnerSettingsEvent } from "./settings/partner-settings.js"
import { TemplateEvent } from "./templates/template.js"

/** Every event of every stream. `_tag` is the stored event type. */
export const DomainEvent = Schema.Union(
  BusinessManagerEvent,
  WabaEvent,
  ChannelEvent,
  PartnerSettingsEvent,
  TemplateEvent,
  MessageEvent,
  RecipientEvent,
  UserActionEvent
)
export type DomainEvent = typeof DomainEvent.Type
export type DomainEventType = DomainEvent["_tag"]

/**
 * The schema version stored beside each event, per event type (1 unless listed). Bump an event's
 * version when its shape changes and add the step from the old shape to `UPCASTERS`; stored events
 * are never rewritten, they are brought up to date when read.
 */
const CURRENT_VERSIONS: { readonly [T in DomainEventType]?: number } = {
  MessageRequested: 3,
  DispatchFailed: 2,
  StatusObserved: 3
}

export const eventSchemaVersion = (type: DomainEventType): number =>
  Object.hasOwn(CURRENT_VERSIONS, type) ? CURRENT_VERSIONS[type] ?? 1 : 1

type Upcaster = (data: Readonly<Record<string, unknown>>) => Record<string, unknown>

/** Per event type, the steps from each old version to the next: index 0 reads version 1 as version 2. */
export const UPCASTERS: { readonly [T in DomainEventType]?: ReadonlyArray<Upcaster> } = {
  // v2 may name, in `template.categoryAt`, the category fact the route was decided on; a v1 event is
  // a valid v2 event that does not say (the field is optional), so the step changes nothing.
  MessageRequested: [
    (data) => data,
    // v3 may name the user by BSUID in `to`; a v2 event names them by number, which v3 still reads.
    (data) => data
  ],
  // v2 records the route the failed attempt was sent to; a v1 event did not say.
  DispatchFailed: [(data) => ({ ...data, route: null })],
  // v2 may carry the group fields of the observation (`recipientType`, `participant`); a v1 event is
  // a valid v2 event of a webhook that did not say (one-to-one), so the step changes nothing.
  StatusObserved: [
    (data) => data,
    // v3 may carry `recipientUserId` (the BSUID); a v2 event is one of a webhook that did not say.
    (data) => data
  ]
}

/** The JSON form of an event as stored: `Schema.encode` of the event, its type and schema version. */
export interface EncodedEvent {
  readonly type: string
  readonly schemaVersion: number
  readonly data: unknown
}

const encodeSync = Schema.encodeSync(DomainEvent)
const decodeUnknownSync = Schema.decodeUnknownSync(DomainEvent)
const decodeEither = Schema.decodeUnknownEither(DomainEvent)

/**
 * Whether a schema's encoded form is its type, value for value: no transformation and no declaration
 * anywhere in it (refinements and brands only check). Such an event is its own encoding, and its
 * encoding, once checked, is the event.
 */
const isIdentity = (ast: SchemaAST.AST, seen: Set<SchemaAST.AST> = new Set()): boolean => {
  if (seen.has(ast)) return true
  seen.add(ast)
  switch (ast._tag) {
    case "Transformation":
    case "Declaration":
      return false
    case "Refinement":
      return isIdentity(ast.from, seen)
    case "Suspend":
      return isIdentity(ast.f(), seen)
    case "Union":
      return ast.types.every((t) => isIdentity(t, seen))
    case "TupleType":
      return ast.elements.every((e) => isIdentity(e.type, seen)) && ast.rest.every((r) => isIdentity(r.type, seen))
    case "TypeLiteral":
      return ast.propertySignatures.every((p) => isIdentity(p.type, seen)) &&
        ast.indexSignatures.every((i) => isIdentity(i.type, seen))
    default:
      return true
  }
}

const membersOf = (ast: SchemaAST.AST): ReadonlyArray<SchemaAST.AST> => SchemaAST.isUnion(ast) ? ast.types.flatMap(membersOf) : [ast]

/** The event types whose schema is the identity on their encoded form (today: all of them). */
const IDENTITY_TYPES: ReadonlySet<string> = new Set(
  membersOf(DomainEvent.ast).flatMap((ast) => {
    const tag = SchemaAST.getPropertySignatures(ast).find((p) => p.name === "_tag")?.type
    return tag !== undefined && SchemaAST.isLiteral(tag) && typeof tag.literal === "string" && isIdentity(ast) ? [tag.literal] : []
  })
)

/**
 * The stored form of an event. Events are checked against their schema when they are made (`make`),
 * so an event whose schema is the identity is its own encoding: it is not encoded again.
 */
export const encodeEvent = (event: DomainEvent): EncodedEvent => ({
  type: event._tag,
  schemaVersion: eventSchemaVersion(event._tag),
  data: IDENTITY_TYPES.has(event._tag) ? event : encodeSync(event)
})

/** A stored event this version of the gateway cannot read (written by a newer one, or not an event). */
export class StoredEventUnreadable extends Error {
  override readonly name = "StoredEventUnreadable"
}

/** Bring an older stored shape up to the current one, one version at a time. */
const upcast = (encoded: EncodedEvent): unknown => {
  const type = encoded.type as DomainEventType
  const current = eventSchemaVersion(type)
  if (!Number.isInteger(encoded.schemaVersion) || encoded.schemaVersion < 1 || encoded.schemaVersion > current) {
    throw new StoredEventUnreadable(`${encoded.type} version ${encoded.schemaVersion}: this gateway reads versions 1 to ${current}`)
  }
  if (encoded.schemaVersion === current) return encoded.data
  if (typeof encoded.data !== "object" || encoded.data === null) {
    throw new StoredEventUnreadable(`${encoded.type} version ${encoded.schemaVersion}: the data is not an object`)
  }
  let data = encoded.data as Record<string, unknown>
  const steps = Object.hasOwn(UPCASTERS, type) ? UPCASTERS[type] ?? [] : []
  for (const step of steps.slice(encoded.schemaVersion - 1, current - 1)) data = step(data)
  return data
}

/** Decodes and checks an encoded event; one that does not decode is a defect, not a domain error. */
export const decodeEvent = (encoded: EncodedEvent): DomainEvent => decodeUnknownSync(upcast(encoded))

/**
 * Reads an event back from the store that wrote it with `encodeEvent`: it was checked when it was made,
 * so only the upcasting is done, and the schema is applied only where it transforms. Anything that
 * did not come from `encodeEvent` (an import, a body from outside) goes through `decodeEvent`.
 */
export const decodeStoredEvent = (encoded: EncodedEvent): DomainEvent => {
  const data = upcast(encoded)
  return IDENTITY_TYPES.has(encoded.type) && typeof data === "object" && data !== null && (data as { _tag?: unknown })._tag === encoded.type
    ? data as DomainEvent
    : decodeUnknownSync(data)
}

export const decodeEventEither = (encoded: EncodedEvent): Either.Either<DomainEvent, ParseResult.ParseError> => {
  let data: unknown
  try {
    data = upcast(encoded)
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    return Either.left(new ParseResult.ParseError({ issue: new ParseResult.Type(DomainEvent.ast, encoded, message) }))
  }
  return decodeEither(data)
}
