/**
 * @mm-gateway/domain — the pure core of mm-gateway. Commands, events and deciders for Marketing
 * Messages API onboarding, routing and the message lifecycle; ports for the adapters. Imports only
 * `effect`; no I/O, no clock, no randomness: time and ids arrive in commands.
 */
export * from "./shared/ids.js"
export * from "./shared/errors.js"
export * from "./shared/decider.js"

export * as BusinessManager from "./onboarding/business-manager.js"
export * as Waba from "./onboarding/waba.js"
export * from "./onboarding/mm-status.js"
export * as Channel from "./channels/channel.js"
export * as PartnerSettings from "./settings/partner-settings.js"
export * as Template from "./templates/template.js"
export * as Message from "./lifecycle/message.js"
export * from "./lifecycle/status.js"
export * from "./lifecycle/reactions.js"
export * as Recipient from "./recipients/recipient.js"
export * as UserAction from "./clicks/user-action.js"

export * from "./routing/decide-route.js"
export * from "./dispatch/classify.js"
export * from "./dispatch/reroute.js"
export * as Scheduler from "./dispatch/scheduler.js"
export * as ChannelShare from "./dispatch/channel-share.js"

export * from "./events.js"
export * from "./streams.js"

export * from "./application/event-store.js"
export * from "./application/command-handler.js"
export * from "./application/in-memory-event-store.js"
export * from "./application/unit-of-work.js"
export * from "./application/send-message.js"
export * from "./application/dispatch.js"
export * from "./application/status-reports.js"
export * from "./dispatch/provider-gateway.js"
