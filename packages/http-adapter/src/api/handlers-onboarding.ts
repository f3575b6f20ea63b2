import { HttpApiBuilder } from "@effect/platform"
import { Channel, CommandHandler, EventStore, type Ids, Streams } from "@mm-gateway/domain"
import { clampLimit, ClickQueries, ConfigurationQueries, OnboardingQueries } from "@mm-gateway/ports"
import { Clock, Effect } from "effect"
import { CredentialVault } from "../credentials-store.js"
import { ApiSettings, changedBy, iso, requireAdmin, scopeOf, sees, visibleChannel, visibleWaba } from "./context.js"
import { CurrentPrincipal, GatewayApi, type V1GroupLive } from "./definition.js"
import { conflict, invalidRequest, notFound } from "./errors.js"
import { businessManagerOf, channelOf, clickOf, templateOf, wabaOf } from "./views.js"

/** The steps a client follows to accept the MM API terms (360dialog's onboarding page). */
const ONBOARDING_STEPS = [
  "Open the link while logged in to Facebook as an admin of the Business Manager.",
  "Complete the embedded signup for the Marketing Messages API and accept its terms of service.",
  "The terms apply to every WABA of that Business Manager; repeat for each Business Manager you own.",
  "Meta then sends an MM_LITE_TERMS_SIGNED webhook; the gateway marks the WABAs onboarded."
]

const bmVisible = (businessManagerId: string) =>
  Effect.gen(function*() {
    const principal = yield* CurrentPrincipal
    if (!sees(principal, businessManagerId)) return yield* Effect.fail(notFound("business manager", businessManagerId))
  })

export const OnboardingLive: V1GroupLive<"onboarding", EventStore.EventStore | OnboardingQueries | ApiSettings> = HttpApiBuilder.group(GatewayApi, "onboarding", (handlers) =>
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
    .handle("inviteBusinessManager", ({ path }) =>
      Effect.gen(function*() {
        yield* bmVisible(path.businessId)
        const settings = yield* ApiSettings
        yield* CommandHandler.handleCommand(Streams.BusinessManagerStream, Streams.streamId.businessManager(path.businessId), {
          _tag: "IssueOnboardingInvitation",
          businessManagerId: path.businessId as Ids.BusinessManagerId,
          link: settings.onboardingLink,
          at: yield* Clock.currentTimeMillis
        }).pipe(Effect.catchTag("NotRegistered", () => Effect.fail(notFound("business manager", path.businessId))))
        return { link: settings.onboardingLink, steps: ONBOARDING_STEPS }
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
        // The admin or the WABA's own tenant; another tenant's WABA is not there for this key (404).
        yield* visibleWaba(path.wabaId, now)
        const principal = yield* CurrentPrincipal
        yield* CommandHandler.handleCommand(Streams.WabaStream, Streams.streamId.waba(path.wabaId), {
          _tag: "RequestMetaStatusSync",
          wabaId: path.wabaId as Ids.WabaId,
          requestedBy: principal._tag === "Admin" ? "admin" : `key:${principal.id}`,
          at: now
        }).pipe(
          Effect.catchTag("NotRegistered", () => Effect.fail(notFound("waba", path.wabaId))),
          Effect.catchTag("WabaOwnedByAnotherBusinessManager", Effect.die)
        )
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
        // The admin or the WABA's own tenant; another tenant's WABA is not there for this key (404).
        yield* visibleWaba(path.wabaId, now)
        const principal = yield* CurrentPrincipal
        yield* CommandHandler.handleCommand(Streams.WabaStream, Streams.streamId.waba(path.wabaId), {
          _tag: "RequestTemplateSync",
          wabaId: path.wabaId as Ids.WabaId,
          requestedBy: principal._tag === "Admin" ? "admin" : `key:${principal.id}`,
          at: now
        }).pipe(
          Effect.catchTag("NotRegistered", () => Effect.fail(notFound("waba", path.wabaId))),
          Effect.catchTag("WabaOwnedByAnotherBusinessManager", Effect.die)
        )
        return { wabaId: path.wabaId, requestedAt: iso(now) }
      })))
