/** The `Events` namespace: every event of every stream, and its stored form. */
export {
  decodeEvent,
  decodeStoredEvent,
  DomainEvent,
  type DomainEventType,
  type EncodedEvent,
  encodeEvent,
  StoredEventUnreadable
} from "../events.js"
