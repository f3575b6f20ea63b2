export type { Env, LatencyRange, ParsedConfig, SandboxConfig } from "./config.js"
export { DEFAULT_WABA_ID, DEV_APP_SECRET, defaultConfig, parseSandboxEnv } from "./config.js"
export { SandboxServer, SandboxStartError, sandboxLayer, scopedSandbox } from "./effect.js"
export type { Prng } from "./prng.js"
export { mulberry32 } from "./prng.js"
export type { Plan, ProductPolicy, Script, SendRequest, TemplateCategory } from "./send.js"
export { INTENT_SCRIPTS, requestIdFor } from "./intent-api.js"
export { SCRIPTS, defaultTemplateCategory, parseSendBody, planOf, routeOf, scriptOf } from "./send.js"
export type { IntentApiRequest, NumberPatch, NumberRecord, OnboardingChange, OnboardingResult, Sandbox, SandboxOptions, TemplatePatch } from "./server.js"
export type { ListedTemplate } from "./template-list.js"
export { startSandbox } from "./server.js"
export type { SandboxStats } from "./stats.js"
export type { WebhookStats } from "./webhooks.js"
export type {
  Endpoint,
  MessagesItem,
  MetaError,
  Pricing,
  PricingCategory,
  Rejection,
  StatusPayload,
  UserActionPayload,
  WebhookError,
  WireStyle
} from "./wire.js"
export { acceptedBody, errorBody, messagesWebhook, pricingFor, rejections, termsSignedWebhook } from "./wire.js"
