import { HttpApiBuilder } from "@effect/platform"
import { Channel, CommandHandler, EventStore, type Ids, IntentApi, Streams } from "@mm-gateway/domain"
import { clampLimit, ClickQueries, ConfigurationQueries, OnboardingQueries } from "@mm-gateway/ports"
import { Clock, Effect } from "effect"
import { CredentialVault } from "../credentials-store.js"
import { ApiSettings, changedBy, iso, requireAdmin, scopeOf, sees, visibleChannel, visibleWaba } from "./context.js"
import { CurrentPrincipal, GatewayApi, type V1GroupLive } from "./definition.js"
import { badGateway, conflict, forbiddenBy, invalidRequest, notFound, serviceUnavailable, unprocessable } from "./errors.js"
import { businessManagerOf, channelOf, clickOf, metaRequestOf, templateOf, wabaOf } from "./views.js"

/** The steps a client follows to accept the MM API terms (360dialog's onboarding page). */
const ONBOARDING_STEPS = [
  "Open the link while logged in to Facebook as an admin of the Business Manager.",
  "Complete the embedded signup for the Marketing Messages API and accept its terms of service.",
  "The terms apply to every WABA of that Business Manager; repeat for each Business Manager you own.",
  "Meta then sends an MM_LITE_TERMS_SIGNED webhook; the gateway marks the WABAs onboarded."
]

/** What follows a request through Meta's Intent API. */
const META_EMAIL_STEPS = [
  "Meta emails every admin of the business portfolio an invitation to accept the Marketing Messages API terms.",
  "An admin accepts them from the email or in WhatsApp Manager; they apply to every WABA of the portfolio.",
  "Meta then sends an MM_LITE_TERMS_SIGNED webhook; the gateway marks the WABAs onboarded."
]
const ALREADY_INVITED_STEP = "Meta says the business has already been invited (by this or another partner): its admins have the email, nothing more is sent."

const INVALID_RECIPIENT: Record<IntentApi.InvalidRecipientCause | "unknown", string> = {
  already_signed: "the business has already accepted the MM API terms",
  ineligible_country: "the business has no WABA in a country where the MM API is available",
  no_eligible_waba: "the business has no eligible WABA shared with the partner",
  unknown: "the business has already accepted the terms, has no WABA in an eligible country, or shares no eligible WABA with the partner"
}

/** One of the documented refusals as the API's error. */
const refusalError = (businessId: string, result: Extract<IntentApi.IntentResult, { readonly _tag: "Refused" }>) => {
  switch (result.reason) {
    case "invalid_recipient_type":
      return unprocessable("meta_invalid_recipient_type", `Meta will not invite business ${businessId}: ${INVALID_RECIPIENT[result.cause ?? "unknown"]}`, {
        cause: result.cause,
        graph: result.graph
      })
    case "request_already_sent":
      return conflict("meta_request_already_sent", `the partner has already sent business ${businessId} this request`, { graph: result.graph })
    case "insufficient_permissions":
      return forbiddenBy(
        "meta_insufficient_permissions",
        "Meta refused the partner's system-user token: it needs advanced whatsapp_business_management and whatsapp_business_messaging",
        { graph: result.graph }
      )
  }
}

/**
 * A refusal or failure of the Intent API as the API's error (docs/api.md#onboarding-invitations):
 * stable codes, Meta's code and text in `details.graph`, never the token.
 */
const intentError = (businessId: string, result: Exclude<IntentApi.IntentResult, { readonly _tag: "Requested" | "AlreadyInvited" }>) => {
  switch (result._tag) {
    case "NotConfigured":
      return unprocessable("meta_not_configured", `${result.setting} is not set: the api needs the partner's system-user token to call Meta's Intent API`, {
        setting: result.setting
      })
    case "Refused":
      return refusalError(businessId, result)
    case "GraphError":
      return badGateway("meta_error", `Meta answered HTTP ${result.graph.httpStatus}${result.graph.code === null ? "" : ` with Graph error ${result.graph.code}`}: ${result.graph.message ?? "no message"}`, {
        graph: result.graph
      })
    case "NoAnswer":
      return result.sent
        ? badGateway("meta_no_answer", `the request reached Meta but no answer came back (${result.reason}); asking again is safe (a duplicate counts as already invited)`, {
          reason: result.reason
        })
        : serviceUnavailable("meta_unreachable", `Meta's Graph API could not be reached (${result.reason}); nothing was sent`, { reason: result.reason })
  }
}

const bmVisible = (businessManagerId: string) =>
  Effect.gen(function*() {
    const principal = yield* CurrentPrincipal
    if (!sees(principal, businessManagerId)) return yield* Effect.fail(notFound("business manager", businessManagerId))
  })

/**
 * Records on the WABA that the caller asked the worker to read something from Meta again (its MM API
 * status, or its template list): the admin or the WABA's own tenant; another tenant's WABA is not there
 * for this key (404).
 */
const requestSync = (wabaId: string, tag: "RequestMetaStatusSync" | "RequestTemplateSync", now: number) =>
  Effect.gen(function*() {
    yield* visibleWaba(wabaId, now)
    const principal = yield* CurrentPrincipal
    yield* CommandHandler.handleCommand(Streams.WabaStream, Streams.streamId.waba(wabaId), {
      _tag: tag,
      wabaId: wabaId as Ids.WabaId,
      requestedBy: principal._tag === "Admin" ? "admin" : `key:${principal.id}`,
      at: now
    }).pipe(
      Effect.catchTag("NotRegistered", () => Effect.fail(notFound("waba", wabaId))),
      Effect.catchTag("WabaOwnedByAnotherBusinessManager", Effect.die)
    )
  })

export const OnboardingLive: V1GroupLive<"onboarding", EventStore.EventStore | OnboardingQueries | ApiSettings | IntentApi.IntentApi> = HttpApiBuilder.group(GatewayApi, "onboarding", (handlers) =>
  handlers
    .handle("putBusinessManager", ({ path, payload }) =>
      Effect.gen(function*() {
        yield* bmVisible(path.businessId)
        const now = yield* Clock.currentTimeMillis
        yield* CommandHandler.handleCommand(Streams.BusinessManagerStream, Streams.streamId.businessManager(path.businessId), {
          _tag: "RegisterBusinessManager",
          businessManagerId: path.businessId as Ids.BusinessManagerId,
          name: payload.name ?? null,
          at: now
        }).pipe(Effect.orDie)
        const view = yield* (yield* OnboardingQueries).businessManager(path.businessId, now)
        if (view === null) return yield* Effect.die(new Error("a registered business manager is not in the read model"))
        return businessManagerOf(view)
      }))
    .handle("listBusinessManagers", ({ urlParams }) =>
      Effect.gen(function*() {
        const principal = yield* CurrentPrincipal
        const page = yield* (yield* OnboardingQueries).businessManagers({
          limit: clampLimit(urlParams.limit),
          cursor: urlParams.cursor ?? null,
          now: yield* Clock.currentTimeMillis,
          ...(principal._tag === "Admin" ? {} : { businessManagerIds: [...principal.businessManagerIds] })
        })
        return { items: page.items.map(businessManagerOf), nextCursor: page.nextCursor }
      }))
    .handle("getBusinessManager", ({ path }) =>
      Effect.gen(function*() {
        yield* bmVisible(path.businessId)
        const view = yield* (yield* OnboardingQueries).businessManager(path.businessId, yield* Clock.currentTimeMillis)
        if (view === null) return yield* Effect.fail(notFound("business manager", path.businessId))
        return businessManagerOf(view)
      }))
    .handle("inviteBusinessManager", ({ path, payload }) =>
      Effect.gen(function*() {
        yield* bmVisible(path.businessId)
        const via = payload?.via ?? "link"
        const stream = Streams.streamId.businessManager(path.businessId)
        const unknown = () => Effect.fail(notFound("business manager", path.businessId))
        if (via === "link") {
          if (payload?.solutionId !== undefined) return yield* Effect.fail(invalidRequest("solutionId", "solutionId is for via meta_email only"))
          const settings = yield* ApiSettings
          yield* CommandHandler.handleCommand(Streams.BusinessManagerStream, stream, {
            _tag: "IssueOnboardingInvitation",
            businessManagerId: path.businessId as Ids.BusinessManagerId,
            link: settings.onboardingLink,
            at: yield* Clock.currentTimeMillis
          }).pipe(Effect.catchTag("NotRegistered", unknown))
          return { via, link: settings.onboardingLink, steps: ONBOARDING_STEPS, metaRequest: null }
        }
        // Meta is asked only for a Business Manager the gateway knows.
        if ((yield* (yield* OnboardingQueries).businessManager(path.businessId, yield* Clock.currentTimeMillis)) === null) return yield* unknown()
        const result = yield* (yield* IntentApi.IntentApi).requestOnboarding({ businessId: path.businessId, solutionId: payload?.solutionId ?? null })
        // What Meta answered, for the operator: the outcome and Graph's code, never the token or Meta's text.
        yield* Effect.logInfo("intent api request").pipe(Effect.annotateLogs({
          businessId: path.businessId,
          outcome: result._tag === "Refused" ? result.reason : result._tag,
          ...(result._tag === "Refused" || result._tag === "GraphError" ? { graphCode: result.graph.code, httpStatus: result.graph.httpStatus } : {}),
          ...(result._tag === "NoAnswer" ? { reason: result.reason } : {})
        }))
        if (result._tag !== "Requested" && result._tag !== "AlreadyInvited") return yield* Effect.fail(intentError(path.businessId, result))
        const request = {
          requestId: result._tag === "Requested" ? result.requestId : null,
          alreadyInvited: result._tag === "AlreadyInvited",
          solutionId: result.solutionId,
          at: yield* Clock.currentTimeMillis
        }
        yield* CommandHandler.handleCommand(Streams.BusinessManagerStream, stream, {
          _tag: "RecordMetaOnboardingRequest",
          businessManagerId: path.businessId as Ids.BusinessManagerId,
          ...request
        }).pipe(Effect.catchTag("NotRegistered", unknown))
        return {
          via,
          link: null,
          steps: request.alreadyInvited ? [ALREADY_INVITED_STEP, ...META_EMAIL_STEPS.slice(1)] : META_EMAIL_STEPS,
          metaRequest: metaRequestOf(request)
        }
      }))
    .handle("putWaba", ({ path, payload }) =>
      Effect.gen(function*() {
        yield* bmVisible(payload.businessManagerId)
        const principal = yield* CurrentPrincipal
        const now = yield* Clock.currentTimeMillis
        if ((yield* (yield* OnboardingQueries).businessManager(payload.businessManagerId, now)) === null) {
          return yield* Effect.fail(notFound("business manager", payload.businessManagerId))
        }
        // Another tenant's WABA is not there for this key: 404, as for a read (not the 409 the admin gets).
        const existing = yield* (yield* OnboardingQueries).waba(path.wabaId, now)
        if (existing !== null && !sees(principal, existing.businessManagerId)) return yield* Effect.fail(notFound("waba", path.wabaId))
        yield* CommandHandler.handleCommand(Streams.WabaStream, Streams.streamId.waba(path.wabaId), {
          _tag: "RegisterWaba",
          wabaId: path.wabaId as Ids.WabaId,
          businessManagerId: payload.businessManagerId as Ids.BusinessManagerId,
          name: payload.name ?? null,
          at: now
        }).pipe(
          Effect.catchTag("WabaOwnedByAnotherBusinessManager", () =>
            Effect.fail(conflict("waba_owned_by_another_business_manager", `WABA ${path.wabaId} belongs to another Business Manager`))),
          Effect.catchTag("NotRegistered", Effect.die)
        )
        return wabaOf(yield* visibleWaba(path.wabaId, now))
      }))
    .handle("getWaba", ({ path }) =>
      Effect.gen(function*() {
        return wabaOf(yield* visibleWaba(path.wabaId, yield* Clock.currentTimeMillis))
      }))
    .handle("setWabaMmStatus", ({ path, payload }) =>
      Effect.gen(function*() {
        yield* requireAdmin
        const now = yield* Clock.currentTimeMillis
        yield* CommandHandler.handleCommand(Streams.WabaStream, Streams.streamId.waba(path.wabaId), {
          _tag: "SetMmStatusManually",
          wabaId: path.wabaId as Ids.WabaId,
          status: payload.status,
          reason: payload.reason,
          at: now
        }).pipe(
          Effect.catchTag("NotRegistered", () => Effect.fail(notFound("waba", path.wabaId))),
          Effect.catchTag("WabaOwnedByAnotherBusinessManager", Effect.die)
        )
        return wabaOf(yield* visibleWaba(path.wabaId, now))
      }))
    .handle("syncWabaMmStatus", ({ path }) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        yield* requestSync(path.wabaId, "RequestMetaStatusSync", now)
        return wabaOf(yield* visibleWaba(path.wabaId, now))
      }))
    .handle("listOnboarding", ({ urlParams }) =>
      Effect.gen(function*() {
        const principal = yield* CurrentPrincipal
        const page = yield* (yield* OnboardingQueries).wabas({
          now: yield* Clock.currentTimeMillis,
          ...(urlParams.limit === undefined ? {} : { limit: urlParams.limit }),
          ...(urlParams.cursor === undefined ? {} : { cursor: urlParams.cursor }),
          ...(urlParams.status === undefined ? {} : { status: urlParams.status }),
          ...(principal._tag === "Admin" ? {} : { businessManagerIds: [...principal.businessManagerIds] })
        })
        return { items: page.items.map(wabaOf), nextCursor: page.nextCursor }
      })))

export const ChannelsLive: V1GroupLive<
  "channels",
  ConfigurationQueries | EventStore.EventStore | OnboardingQueries | CredentialVault | ClickQueries
> = HttpApiBuilder.group(GatewayApi, "channels", (handlers) =>
  handlers
    .handle("putChannel", ({ path, payload }) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        yield* visibleWaba(payload.wabaId, now)
        // Re-registering is for the channel's own tenant: another tenant's number answers 404.
        if ((yield* (yield* ConfigurationQueries).channel(path.phoneNumberId)) !== null) yield* visibleChannel(path.phoneNumberId, now)
        const needsApiKey = payload.provider !== "meta"
        if (needsApiKey && payload.credentials.apiKey === undefined) {
          return yield* Effect.fail(invalidRequest("credentials.apiKey", `credentials.apiKey is required for provider ${payload.provider}`))
        }
        if (!needsApiKey && payload.credentials.accessToken === undefined) {
          return yield* Effect.fail(invalidRequest("credentials.accessToken", "credentials.accessToken is required for provider meta"))
        }
        const credentialsRef = yield* (yield* CredentialVault).put(path.phoneNumberId, payload.credentials)
        yield* CommandHandler.handleCommand(Streams.ChannelStream, Streams.streamId.channel(path.phoneNumberId), {
          _tag: "RegisterChannel",
          phoneNumberId: path.phoneNumberId as Ids.PhoneNumberId,
          wabaId: payload.wabaId as Ids.WabaId,
          displayPhoneNumber: payload.displayPhoneNumber,
          provider: payload.provider,
          credentialsRef,
          throughputMps: payload.throughputMps ?? Channel.DEFAULT_THROUGHPUT_MPS,
          routing: payload.routing ?? "inherit",
          by: yield* changedBy,
          at: now
        }).pipe(Effect.catchTags({
          ThroughputOutOfRange: (e) => Effect.fail(invalidRequest("throughputMps", `throughputMps must be between ${e.min} and ${e.max}`)),
          // Registering is how a channel comes to exist: the channel's decider refuses only changes to one not registered.
          NotRegistered: (e) => Effect.die(e)
        }))
        return channelOf(yield* visibleChannel(path.phoneNumberId, now))
      }))
    .handle("listChannels", ({ urlParams }) =>
      Effect.gen(function*() {
        const page = yield* (yield* ConfigurationQueries).listChannels({
          limit: clampLimit(urlParams.limit),
          cursor: urlParams.cursor ?? null,
          scope: scopeOf(yield* CurrentPrincipal)
        })
        return { items: page.items.map(channelOf), nextCursor: page.nextCursor }
      }))
    .handle("changeChannel", ({ path, payload }) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        yield* visibleChannel(path.phoneNumberId, now)
        yield* CommandHandler.handleCommand(Streams.ChannelStream, Streams.streamId.channel(path.phoneNumberId), {
          _tag: "ChangeChannelSettings",
          phoneNumberId: path.phoneNumberId as Ids.PhoneNumberId,
          routing: payload.routing ?? null,
          throughputMps: payload.throughputMps ?? null,
          by: yield* changedBy,
          at: now
        }).pipe(
          Effect.catchTags({
            ThroughputOutOfRange: (e) => Effect.fail(invalidRequest("throughputMps", `throughputMps must be between ${e.min} and ${e.max}`)),
            NotRegistered: () => Effect.fail(notFound("channel", path.phoneNumberId))
          })
        )
        return channelOf(yield* visibleChannel(path.phoneNumberId, now))
      }))
    .handle("channelChanges", ({ path }) =>
      Effect.gen(function*() {
        yield* visibleChannel(path.phoneNumberId, yield* Clock.currentTimeMillis)
        const read = yield* (yield* EventStore.EventStore).readStream(Streams.streamId.channel(path.phoneNumberId))
        // What the policy reads of a channel: its override and its throughput, from registration on.
        const changes: Array<{ at: string; by: string | null; routing?: Channel.ChannelRouting; throughputMps?: number }> = []
        let throughput: number | null = null
        for (const { event } of read.events) {
          if (event._tag === "ChannelRoutingOverrideSet") changes.push({ at: iso(event.at), by: event.by ?? null, routing: event.routing })
          if (event._tag === "ChannelRegistered") {
            changes.push({ at: iso(event.at), by: null, routing: "inherit", throughputMps: event.throughputMps })
            throughput = event.throughputMps
          }
          if (event._tag === "ChannelReconfigured" && event.throughputMps !== throughput) {
            changes.push({ at: iso(event.at), by: event.by ?? null, throughputMps: event.throughputMps })
            throughput = event.throughputMps
          }
        }
        return { changes: changes.reverse() }
      }))
    .handle("getChannel", ({ path }) =>
      Effect.gen(function*() {
        return channelOf(yield* visibleChannel(path.phoneNumberId, yield* Clock.currentTimeMillis))
      }))
    .handle("listClicks", ({ path, urlParams }) =>
      Effect.gen(function*() {
        yield* visibleChannel(path.phoneNumberId, yield* Clock.currentTimeMillis)
        const page = yield* (yield* ClickQueries).clicks(path.phoneNumberId, {
          ...(urlParams.limit === undefined ? {} : { limit: urlParams.limit }),
          ...(urlParams.cursor === undefined ? {} : { cursor: urlParams.cursor })
        })
        return { items: page.items.map(clickOf), nextCursor: page.nextCursor }
      })))

export const TemplatesLive: V1GroupLive<"templates", ConfigurationQueries | EventStore.EventStore | OnboardingQueries> = HttpApiBuilder.group(GatewayApi, "templates", (handlers) =>
  handlers
    .handle("putTemplate", ({ path, payload }) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        yield* visibleWaba(path.wabaId, now)
        yield* CommandHandler.handleCommand(Streams.TemplateStream, Streams.streamId.template(path.wabaId, path.name, path.language), {
          _tag: "RecordTemplate",
          wabaId: path.wabaId as Ids.WabaId,
          name: path.name,
          language: path.language,
          category: payload.category,
          ttlSeconds: payload.ttlSeconds ?? null,
          at: now
        }).pipe(Effect.catchTag("TtlOutOfRange", (e) =>
          Effect.fail(invalidRequest("ttlSeconds", `ttlSeconds must be between ${e.min} and ${e.max} for a ${e.category} template`))))
        const view = yield* (yield* ConfigurationQueries).template(path.wabaId, path.name, path.language)
        if (view === null) return yield* Effect.die(new Error("a recorded template is not in the read model"))
        return templateOf(view)
      }))
    .handle("listTemplates", ({ path, urlParams }) =>
      Effect.gen(function*() {
        yield* visibleWaba(path.wabaId, yield* Clock.currentTimeMillis)
        const page = yield* (yield* ConfigurationQueries).templates(path.wabaId, {
          ...(urlParams.limit === undefined ? {} : { limit: urlParams.limit }),
          ...(urlParams.cursor === undefined ? {} : { cursor: urlParams.cursor })
        })
        return { items: page.items.map(templateOf), nextCursor: page.nextCursor }
      }))
    .handle("syncTemplates", ({ path }) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        yield* requestSync(path.wabaId, "RequestTemplateSync", now)
        return { wabaId: path.wabaId, requestedAt: iso(now) }
      })))
