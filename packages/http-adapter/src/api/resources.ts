import { Schema } from "effect"

/** Resource shapes of docs/api.md#resources (more fields are welcome; these names are the contract). Times are ISO-8601. */

const Iso = Schema.String.annotations({ description: "ISO-8601 time" })
const NullableIso = Schema.NullOr(Iso)
const Route = Schema.Literal("marketing_messages", "cloud_api")

export const Page = <S extends Schema.Schema.Any>(item: S) =>
  Schema.Struct({ items: Schema.Array(item), nextCursor: Schema.NullOr(Schema.String) })

export const ListParams = Schema.Struct({
  limit: Schema.optional(Schema.NumberFromString.pipe(Schema.int(), Schema.between(1, 500))),
  cursor: Schema.optional(Schema.String)
})

export const MmApiStatus = Schema.Struct({
  status: Schema.Literal("not_onboarded", "onboarded", "suspended"),
  since: NullableIso,
  source: Schema.NullOr(Schema.Literal("waba_webhook", "business_webhook", "manual", "provider_error", "meta_api")),
  reason: Schema.NullOr(Schema.String),
  suspendedUntil: NullableIso
})

export const WabaResource = Schema.Struct({
  id: Schema.String,
  businessManagerId: Schema.NullOr(Schema.String),
  name: Schema.NullOr(Schema.String),
  mmApi: Schema.Struct({
    ...MmApiStatus.fields,
    meta: Schema.NullOr(Schema.Struct({
      status: Schema.NullOr(Schema.String),
      businessStatus: Schema.NullOr(Schema.String),
      readAt: Iso,
      agrees: Schema.NullOr(Schema.Boolean)
    })).annotations({
      description: "marketing_messages_onboarding_status as last read from Meta (WABA and business portfolio), beside the derived status; agrees: whether it says the same"
    })
  })
})

/** A request through Meta's Intent API, as Meta answered it. */
export const MetaOnboardingRequest = Schema.Struct({
  requestId: Schema.NullOr(Schema.String).annotations({ description: "Meta's request_id; null when Meta answered that the business was already invited (1752041)" }),
  alreadyInvited: Schema.Boolean,
  solutionId: Schema.NullOr(Schema.String),
  requestedAt: Iso
}).annotations({ description: "the latest request through Meta's Intent API (POST /{END_BUSINESS_ID}/onboard_partners_to_mm_lite)" })

export const BusinessManagerResource = Schema.Struct({
  id: Schema.String,
  name: Schema.NullOr(Schema.String),
  mmApi: Schema.Struct({ termsSigned: Schema.Boolean, signedAt: NullableIso, invitedAt: NullableIso, metaRequest: Schema.NullOr(MetaOnboardingRequest) }),
  wabas: Schema.Array(WabaResource)
})

export const OnboardingInvitation = Schema.Struct({
  via: Schema.Literal("link", "meta_email"),
  link: Schema.NullOr(Schema.String).annotations({ description: "the onboarding link to hand the client (via link); null via meta_email" }),
  steps: Schema.Array(Schema.String),
  metaRequest: Schema.NullOr(MetaOnboardingRequest)
})

export const ChannelResource = Schema.Struct({
  phoneNumberId: Schema.String,
  wabaId: Schema.String,
  displayPhoneNumber: Schema.String,
  provider: Schema.Literal("360dialog", "meta", "sandbox"),
  routing: Schema.Literal("inherit", "marketing_messages", "cloud_api"),
  throughputMps: Schema.Number,
  registeredAt: Iso,
  updatedAt: Iso
})

export const RoutingSettings = Schema.Struct({
  marketingViaMmApi: Schema.Boolean,
  ttlOnCloudFallback: Schema.Literal("warn", "reject")
})

const ChangedBy = Schema.NullOr(Schema.String).annotations({ description: "admin, or api_key:<id>; null for a change recorded before the gateway said" })

/** The audit of the partner routing settings (`GET /v1/settings/routing/changes`). */
export const RoutingSettingsChanges = Schema.Struct({
  changes: Schema.Array(Schema.Struct({ at: Iso, by: ChangedBy, ...RoutingSettings.fields }))
})

/** The audit of a channel's routing override and throughput (`GET /v1/channels/{id}/changes`). */
export const ChannelChanges = Schema.Struct({
  changes: Schema.Array(Schema.Struct({
    at: Iso,
    by: ChangedBy,
    routing: Schema.optional(Schema.Literal("inherit", "marketing_messages", "cloud_api")),
    throughputMps: Schema.optional(Schema.Number)
  }))
})

export const TemplateResource = Schema.Struct({
  wabaId: Schema.String,
  name: Schema.String,
  language: Schema.String,
  category: Schema.NullOr(Schema.String),
  categorySource: Schema.NullOr(Schema.String).annotations({
    description: "where the category came from: operator, category_update or status_update (webhooks), meta_api (Meta's template list)"
  }),
  ttlSeconds: Schema.NullOr(Schema.Number),
  status: Schema.NullOr(Schema.String),
  impendingCategory: Schema.NullOr(Schema.Struct({ correctCategory: Schema.String, effectiveAt: NullableIso })),
  /**
   * The MM route refused this template as not marketing (131055 / 134100) and no newer category fact
   * says otherwise: messages with it are routed to the Cloud API (`template_not_marketing_per_provider`).
   */
  providerRefusal: Schema.NullOr(Schema.Struct({
    reason: Schema.Literal("not_a_marketing_template"),
    errorCode: Schema.Number,
    occurredAt: Schema.String
  })).annotations({ description: "set when the MM route refused the template as not marketing; later messages go to the Cloud API until a newer category fact" }),
  updatedAt: Iso.annotations({ description: "when the gateway last recorded a fact about the template" })
})

/** `POST /v1/wabas/{id}/templates/sync`: the request recorded; the worker reads the list soon. */
export const TemplateSyncResource = Schema.Struct({
  wabaId: Schema.String,
  requestedAt: Iso
})

export const ProviderErrorResource = Schema.Struct({
  code: Schema.Number,
  title: Schema.NullOr(Schema.String),
  message: Schema.NullOr(Schema.String),
  details: Schema.NullOr(Schema.String)
})

export const MessageResource = Schema.Struct({
  id: Schema.String,
  channel: Schema.String,
  wabaId: Schema.String,
  to: Schema.NullOr(Schema.String).annotations({ description: "the recipient's number, digits only; null for a message addressed by BSUID" }),
  recipient: Schema.NullOr(Schema.String).annotations({ description: "the BSUID the message is addressed to, when it has no number" }),
  campaignId: Schema.NullOr(Schema.String),
  bizOpaqueCallbackData: Schema.NullOr(Schema.String),
  template: Schema.NullOr(Schema.Struct({ name: Schema.String, language: Schema.String, category: Schema.NullOr(Schema.String) })),
  route: Schema.Struct({
    decided: Route,
    reasons: Schema.Array(Schema.String),
    warnings: Schema.Array(Schema.String),
    observed: Schema.NullOr(Route),
    rerouted: Schema.Array(Schema.Struct({ from: Route, to: Route, reason: Schema.String }))
  }),
  status: Schema.Literal("accepted", "submitted", "sent", "delivered", "read", "failed", "expired", "dispatch_unknown"),
  wamid: Schema.NullOr(Schema.String),
  timestamps: Schema.Struct({
    acceptedAt: Iso,
    submittedAt: NullableIso,
    sentAt: NullableIso,
    deliveredAt: NullableIso,
    readAt: NullableIso,
    failedAt: NullableIso,
    expiredAt: NullableIso
  }),
  errors: Schema.Array(ProviderErrorResource),
  pricing: Schema.NullOr(Schema.Struct({
    category: Schema.NullOr(Schema.String),
    pricingModel: Schema.NullOr(Schema.String),
    type: Schema.NullOr(Schema.String),
    billable: Schema.NullOr(Schema.Boolean)
  })),
  routeMismatch: Schema.Boolean,
  clicks: Schema.Array(Schema.String)
})

export const MessageEvents = Schema.Struct({
  events: Schema.Array(Schema.Struct({ position: Schema.Number, type: Schema.String, data: Schema.Unknown, recordedAt: Iso }))
})

/** The 202 answer of every send (docs/api.md#sending). */
export const SendAccepted = Schema.Struct({
  messaging_product: Schema.Literal("whatsapp"),
  contacts: Schema.Array(Schema.Struct({ input: Schema.String })),
  messages: Schema.Array(Schema.Struct({ id: Schema.String, message_status: Schema.Literal("accepted") })),
  route: Schema.Struct({ decided: Route, reasons: Schema.Array(Schema.String), warnings: Schema.Array(Schema.String) })
})

/**
 * The drop-in path's answer (docs/api.md#the-drop-in-send-path): the Cloud API's own shape. `id` is the
 * gateway's message id, the one the client's forwarded status webhooks carry; `message_status` comes
 * with templates only, as Meta answers.
 */
/** The provider's answer to a status update, as Meta gives it. */
export const GraphStatusUpdated = Schema.Struct({ success: Schema.Boolean })

export const GraphMessageAccepted = Schema.Struct({
  messaging_product: Schema.Literal("whatsapp"),
  contacts: Schema.Array(Schema.Struct({
    input: Schema.String.annotations({ description: "`to` as sent (or `recipient`, for a message addressed by BSUID)" }),
    wa_id: Schema.optional(Schema.String).annotations({ description: "the recipient's number, digits only (absent for a message addressed by BSUID)" }),
    user_id: Schema.optional(Schema.String).annotations({ description: "the BSUID, for a message addressed by BSUID" })
  })),
  messages: Schema.Array(Schema.Struct({
    id: Schema.String.annotations({ description: "the gateway's message id (GET /v1/messages/{id} shows its wamid once the provider answered)" }),
    message_status: Schema.optional(Schema.Literal("accepted")).annotations({ description: "templates only" })
  }))
})

export const BatchResult = Schema.Struct({
  campaignId: Schema.NullOr(Schema.String),
  results: Schema.Array(Schema.Union(
    Schema.Struct({
      index: Schema.Number,
      id: Schema.String,
      route: Schema.Struct({ decided: Route, reasons: Schema.Array(Schema.String), warnings: Schema.Array(Schema.String) })
    }),
    Schema.Struct({
      index: Schema.Number,
      error: Schema.Struct({ code: Schema.String, message: Schema.String, details: Schema.optional(Schema.Unknown) })
    })
  ))
})

export const CampaignStats = Schema.Struct({
  campaignId: Schema.String,
  funnel: Schema.Struct({
    accepted: Schema.Number,
    submitted: Schema.Number,
    sent: Schema.Number,
    delivered: Schema.Number,
    read: Schema.Number,
    clicked: Schema.Number,
    landingPageViews: Schema.Number.annotations({
      description: "messages with a landing page view: one whose click (joined by tracking_token, then click_id) is attributed to the message"
    })
  }),
  routed: Schema.Struct({ marketing_messages: Schema.Number, cloud_api: Schema.Number }),
  observedRoute: Schema.Struct({ marketing_messages: Schema.Number, cloud_api: Schema.Number, unknown: Schema.Number }),
  failed: Schema.Number,
  expired: Schema.Number,
  dispatchUnknown: Schema.Number,
  routeMismatch: Schema.Number,
  failuresByCode: Schema.Record({ key: Schema.String, value: Schema.Number }),
  /** Accepted and not yet handed to the provider (waiting, backing off, in flight or outcome not known yet). */
  queued: Schema.Number.annotations({ description: "messages accepted and not yet handed to the provider (waiting, backing off, in flight, or outcome not known yet)" })
})

/** A campaign in the list: when its messages were accepted, and its funnel (as `CampaignStats`). */
export const CampaignSummary = Schema.Struct({
  campaignId: Schema.String,
  messages: Schema.Number,
  firstAcceptedAt: Iso,
  lastAcceptedAt: Iso,
  funnel: CampaignStats.fields.funnel
})

export const ClickResource = Schema.Struct({
  actionType: Schema.String,
  kind: Schema.String,
  clickId: Schema.NullOr(Schema.String),
  trackingToken: Schema.NullOr(Schema.String),
  component: Schema.NullOr(Schema.String),
  occurredAt: Iso,
  messageId: Schema.NullOr(Schema.String),
  joinedClick: Schema.NullOr(Schema.Struct({
    clickId: Schema.NullOr(Schema.String),
    trackingToken: Schema.NullOr(Schema.String),
    occurredAt: Iso
  })).annotations({ description: "for a landing_page_view: the link click it joins (by tracking_token, then click_id); null while there is none" })
})

export const InboxItem = Schema.Struct({
  id: Schema.Number,
  source: Schema.String,
  receivedAt: Iso,
  state: Schema.String,
  reason: Schema.NullOr(Schema.String),
  body: Schema.String,
  bodyEncoding: Schema.Literal("utf8", "base64").annotations({ description: "utf8 for text bodies; base64 when the stored bytes are not UTF-8" })
})

/** A live worker and what it holds (docs/worker.md#many-workers). */
export const WorkerResource = Schema.Struct({
  instance: Schema.String.annotations({ description: "the instance identity its leases are held under: <MMGW_WORKER_ID>#<pid>-<random>" }),
  startedAt: Iso.annotations({ description: "its first heartbeat" }),
  lastHeartbeatAt: Iso,
  expiresAt: Iso.annotations({ description: "when it stops counting as live unless it beats again" }),
  channels: Schema.Array(Schema.Struct({ phoneNumberId: Schema.String, since: Iso })).annotations({
    description: "the channels whose dispatch lease it holds, since it took each"
  }),
  timers: Schema.NullOr(Schema.Struct({ since: Iso })).annotations({ description: "the timers lease, when it holds it" }),
  inbox: Schema.Struct({ claimed: Schema.Number }).annotations({ description: "webhook bodies it has claimed and not yet processed" })
})

export const WorkersList = Schema.Struct({ workers: Schema.Array(WorkerResource) })

export const ApiKeyResource = Schema.Struct({
  id: Schema.String,
  name: Schema.String,
  businessManagerIds: Schema.Array(Schema.String),
  channelIds: Schema.Array(Schema.String),
  createdAt: Iso,
  revokedAt: NullableIso
})

/** Who a bearer token is (`GET /v1/api-keys/current`): the admin, or an API key and what it sees. */
export const CurrentPrincipalResource = Schema.Union(
  Schema.Struct({ role: Schema.Literal("admin") }),
  Schema.Struct({
    role: Schema.Literal("api_key"),
    id: Schema.String,
    businessManagerIds: Schema.Array(Schema.String),
    channelIds: Schema.Array(Schema.String)
  })
)

export const ApiKeyCreated = Schema.Struct({
  id: Schema.String,
  name: Schema.String,
  businessManagerIds: Schema.Array(Schema.String),
  channelIds: Schema.Array(Schema.String),
  secret: Schema.String.annotations({ description: "shown once; stored only as a hash" })
})

const ForwardEventSchema = Schema.Literal("messages", "statuses", "clicks", "account", "templates")

/** A tenant's endpoint (docs/forwarding.md); the secret is write-only and never shown. */
export const WebhookEndpointResource = Schema.Struct({
  id: Schema.String,
  url: Schema.String,
  events: Schema.Array(ForwardEventSchema),
  businessManagerIds: Schema.Array(Schema.String),
  channelIds: Schema.Array(Schema.String),
  state: Schema.Literal("active", "paused"),
  paused: Schema.NullOr(Schema.Struct({ at: Iso, reason: Schema.String })),
  failingSince: NullableIso,
  health: Schema.Struct({ pending: Schema.Number, failed: Schema.Number, lastDeliveredAt: NullableIso, lastError: Schema.NullOr(Schema.String) }),
  createdAt: Iso,
  updatedAt: Iso
})

/** One delivery in an endpoint's log: what was sent and what became of it (the body is the app's to see, not the log's). */
export const DeliveryResource = Schema.Struct({
  id: Schema.String,
  endpointId: Schema.String,
  events: Schema.Array(ForwardEventSchema),
  state: Schema.Literal("pending", "delivered", "failed"),
  attempts: Schema.Number,
  receivedAt: Iso,
  createdAt: Iso,
  nextAttemptAt: NullableIso,
  lastAttemptAt: NullableIso,
  lastStatus: Schema.NullOr(Schema.Number),
  lastError: Schema.NullOr(Schema.String),
  deliveredAt: NullableIso,
  latencyMs: Schema.NullOr(Schema.Number),
  replayedAt: NullableIso,
  deadline: Iso,
  bytes: Schema.Number
})

export const ReplayResult = Schema.Struct({ replayed: Schema.Number })
