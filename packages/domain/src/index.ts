/**
 * @mm-gateway/domain — the pure core of mm-gateway. Commands, events and deciders for Marketing
 * Messages API onboarding, routing and the message lifecycle; ports for the adapters. Imports only
 * `effect`; no I/O, no clock, no randomness: time and ids arrive in commands.
 *
 * Only namespaces, one per concept (the package README's table says which modules each holds). A
 * namespace is its module, or — where it spans modules, or its modules also hold names only the domain
 * itself uses — a barrel in `namespaces/` that lists its public names. Nothing else is exported.
 */
export * as Ids from "./shared/ids.js"
export * as Errors from "./shared/errors.js"
export * as Decider from "./namespaces/decider.js"

export * as BusinessManager from "./onboarding/business-manager.js"
export * as IntentApi from "./onboarding/intent-api.js"
export * as Waba from "./namespaces/waba.js"
export * as Channel from "./channels/channel.js"
export * as PartnerSettings from "./settings/partner-settings.js"
export * as Template from "./namespaces/template.js"
export * as Message from "./lifecycle/message.js"
export * as Status from "./namespaces/status.js"
export * as Reactions from "./namespaces/reactions.js"
export * as Recipient from "./recipients/recipient.js"
export * as UserAction from "./clicks/user-action.js"

export * as Routing from "./routing/decide-route.js"
export * as Classify from "./dispatch/classify.js"
export * as Reroute from "./dispatch/reroute.js"
export * as Scheduler from "./dispatch/scheduler.js"
export * as ChannelShare from "./dispatch/channel-share.js"

export * as Events from "./namespaces/events.js"
export * as Streams from "./streams.js"

export * as EventStore from "./application/event-store.js"
export * as InMemoryEventStore from "./application/in-memory-event-store.js"
export * as UnitOfWork from "./application/unit-of-work.js"
export * as CommandHandler from "./application/command-handler.js"
export * as SendMessage from "./application/send-message.js"
export * as Dispatch from "./namespaces/dispatch.js"
export * as StatusReports from "./application/status-reports.js"
export * as ProviderGateway from "./namespaces/provider-gateway.js"
