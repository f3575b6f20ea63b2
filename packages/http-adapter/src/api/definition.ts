import { HttpApi, HttpApiEndpoint, HttpApiGroup, HttpApiMiddleware, HttpApiSchema, HttpApiSecurity, OpenApi } from "@effect/platform"
import { Context, type Layer, Schema } from "effect"
import { BadGateway, BadRequest, Conflict, Forbidden, NotFound, PayloadTooLarge, ServiceUnavailable, Unauthorized, Unprocessable } from "./errors.js"
import { GraphBadRequest, GraphForbidden, GraphUnauthorized, GraphUnavailable } from "./graph-errors.js"
import { webhookOperations } from "./webhook-ingress.js"
import { CloudMessageBody, DropInMessagesBody, MarketingMessageBody } from "./message-body.js"
import {
  ApiKeyCreated,
  ApiKeyResource,
  BatchResult,
  BusinessManagerResource,
  CampaignStats,
  CampaignSummary,
  ChannelChanges,
  ChannelResource,
  CurrentPrincipalResource,
  ClickResource,
  GraphMessageAccepted,
  GraphStatusUpdated,
  InboxItem,
  ListParams,
  MessageEvents,
  MessageResource,
  OnboardingInvitation,
  Page,
  RoutingSettings,
  RoutingSettingsChanges,
  SendAccepted,
  TemplateResource,
  TemplateSyncResource,
  WabaResource,
  WebhookEndpointResource,
  DeliveryResource,
  ReplayResult,
  WorkersList
} from "./resources.js"

/** Who is calling: the admin (config token) or an API key scoped to Business Managers and channels. */
export type Principal =
  | { readonly _tag: "Admin" }
  | {
    readonly _tag: "ApiKey"
    readonly id: string
    readonly businessManagerIds: ReadonlySet<string>
    readonly channelIds: ReadonlySet<string>
  }

export class CurrentPrincipal extends Context.Tag("@mm-gateway/http-adapter/CurrentPrincipal")<CurrentPrincipal, Principal>() {}

export class Authentication extends HttpApiMiddleware.Tag<Authentication>()("Authentication", {
  failure: Unauthorized,
  provides: CurrentPrincipal,
  security: { bearer: HttpApiSecurity.bearer }
}) {}

/**
 * Every body of a `/v1` request is checked against the JSON bounds (`JsonLimits` of
 * @mm-gateway/webhook-adapter) after authentication and before the framework decodes it, so no
 * schema, error message or request hash ever walks a document nested too deep for the stack.
 */
export class JsonBodyBounds extends HttpApiMiddleware.Tag<JsonBodyBounds>()("JsonBodyBounds", {
  failure: BadRequest
}) {}

const Digits = (name: string) =>
  Schema.String.pipe(Schema.pattern(/^[0-9]{1,32}$/)).annotations({ message: () => `${name} must be digits only` })
const DigitString = Schema.String.pipe(Schema.pattern(/^[0-9]{1,32}$/)).annotations({ message: () => "must be a string of digits" })
const BusinessId = HttpApiSchema.param("businessId", Digits("businessId"))
const WabaIdParam = HttpApiSchema.param("wabaId", Digits("wabaId"))
const PhoneNumberIdParam = HttpApiSchema.param("phoneNumberId", Digits("phoneNumberId"))
const Id = HttpApiSchema.param("id", Schema.String.pipe(Schema.minLength(1), Schema.maxLength(256)))
const Name = HttpApiSchema.param("name", Schema.String.pipe(Schema.pattern(/^[a-z0-9_]{1,512}$/)))
const Language = HttpApiSchema.param("language", Schema.String.pipe(Schema.pattern(/^[a-zA-Z]{2,3}([_-][a-zA-Z0-9]{2,8})?$/)))
const CampaignIdParam = HttpApiSchema.param("campaignId", Schema.String.pipe(Schema.minLength(1), Schema.maxLength(256)))
const ClickIdParam = HttpApiSchema.param("clickId", Schema.String.pipe(Schema.minLength(1), Schema.maxLength(1024)))

const Category = Schema.Literal("MARKETING", "UTILITY", "AUTHENTICATION")
const CampaignId = Schema.String.pipe(Schema.minLength(1), Schema.maxLength(256))
const CampaignHeader = { "x-campaign-id": Schema.optional(CampaignId) }
const SendHeaders = Schema.Struct({
  "idempotency-key": Schema.optional(Schema.String.pipe(Schema.minLength(1), Schema.maxLength(256))),
  ...CampaignHeader
})

/** Write-only secrets: their messages never quote the value (a decode message would echo it). */
const Secret = (name: string) =>
  Schema.String.pipe(Schema.minLength(1), Schema.maxLength(4096)).annotations({ message: () => `${name} must be a string of 1 to 4096 characters` })

/**
 * A `/v1` group: a bearer token, then the JSON bounds, then the endpoint's own decoding (the middleware
 * declared first runs last), and the errors every `/v1` endpoint may answer. On each group rather than
 * on the API, so that `/openapi.json` lists them for `/v1` only and not for the drop-in path.
 */
const v1Group = <Id extends string, Endpoints extends HttpApiEndpoint.HttpApiEndpoint.Any, E, R, TopLevel extends boolean>(
  group: HttpApiGroup.HttpApiGroup<Id, Endpoints, E, R, TopLevel>
) => group.middleware(JsonBodyBounds).middleware(Authentication).addError(BadRequest).addError(PayloadTooLarge)

export class ApiKeysGroup extends HttpApiGroup.make("apiKeys")
  .add(HttpApiEndpoint.post("createApiKey", "/v1/api-keys")
    .annotate(OpenApi.Summary, "Create an API key scoped to Business Managers and channels (admin)")
    .setPayload(Schema.Struct({
      name: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(200)),
      businessManagerIds: Schema.optional(Schema.Array(DigitString)),
      channelIds: Schema.optional(Schema.Array(DigitString))
    }))
    .addSuccess(ApiKeyCreated, { status: 201 }))
  .add(HttpApiEndpoint.get("listApiKeys", "/v1/api-keys")
    .annotate(OpenApi.Summary, "List the API keys, without their secrets (admin)")
    .setUrlParams(ListParams).addSuccess(Page(ApiKeyResource)))
  .add(HttpApiEndpoint.get("currentPrincipal", "/v1/api-keys/current")
    .annotate(OpenApi.Summary, "Who the bearer token is: the admin, or an API key with its scope (any caller)")
    .addSuccess(CurrentPrincipalResource))
  .add(HttpApiEndpoint.del("revokeApiKey")`/v1/api-keys/${Id}`
    .annotate(OpenApi.Summary, "Revoke an API key (admin)")
    .addSuccess(HttpApiSchema.NoContent).addError(NotFound))
  .addError(Forbidden)
  .annotate(OpenApi.Description, "API keys scoped to Business Managers and channels, the admin's to manage (the secret is shown once); any caller may ask who its token is.")
  .pipe(v1Group)
{}

export class OnboardingGroup extends HttpApiGroup.make("onboarding")
  .add(HttpApiEndpoint.put("putBusinessManager")`/v1/business-managers/${BusinessId}`
    .annotate(OpenApi.Summary, "Register or rename a Business Manager")
    .setPayload(Schema.Struct({ name: Schema.optional(Schema.String.pipe(Schema.maxLength(200))) }))
    .addSuccess(BusinessManagerResource))
  .add(HttpApiEndpoint.get("listBusinessManagers", "/v1/business-managers")
    .annotate(OpenApi.Summary, "List the Business Managers by id, each with its WABAs and terms status (a scoped key: its own)")
    .setUrlParams(ListParams)
    .addSuccess(Page(BusinessManagerResource)))
  .add(HttpApiEndpoint.get("getBusinessManager")`/v1/business-managers/${BusinessId}`
    .annotate(OpenApi.Summary, "Read a Business Manager with its WABAs and terms status")
    .addSuccess(BusinessManagerResource).addError(NotFound))
  .add(HttpApiEndpoint.post("inviteBusinessManager")`/v1/business-managers/${BusinessId}/onboarding-invitations`
    .annotate(OpenApi.Summary, "Invite a Business Manager to the MM API: hand out the onboarding link, or have Meta email its admins (Intent API)")
    .setPayload(Schema.NullOr(Schema.Struct({
      via: Schema.optional(Schema.Literal("link", "meta_email").annotations({
        description: "link (default): the onboarding link to hand the client; meta_email: Meta's Intent API emails the business portfolio's admins"
      })),
      solutionId: Schema.optional(Schema.String.pipe(Schema.pattern(/^[0-9]{1,32}$/)).annotations({
        description: "with meta_email: the Multi-Partner Solution to name (default MMGW_META_SOLUTION_ID)"
      }))
    })).annotations({ description: "optional; no body is {\"via\": \"link\"}" }))
    .addSuccess(OnboardingInvitation, { status: 201 })
    .addError(NotFound)
    .addError(Forbidden)
    .addError(Conflict)
    .addError(Unprocessable)
    .addError(BadGateway)
    .addError(ServiceUnavailable))
  .add(HttpApiEndpoint.put("putWaba")`/v1/wabas/${WabaIdParam}`
    .annotate(OpenApi.Summary, "Register a WABA under a Business Manager")
    .setPayload(Schema.Struct({
      businessManagerId: Schema.String.pipe(Schema.pattern(/^[0-9]{1,32}$/)),
      name: Schema.optional(Schema.String.pipe(Schema.maxLength(200)))
    }))
    .addSuccess(WabaResource)
    .addError(Conflict))
  .add(HttpApiEndpoint.get("getWaba")`/v1/wabas/${WabaIdParam}`
    .annotate(OpenApi.Summary, "Read a WABA with its MM API status")
    .addSuccess(WabaResource).addError(NotFound))
  .add(HttpApiEndpoint.post("setWabaMmStatus")`/v1/wabas/${WabaIdParam}/mm-api-status`
    .annotate(OpenApi.Summary, "Set a WABA's MM API status by hand (admin)")
    .setPayload(Schema.Struct({
      status: Schema.Literal("onboarded", "not_onboarded", "suspended"),
      reason: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(500))
    }))
    .addSuccess(WabaResource)
    .addError(NotFound))
  .add(HttpApiEndpoint.post("syncWabaMmStatus")`/v1/wabas/${WabaIdParam}/mm-api-status/sync`
    .annotate(OpenApi.Summary, "Ask for the WABA's MM API onboarding status to be read from Meta now (a WABA on a Meta channel)")
    .addSuccess(WabaResource, { status: 202 })
    .addError(NotFound))
  .add(HttpApiEndpoint.get("listOnboarding", "/v1/onboarding")
    .annotate(OpenApi.Summary, "List WABAs by MM API status")
    .setUrlParams(Schema.Struct({ ...ListParams.fields, status: Schema.optional(Schema.Literal("not_onboarded", "onboarded", "suspended")) }))
    .addSuccess(Page(WabaResource)))
  .addError(NotFound)
  .addError(Forbidden)
  .pipe(v1Group)
{}

export class ChannelsGroup extends HttpApiGroup.make("channels")
  .add(HttpApiEndpoint.put("putChannel")`/v1/channels/${PhoneNumberIdParam}`
    .annotate(OpenApi.Summary, "Register or change a channel (a phone number)")
    .setPayload(Schema.Struct({
      wabaId: Schema.String.pipe(Schema.pattern(/^[0-9]{1,32}$/)),
      displayPhoneNumber: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(40)),
      provider: Schema.Literal("360dialog", "meta", "sandbox"),
      credentials: Schema.Struct({
        apiKey: Schema.optional(Secret("credentials.apiKey")),
        accessToken: Schema.optional(Secret("credentials.accessToken"))
      }),
      routing: Schema.optional(Schema.Literal("inherit", "marketing_messages", "cloud_api")),
      throughputMps: Schema.optional(Schema.Number.pipe(Schema.int(), Schema.between(1, 1000)))
    }))
    .addSuccess(ChannelResource)
    .addError(NotFound))
  .add(HttpApiEndpoint.get("listChannels", "/v1/channels")
    .annotate(OpenApi.Summary, "List the channels by phone number id, without their credentials (a scoped key: its own)")
    .setUrlParams(ListParams)
    .addSuccess(Page(ChannelResource)))
  .add(HttpApiEndpoint.patch("changeChannel")`/v1/channels/${PhoneNumberIdParam}`
    .annotate(OpenApi.Summary, "Change a channel's routing override or throughput, keeping its registration and credentials")
    .annotate(OpenApi.Description, "Takes effect for the next message routed or dispatched. What is not given stays as it is.")
    .setPayload(Schema.Struct({
      routing: Schema.optional(Schema.Literal("inherit", "marketing_messages", "cloud_api")),
      throughputMps: Schema.optional(Schema.Number.pipe(Schema.int(), Schema.between(1, 1000)))
    }))
    .addSuccess(ChannelResource)
    .addError(NotFound))
  .add(HttpApiEndpoint.get("channelChanges")`/v1/channels/${PhoneNumberIdParam}/changes`
    .annotate(OpenApi.Summary, "A channel's routing and throughput changes, newest first: who, when, what")
    .addSuccess(ChannelChanges)
    .addError(NotFound))
  .add(HttpApiEndpoint.get("getChannel")`/v1/channels/${PhoneNumberIdParam}`
    .annotate(OpenApi.Summary, "Read a channel, without its credentials")
    .addSuccess(ChannelResource).addError(NotFound))
  .add(HttpApiEndpoint.get("listClicks")`/v1/channels/${PhoneNumberIdParam}/clicks`
    .annotate(OpenApi.Summary, "List the link clicks recorded on a channel")
    .setUrlParams(ListParams)
    .addSuccess(Page(ClickResource))
    .addError(NotFound))
  .addError(Forbidden)
  .pipe(v1Group)
{}

export class SettingsGroup extends HttpApiGroup.make("settings")
  .add(HttpApiEndpoint.get("getRoutingSettings", "/v1/settings/routing")
    .annotate(OpenApi.Summary, "Read the partner routing settings")
    .addSuccess(RoutingSettings))
  .add(HttpApiEndpoint.put("putRoutingSettings", "/v1/settings/routing")
    .annotate(OpenApi.Summary, "Change the partner routing settings (admin)")
    .setPayload(RoutingSettings).addSuccess(RoutingSettings))
  .add(HttpApiEndpoint.get("routingSettingsChanges", "/v1/settings/routing/changes")
    .annotate(OpenApi.Summary, "The partner routing settings' changes, newest first: who, when, what")
    .addSuccess(RoutingSettingsChanges))
  .addError(Forbidden)
  .pipe(v1Group)
{}

export class TemplatesGroup extends HttpApiGroup.make("templates")
  .add(HttpApiEndpoint.put("putTemplate")`/v1/wabas/${WabaIdParam}/templates/${Name}/${Language}`
    .annotate(OpenApi.Summary, "Record a template's category and TTL")
    .setPayload(Schema.Struct({ category: Category, ttlSeconds: Schema.optional(Schema.NullOr(Schema.Number.pipe(Schema.int()))) }))
    .addSuccess(TemplateResource)
    .addError(NotFound)
    .addError(Unprocessable))
  .add(HttpApiEndpoint.get("listTemplates")`/v1/wabas/${WabaIdParam}/templates`
    .annotate(OpenApi.Summary, "List a WABA's templates")
    .setUrlParams(ListParams)
    .addSuccess(Page(TemplateResource))
    .addError(NotFound))
  .add(HttpApiEndpoint.post("syncTemplates")`/v1/wabas/${WabaIdParam}/templates/sync`
    .annotate(OpenApi.Summary, "Ask for the WABA's template list to be read from Meta now (a WABA on a Meta channel)")
    .addSuccess(TemplateSyncResource, { status: 202 })
    .addError(NotFound))
  .addError(Forbidden)
  .pipe(v1Group)
{}

export class MessagesGroup extends HttpApiGroup.make("messages")
  .add(HttpApiEndpoint.post("sendMessage")`/v1/channels/${PhoneNumberIdParam}/messages`
    .annotate(OpenApi.Summary, "Send a message, routed by the policy (as to the Cloud API's /messages)")
    .setPayload(CloudMessageBody)
    .setHeaders(SendHeaders)
    .addSuccess(SendAccepted, { status: 202 }))
  .add(HttpApiEndpoint.post("sendMarketingMessage")`/v1/channels/${PhoneNumberIdParam}/marketing_messages`
    .annotate(OpenApi.Summary, "Send a marketing message (as to the MM API's /marketing_messages)")
    .setPayload(MarketingMessageBody)
    .setHeaders(SendHeaders)
    .addSuccess(SendAccepted, { status: 202 }))
  .add(HttpApiEndpoint.post("sendBatch")`/v1/channels/${PhoneNumberIdParam}/message-batches`
    .annotate(OpenApi.Summary, "Send up to 1000 messages, each accepted or refused on its own")
    .setPayload(Schema.Struct({
      campaignId: Schema.optional(CampaignId),
      endpoint: Schema.optional(Schema.Literal("messages", "marketing_messages")),
      messages: Schema.Array(Schema.Unknown).pipe(Schema.minItems(1), Schema.maxItems(1000))
    }))
    .setHeaders(Schema.Struct(CampaignHeader))
    .addSuccess(BatchResult, { status: 202 }))
  .add(HttpApiEndpoint.get("getMessage")`/v1/messages/${Id}`
    .annotate(OpenApi.Summary, "Read a message: its route, status, wamid, timestamps and errors")
    .addSuccess(MessageResource))
  .add(HttpApiEndpoint.get("getMessageEvents")`/v1/messages/${Id}/events`
    .annotate(OpenApi.Summary, "Read a message's event stream")
    .addSuccess(MessageEvents))
  .add(HttpApiEndpoint.get("findMessages", "/v1/messages")
    .annotate(OpenApi.Summary, "Find messages by wamid, or by recipient (newest first)")
    .annotate(OpenApi.Description, "Give exactly one of `wamid` and `to` (the recipient's number, digits only).")
    .setUrlParams(Schema.Struct({
      ...ListParams.fields,
      wamid: Schema.optional(Schema.String.pipe(Schema.minLength(1), Schema.maxLength(256))),
      to: Schema.optional(Schema.String.pipe(Schema.pattern(/^[0-9]{1,32}$/)).annotations({ message: () => "to must be digits only" }))
    }))
    .addSuccess(Page(MessageResource)))
  .add(HttpApiEndpoint.post("resolveMessage")`/v1/messages/${Id}/resolution`
    .annotate(OpenApi.Summary, "Resend or give up a dispatch_unknown message (admin)")
    .setPayload(Schema.Struct({ action: Schema.Literal("resend", "give_up") }))
    .addSuccess(MessageResource)
    .addError(Conflict))
  .add(HttpApiEndpoint.get("listCampaigns", "/v1/campaigns")
    .annotate(OpenApi.Summary, "List the campaigns, newest first, each with its funnel (a scoped key: its own messages)")
    .setUrlParams(ListParams)
    .addSuccess(Page(CampaignSummary)))
  .add(HttpApiEndpoint.get("campaignStats")`/v1/campaigns/${CampaignIdParam}/stats`
    .annotate(OpenApi.Summary, "Read a campaign's funnel")
    .addSuccess(CampaignStats))
  .add(HttpApiEndpoint.post("attributeClick")`/v1/clicks/${ClickIdParam}/attribution`
    .annotate(OpenApi.Summary, "Tie a click to a message")
    .setPayload(Schema.Struct({ messageId: Schema.String.pipe(Schema.minLength(1)) }))
    .addSuccess(MessageResource)
    .addError(Conflict))
  .addError(NotFound)
  .addError(Forbidden)
  .addError(Conflict)
  .addError(Unprocessable)
  .pipe(v1Group)
{}

export class InboxGroup extends HttpApiGroup.make("webhookInbox")
  .add(HttpApiEndpoint.get("listInbox", "/v1/webhook-inbox")
    .annotate(OpenApi.Summary, "List quarantined webhook deliveries (admin)")
    .setUrlParams(Schema.Struct({ ...ListParams.fields, state: Schema.optional(Schema.Literal("quarantined")) }))
    .addSuccess(Page(InboxItem)))
  .add(HttpApiEndpoint.post("replayInbox")`/v1/webhook-inbox/${HttpApiSchema.param("id", Schema.NumberFromString.pipe(Schema.int()))}/replay`
    .annotate(OpenApi.Summary, "Send a quarantined webhook delivery back to the worker (admin)")
    .addSuccess(InboxItem)
    .addError(NotFound)
    .addError(Conflict))
  .addError(Forbidden)
  .pipe(v1Group)
{}

export class WorkersGroup extends HttpApiGroup.make("workers")
  .add(HttpApiEndpoint.get("listWorkers", "/v1/workers")
    .annotate(OpenApi.Summary, "List the live workers and what each holds (admin)")
    .annotate(
      OpenApi.Description,
      "Every worker instance whose heartbeat has not lapsed, by instance, with the channels it dispatches, the timers if it runs them, and the webhook bodies it has claimed."
    )
    .addSuccess(WorkersList))
  .addError(Forbidden)
  .pipe(v1Group)
{}

const ForwardEvents = Schema.Array(Schema.Literal("messages", "statuses", "clicks", "account", "templates")).pipe(
  Schema.minItems(1)
).annotations({ message: () => "must be a non-empty list of messages, statuses, clicks, account, templates" })
const EndpointUrl = Schema.String.pipe(Schema.minLength(1), Schema.maxLength(2048)).annotations({ message: () => "must be a URL of at most 2048 characters" })
const EndpointSecret = Schema.String.pipe(Schema.minLength(16), Schema.maxLength(4096))
  .annotations({ message: () => "must be a string of 16 to 4096 characters" })
const IsoTime = Schema.String.pipe(Schema.filter((s) => !Number.isNaN(Date.parse(s)))).annotations({ message: () => "must be an ISO-8601 time" })

export class WebhookEndpointsGroup extends HttpApiGroup.make("webhookEndpoints")
  .add(HttpApiEndpoint.post("createWebhookEndpoint", "/v1/webhook-endpoints")
    .annotate(OpenApi.Summary, "Register an endpoint of the tenant's own app that receives its webhooks")
    .annotate(
      OpenApi.Description,
      "The secret signs every delivery (X-Hub-Signature-256) and is never shown again. A scoped key's endpoint covers its Business Managers and channels; the admin names them."
    )
    .setPayload(Schema.Struct({
      url: EndpointUrl,
      secret: EndpointSecret,
      events: Schema.optional(ForwardEvents),
      businessManagerIds: Schema.optional(Schema.Array(DigitString)),
      channelIds: Schema.optional(Schema.Array(DigitString))
    }))
    .addSuccess(WebhookEndpointResource, { status: 201 }))
  .add(HttpApiEndpoint.get("listWebhookEndpoints", "/v1/webhook-endpoints")
    .annotate(OpenApi.Summary, "List the webhook endpoints the caller sees, with their health")
    .setUrlParams(ListParams).addSuccess(Page(WebhookEndpointResource)))
  .add(HttpApiEndpoint.get("getWebhookEndpoint")`/v1/webhook-endpoints/${Id}`
    .annotate(OpenApi.Summary, "A webhook endpoint with its health")
    .addSuccess(WebhookEndpointResource).addError(NotFound))
  .add(HttpApiEndpoint.patch("updateWebhookEndpoint")`/v1/webhook-endpoints/${Id}`
    .annotate(OpenApi.Summary, "Pause or resume a webhook endpoint, change its events, URL or secret")
    .setPayload(Schema.Struct({
      state: Schema.optional(Schema.Literal("active", "paused")),
      events: Schema.optional(ForwardEvents),
      url: Schema.optional(EndpointUrl),
      secret: Schema.optional(EndpointSecret)
    }))
    .addSuccess(WebhookEndpointResource).addError(NotFound))
  .add(HttpApiEndpoint.del("deleteWebhookEndpoint")`/v1/webhook-endpoints/${Id}`
    .annotate(OpenApi.Summary, "Delete a webhook endpoint and its delivery log")
    .addSuccess(HttpApiSchema.NoContent).addError(NotFound))
  .add(HttpApiEndpoint.get("listDeliveries")`/v1/webhook-endpoints/${Id}/deliveries`
    .annotate(OpenApi.Summary, "An endpoint's delivery log, newest first: state, attempts, last error, latency")
    .setUrlParams(Schema.Struct({ ...ListParams.fields, state: Schema.optional(Schema.Literal("pending", "delivered", "failed")) }))
    .addSuccess(Page(DeliveryResource)).addError(NotFound))
  .add(HttpApiEndpoint.post("replayDeliveries")`/v1/webhook-endpoints/${Id}/replay`
    .annotate(OpenApi.Summary, "Deliver again one delivery, or every one created in a time range")
    .setPayload(Schema.Struct({ deliveryId: Schema.optional(Schema.String.pipe(Schema.minLength(1), Schema.maxLength(256))), from: Schema.optional(IsoTime), to: Schema.optional(IsoTime) }))
    .addSuccess(ReplayResult).addError(NotFound))
  .addError(Forbidden)
  .annotate(OpenApi.Description, "Forwarding: the tenant's own app receives its webhooks, in Meta's shape, signed with the endpoint's secret.")
  .pipe(v1Group)
{}

/**
 * The layer of one `/v1` group's handlers, which need `R` besides the API's middleware. Written out for
 * a group whose inferred type would name a member of a domain namespace (`EventStore.EventStore`): a
 * declaration file cannot name it through the domain's entry point without an import of the namespace.
 */
export type V1GroupLive<Name extends string, R> = Layer.Layer<HttpApiGroup.ApiGroup<"mm-gateway", Name>, never, JsonBodyBounds | Authentication | R>

/** Everything under `/v1` needs a bearer token (`v1Group`). */
export class V1Api extends HttpApi.make("v1")
  .add(ApiKeysGroup)
  .add(OnboardingGroup)
  .add(ChannelsGroup)
  .add(SettingsGroup)
  .add(TemplatesGroup)
  .add(MessagesGroup)
  .add(InboxGroup)
  .add(WebhookEndpointsGroup)
  .add(WorkersGroup)
{}

/**
 * The drop-in send path (docs/api.md#the-drop-in-send-path), Graph style: a bearer token that is the
 * admin token or an API key. Its failures, as every error of the path, are Graph's envelope.
 */
export class GraphAuthentication extends HttpApiMiddleware.Tag<GraphAuthentication>()("GraphAuthentication", {
  failure: GraphUnauthorized,
  provides: CurrentPrincipal,
  security: { bearer: HttpApiSecurity.bearer }
}) {}

/** The drop-in send path, 360dialog style: `D360-API-KEY`, an API key scoped to one channel. */
export class Dialog360Authentication extends HttpApiMiddleware.Tag<Dialog360Authentication>()("Dialog360Authentication", {
  failure: GraphUnauthorized,
  provides: CurrentPrincipal,
  security: { d360ApiKey: HttpApiSecurity.apiKey({ key: "D360-API-KEY", in: "header" }) }
}) {}

/** The JSON bounds of `JsonBodyBounds`, answered in Graph's envelope. */
export class GraphJsonBodyBounds extends HttpApiMiddleware.Tag<GraphJsonBodyBounds>()("GraphJsonBodyBounds", {
  failure: GraphBadRequest
}) {}

const GraphVersion = HttpApiSchema.param(
  "version",
  Schema.String.annotations({ description: "a Graph API version such as v25.0; accepted and not passed on (the gateway sends with its own MMGW_GRAPH_API_VERSION)" })
)
const GraphPhoneNumberId = HttpApiSchema.param("phoneNumberId", Schema.String.annotations({ description: "the channel's phone number id" }))

const SEND_DESCRIPTION = "The body, its validation and its routing are those of POST /v1/channels/{phoneNumberId}/messages; the answer is the Cloud API's (messages[0].id is the gateway's message id)."
const MESSAGES_DESCRIPTION = `${SEND_DESCRIPTION} A status update (a read receipt {"messaging_product": "whatsapp", "status": "read", "message_id"}, with "typing_indicator": {"type": "text"} or not) is relayed to the channel's provider, and its answer ({"success": true}) is the answer.`
/** A message accepted, or the provider's answer to a status update. */
const DropInMessagesAnswer = Schema.Union(GraphMessageAccepted, GraphStatusUpdated)
const MARKETING_DESCRIPTION = "The body, its validation and its routing are those of POST /v1/channels/{phoneNumberId}/marketing_messages; the answer is the Cloud API's (messages[0].id is the gateway's message id)."

export class GraphSendGroup extends HttpApiGroup.make("graphSend")
  .add(HttpApiEndpoint.post("sendMessage")`/${GraphVersion}/${GraphPhoneNumberId}/messages`
    .setPayload(DropInMessagesBody)
    .setHeaders(SendHeaders)
    .addSuccess(DropInMessagesAnswer)
    .annotate(OpenApi.Summary, "Send a message, as to the Cloud API's /{version}/{phone-number-id}/messages")
    .annotate(OpenApi.Description, MESSAGES_DESCRIPTION))
  .add(HttpApiEndpoint.post("sendMarketingMessage")`/${GraphVersion}/${GraphPhoneNumberId}/marketing_messages`
    .setPayload(MarketingMessageBody)
    .setHeaders(SendHeaders)
    .addSuccess(GraphMessageAccepted)
    .annotate(OpenApi.Summary, "Send a marketing message, as to the MM API's /{version}/{phone-number-id}/marketing_messages")
    .annotate(OpenApi.Description, MARKETING_DESCRIPTION))
  .add(HttpApiEndpoint.post("sendMessageUnversioned")`/${GraphPhoneNumberId}/messages`
    .setPayload(DropInMessagesBody)
    .setHeaders(SendHeaders)
    .addSuccess(DropInMessagesAnswer)
    .annotate(OpenApi.Summary, "Send a message, as to the Cloud API's /{phone-number-id}/messages (no version segment)")
    .annotate(OpenApi.Description, MESSAGES_DESCRIPTION))
  .add(HttpApiEndpoint.post("sendMarketingMessageUnversioned")`/${GraphPhoneNumberId}/marketing_messages`
    .setPayload(MarketingMessageBody)
    .setHeaders(SendHeaders)
    .addSuccess(GraphMessageAccepted)
    .annotate(OpenApi.Summary, "Send a marketing message, as to the MM API's /{phone-number-id}/marketing_messages (no version segment)")
    .annotate(OpenApi.Description, MARKETING_DESCRIPTION))
  .addError(GraphBadRequest)
  .addError(GraphUnavailable)
  // As on `/v1`: authentication first, then the bounds.
  .middleware(GraphJsonBodyBounds)
  .middleware(GraphAuthentication)
  .annotate(OpenApi.Description, "Drop-in send path, Graph style: an app written against the Cloud API changes only its base URL and token (a gateway API key or the admin token). Errors are Graph's envelope.")
{}

export class Dialog360SendGroup extends HttpApiGroup.make("dialog360Send")
  .add(HttpApiEndpoint.post("sendMessage", "/messages")
    .setPayload(DropInMessagesBody)
    .setHeaders(SendHeaders)
    .addSuccess(DropInMessagesAnswer)
    .annotate(OpenApi.Summary, "Send a message, as to 360dialog's /messages")
    .annotate(OpenApi.Description, MESSAGES_DESCRIPTION))
  .add(HttpApiEndpoint.post("sendMarketingMessage", "/marketing_messages")
    .setPayload(MarketingMessageBody)
    .setHeaders(SendHeaders)
    .addSuccess(GraphMessageAccepted)
    .annotate(OpenApi.Summary, "Send a marketing message, as to 360dialog's /marketing_messages")
    .annotate(OpenApi.Description, MARKETING_DESCRIPTION))
  .addError(GraphBadRequest)
  .addError(GraphUnavailable)
  .addError(GraphForbidden)
  .middleware(GraphJsonBodyBounds)
  .middleware(Dialog360Authentication)
  .annotate(OpenApi.Description, "Drop-in send path, 360dialog style: an app written against 360dialog's API changes only its base URL and D360-API-KEY (a gateway API key scoped to one channel). Errors are Graph's envelope.")
{}

/** The layer of one drop-in group's handlers, written out as `V1GroupLive` is. */
export type DropInGroupLive<Name extends string, Auth, R> = Layer.Layer<HttpApiGroup.ApiGroup<"mm-gateway", Name>, never, GraphJsonBodyBounds | Auth | R>

/** The drop-in send path: the Cloud API's and 360dialog's send endpoints, on the gateway. */
export class DropInApi extends HttpApi.make("dropIn")
  .add(GraphSendGroup)
  .add(Dialog360SendGroup)
{}

export class SystemGroup extends HttpApiGroup.make("system")
  .add(HttpApiEndpoint.get("healthz", "/healthz")
    .annotate(OpenApi.Summary, "Liveness: the process answers")
    .addSuccess(Schema.Struct({ status: Schema.Literal("ok") })))
  .add(HttpApiEndpoint.get("readyz", "/readyz")
    .annotate(OpenApi.Summary, "Readiness: the databases answer and are migrated")
    .addSuccess(Schema.Struct({ status: Schema.Literal("ready"), migrations: Schema.Number }))
    .addError(ServiceUnavailable))
  .add(HttpApiEndpoint.get("metrics", "/metrics")
    .annotate(OpenApi.Summary, "Metrics in the Prometheus text format")
    .addSuccess(HttpApiSchema.Text({ contentType: "text/plain; version=0.0.4" })))
  .add(HttpApiEndpoint.get("webhookHandshake", "/webhooks/meta")
    .annotate(OpenApi.Summary, "Meta's webhook subscription handshake")
    .setUrlParams(Schema.Struct({
      "hub.mode": Schema.optional(Schema.String),
      "hub.verify_token": Schema.optional(Schema.String),
      "hub.challenge": Schema.optional(Schema.String)
    }))
    .addSuccess(HttpApiSchema.Text())
    .addError(Forbidden))
{}

/** The whole public API, as served and as documented in `/openapi.json`. */
export class GatewayApi extends HttpApi.make("mm-gateway")
  .addHttpApi(V1Api)
  .addHttpApi(DropInApi)
  .add(SystemGroup)
  .annotate(OpenApi.Transform, (spec) => {
    const paths = { ...(spec["paths"] as Record<string, Record<string, unknown>>) }
    for (const [path, item] of Object.entries(webhookOperations)) paths[path] = { ...paths[path], ...item }
    return { ...spec, paths }
  })
  .annotate(OpenApi.Title, "mm-gateway")
  .annotate(OpenApi.Description, "Marketing Messages API gateway: onboarding, routing, sending and reporting for WhatsApp marketing messages.")
{}
