import { Match, Schema } from "effect"
import { ChangedBy } from "../shared/changed-by.js"
import { accept, type Decider, nothing } from "../shared/decider.js"
import { EpochMillis } from "../shared/time.js"

/** What to do with a marketing template that has a TTL when it has to go by the Cloud API (no TTL there). */
export const TtlOnCloudFallback = Schema.Literal("warn", "reject")
export type TtlOnCloudFallback = typeof TtlOnCloudFallback.Type

export const RoutingSettings = Schema.Struct({
  marketingViaMmApi: Schema.Boolean,
  ttlOnCloudFallback: TtlOnCloudFallback
})
export type RoutingSettings = typeof RoutingSettings.Type

export const DEFAULT_ROUTING_SETTINGS: RoutingSettings = { marketingViaMmApi: true, ttlOnCloudFallback: "warn" }

export const ChangeRoutingSettings = Schema.TaggedStruct("ChangeRoutingSettings", {
  ...RoutingSettings.fields,
  by: ChangedBy,
  at: EpochMillis
})
export const PartnerSettingsCommand = Schema.Union(ChangeRoutingSettings)
export type PartnerSettingsCommand = typeof PartnerSettingsCommand.Type

export const RoutingSettingsChanged = Schema.TaggedStruct("RoutingSettingsChanged", {
  ...RoutingSettings.fields,
  by: ChangedBy,
  at: EpochMillis
})
export const PartnerSettingsEvent = Schema.Union(RoutingSettingsChanged)
export type PartnerSettingsEvent = typeof PartnerSettingsEvent.Type

export type PartnerSettingsState = RoutingSettings

export const initialState = (): PartnerSettingsState => DEFAULT_ROUTING_SETTINGS

export const evolve = (_state: PartnerSettingsState, event: PartnerSettingsEvent): PartnerSettingsState => ({
  marketingViaMmApi: event.marketingViaMmApi,
  ttlOnCloudFallback: event.ttlOnCloudFallback
})

export const decide = (command: PartnerSettingsCommand, state: PartnerSettingsState) =>
  Match.value(command).pipe(
    Match.tagsExhaustive({
      ChangeRoutingSettings: (c) =>
        c.marketingViaMmApi === state.marketingViaMmApi && c.ttlOnCloudFallback === state.ttlOnCloudFallback
          ? nothing
          : accept(RoutingSettingsChanged.make({
            marketingViaMmApi: c.marketingViaMmApi,
            ttlOnCloudFallback: c.ttlOnCloudFallback,
            ...(c.by === undefined ? {} : { by: c.by }),
            at: c.at
          }))
    })
  )

export const PartnerSettingsDecider: Decider<PartnerSettingsCommand, PartnerSettingsEvent, PartnerSettingsState, never> = {
  decide,
  evolve,
  initialState
}
