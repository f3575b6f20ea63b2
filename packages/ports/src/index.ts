/**
 * @mm-gateway/ports — what mm-gateway's api, worker and adapters ask of a store, declared inward (the
 * domain declares its own: `EventStore`, `UnitOfWork`, `StatusMatching`, `ProviderGateway`). Every
 * method returns an `Effect` and assumes nothing about how the store answers it: SQLite answers at
 * once, a networked store later. `@mm-gateway/sqlite-projection` implements them all.
 */
export { type ApiKeyRecord, ApiKeyStore } from "./api-keys.js"
export { CredentialStore } from "./credentials.js"
export {
  type Delivery,
  type DeliveryAttempt,
  type DeliveryState,
  type EndpointHealth,
  FORWARD_EVENTS,
  FORWARD_RETRY_FOR_DEFAULT_MS,
  type ForwardEvent,
  ForwardingOutbox,
  type ForwardingSummary,
  type NewDelivery,
  nearestRank,
  type ReplaySelection,
  type WebhookEndpointChange,
  type WebhookEndpointRecord,
  WebhookDeliverer,
  WebhookEndpoints
} from "./forwarding.js"
export { StoreHealth, StoreNotReady } from "./health.js"
export { type Accepted, HEADERS_KEPT, headersToKeep, type InboxClaims, type InboxEntry, type InboxSource, type InboxState, WebhookInbox } from "./inbox.js"
export { channelLease, channelOfLease, type LeaseRecord, Leases, TIMERS_LEASE, type WorkerRecord } from "./leases.js"
export { ProjectionRunner } from "./projections.js"
export { clampLimit, decodeCursor, encodeCursor, type Page, pageOf } from "./pagination.js"
export {
  type BusinessManagerView,
  type CampaignStats,
  type ChannelDispatchView,
  type ChannelView,
  ClickQueries,
  type ClickView,
  ConfigurationQueries,
  DispatchQueue,
  type ListOptions,
  MessageQueries,
  type MessageResource,
  type MessageWork,
  OnboardingQueries,
  RECENT_STARTS_KEPT_MS,
  type TemplateView,
  type TenantScope,
  type WabaView
} from "./queries.js"
export * as ReadViews from "./views.js"
