import { Match, Schema } from "effect"
import { ChangedBy } from "../shared/changed-by.js"
import { accept, type Decider, nothing, reject } from "../shared/decider.js"
import { NotRegistered, ThroughputOutOfRange } from "../shared/errors.js"
import { PhoneNumberId, WabaId } from "../shared/ids.js"
import { EpochMillis } from "../shared/time.js"

/** Who carries the channel's messages. */
export const Provider = Schema.Literal("360dialog", "meta", "sandbox")
export type Provider = typeof Provider.Type

/** The channel's routing override: `inherit` follows the partner setting and the onboarding status. */
export const ChannelRouting = Schema.Literal("inherit", "marketing_messages", "cloud_api")
export type ChannelRouting = typeof ChannelRouting.Type

/** Cloud API numbers start at 80 messages/s and can be upgraded up to 1000 (docs/provider.md#throughput). */
export const DEFAULT_THROUGHPUT_MPS = 80
const MAX_THROUGHPUT_MPS = 1000

const ChannelConfig = {
  phoneNumberId: PhoneNumberId,
  wabaId: WabaId,
  displayPhoneNumber: Schema.String,
  provider: Provider,
  /** Where the encrypted credentials are kept; the domain never sees a secret. */
  credentialsRef: Schema.String,
  throughputMps: Schema.Int
}

export const RegisterChannel = Schema.TaggedStruct("RegisterChannel", {
  ...ChannelConfig,
  routing: ChannelRouting,
  by: ChangedBy,
  at: EpochMillis
})
/**
 * The operator's change of a registered channel's routing override or throughput, leaving its
 * registration (WABA, number, provider, credentials) as it is; what is not given stays.
 */
export const ChangeChannelSettings = Schema.TaggedStruct("ChangeChannelSettings", {
  phoneNumberId: PhoneNumberId,
  routing: Schema.NullOr(ChannelRouting),
  throughputMps: Schema.NullOr(Schema.Int),
  by: ChangedBy,
  at: EpochMillis
})
export const ChannelCommand = Schema.Union(RegisterChannel, ChangeChannelSettings)
export type ChannelCommand = typeof ChannelCommand.Type

export const ChannelRegistered = Schema.TaggedStruct("ChannelRegistered", { ...ChannelConfig, at: EpochMillis })
export const ChannelReconfigured = Schema.TaggedStruct("ChannelReconfigured", { ...ChannelConfig, by: ChangedBy, at: EpochMillis })
export const ChannelRoutingOverrideSet = Schema.TaggedStruct("ChannelRoutingOverrideSet", {
  phoneNumberId: PhoneNumberId,
  routing: ChannelRouting,
  by: ChangedBy,
  at: EpochMillis
})
export const ChannelEvent = Schema.Union(ChannelRegistered, ChannelReconfigured, ChannelRoutingOverrideSet)
export type ChannelEvent = typeof ChannelEvent.Type

export interface ChannelConfiguration {
  readonly phoneNumberId: PhoneNumberId
  readonly wabaId: WabaId
  readonly displayPhoneNumber: string
  readonly provider: Provider
  readonly credentialsRef: string
  readonly throughputMps: number
}

export type ChannelState =
  | { readonly _tag: "Unregistered" }
  | { readonly _tag: "Registered"; readonly config: ChannelConfiguration; readonly routing: ChannelRouting }

export const initialState = (): ChannelState => ({ _tag: "Unregistered" })

const configOf = (e: ChannelConfiguration): ChannelConfiguration => ({
  phoneNumberId: e.phoneNumberId,
  wabaId: e.wabaId,
  displayPhoneNumber: e.displayPhoneNumber,
  provider: e.provider,
  credentialsRef: e.credentialsRef,
  throughputMps: e.throughputMps
})

export const evolve = (state: ChannelState, event: ChannelEvent): ChannelState =>
  Match.value(event).pipe(
    Match.tagsExhaustive({
      ChannelRegistered: (e): ChannelState => ({ _tag: "Registered", config: configOf(e), routing: "inherit" }),
      ChannelReconfigured: (e): ChannelState =>
        state._tag === "Registered" ? { ...state, config: configOf(e) } : state,
      ChannelRoutingOverrideSet: (e): ChannelState => state._tag === "Registered" ? { ...state, routing: e.routing } : state
    })
  )

const sameConfig = (a: ChannelConfiguration, b: ChannelConfiguration) =>
  a.wabaId === b.wabaId && a.displayPhoneNumber === b.displayPhoneNumber && a.provider === b.provider &&
  a.credentialsRef === b.credentialsRef && a.throughputMps === b.throughputMps

const throughputOutOfRange = (throughputMps: number) =>
  !Number.isInteger(throughputMps) || throughputMps < 1 || throughputMps > MAX_THROUGHPUT_MPS
    ? new ThroughputOutOfRange({ throughputMps, min: 1, max: MAX_THROUGHPUT_MPS })
    : null

export const decide = (command: ChannelCommand, state: ChannelState) =>
  Match.value(command).pipe(
    Match.tagsExhaustive({
      ChangeChannelSettings: (c) => {
        if (state._tag === "Unregistered") return reject(new NotRegistered({ entity: "channel", id: c.phoneNumberId }))
        const outOfRange = c.throughputMps === null ? null : throughputOutOfRange(c.throughputMps)
        if (outOfRange !== null) return reject(outOfRange)
        const events: Array<ChannelEvent> = []
        const by = c.by === undefined ? {} : { by: c.by }
        if (c.throughputMps !== null && c.throughputMps !== state.config.throughputMps) {
          events.push(ChannelReconfigured.make({ ...state.config, throughputMps: c.throughputMps, ...by, at: c.at }))
        }
        if (c.routing !== null && c.routing !== state.routing) {
          events.push(ChannelRoutingOverrideSet.make({ phoneNumberId: c.phoneNumberId, routing: c.routing, ...by, at: c.at }))
        }
        return events.length === 0 ? nothing : accept(...events)
      },
      RegisterChannel: (c) => {
        const outOfRange = throughputOutOfRange(c.throughputMps)
        if (outOfRange !== null) return reject(outOfRange)
        const config = configOf(c)
        const by = c.by === undefined ? {} : { by: c.by }
        const routing = c.routing === "inherit"
          ? []
          : [ChannelRoutingOverrideSet.make({ phoneNumberId: c.phoneNumberId, routing: c.routing, ...by, at: c.at })]
        if (state._tag === "Unregistered") {
          return accept<ChannelEvent>(ChannelRegistered.make({ ...config, at: c.at }), ...routing)
        }
        const events: Array<ChannelEvent> = []
        if (!sameConfig(state.config, config)) events.push(ChannelReconfigured.make({ ...config, ...by, at: c.at }))
        if (state.routing !== c.routing) {
          events.push(ChannelRoutingOverrideSet.make({ phoneNumberId: c.phoneNumberId, routing: c.routing, ...by, at: c.at }))
        }
        return events.length === 0 ? nothing : accept(...events)
      }
    })
  )

/** Why a channel command is refused. */
export type ChannelError = ThroughputOutOfRange | NotRegistered

export const ChannelDecider: Decider<ChannelCommand, ChannelEvent, ChannelState, ChannelError> = {
  decide,
  evolve,
  initialState
}
