/**
 * @mm-gateway/webhook-adapter — verification of WhatsApp webhooks (Meta's signature and handshake,
 * 360dialog's header secret and signature), the matching signing for whoever plays the sender, and
 * their decoding into mm-gateway domain commands, and their cutting for the tenants' own endpoints
 * (forwarding). Pure functions, no I/O.
 */
export * from "./commands.js"
export { dialog360VerificationConfig, load360dialogVerifier } from "./config.js"
export {
  cutForTarget,
  encodeLikeMeta,
  eventOfField,
  type ForwardableWebhook,
  type ForwardPiece,
  type ForwardTarget,
  type GatewayFailure,
  gatewayFailedStatus,
  type KnownMessage,
  type Lookups,
  type MessageReference,
  readForwardable
} from "./forward.js"
export { decodeWebhook, IGNORED_ACCOUNT_EVENTS, KNOWN_FIELDS, quarantineReason } from "./decode.js"
export * as JsonLimits from "./json-limits.js"
export { describeProblems } from "./problems.js"
export { sign360dialogWebhook, signMetaWebhook } from "./sign.js"
export * from "./verify.js"
