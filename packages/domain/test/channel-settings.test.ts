import { describe, it } from "@effect/vitest"
import { Channel, Errors, PartnerSettings } from "../src/index.js"
import { deciderSpec } from "../testing/index.js"
import { PHONE, WABA } from "./fixtures.js"

describe("Channel decider", () => {
  const spec = deciderSpec(Channel.ChannelDecider)
  const cmd = {
    _tag: "RegisterChannel",
    phoneNumberId: PHONE,
    wabaId: WABA,
    displayPhoneNumber: "+1 555 078 3881",
    provider: "360dialog",
    credentialsRef: "cred_1",
    throughputMps: 80,
    routing: "inherit",
    at: 1
  } as const
  const { _tag: _, routing: __, ...config } = cmd
  const registered = Channel.ChannelRegistered.make(config)

  it("registers a channel", () => spec.given([]).when(cmd).then([registered]))
  it("does nothing when repeated", () => spec.given([registered]).when({ ...cmd, at: 2 }).thenNothing())
  it("records a routing override with the registration", () =>
    spec.given([]).when({ ...cmd, routing: "cloud_api" }).then([
      registered,
      Channel.ChannelRoutingOverrideSet.make({ phoneNumberId: PHONE, routing: "cloud_api", at: 1 })
    ]))
  it("changes only the override when only the override changes", () =>
    spec.given([registered]).when({ ...cmd, routing: "marketing_messages", at: 3 }).then([
      Channel.ChannelRoutingOverrideSet.make({ phoneNumberId: PHONE, routing: "marketing_messages", at: 3 })
    ]))
  it("reconfigures new credentials or throughput", () =>
    spec.given([registered]).when({ ...cmd, credentialsRef: "cred_2", throughputMps: 200, at: 4 }).then([
      Channel.ChannelReconfigured.make({ ...config, credentialsRef: "cred_2", throughputMps: 200, at: 4 })
    ]))
  it("rejects a throughput above 1000 msg/s", () =>
    spec.given([]).when({ ...cmd, throughputMps: 1001 }).thenFails(new Errors.ThroughputOutOfRange({ throughputMps: 1001, min: 1, max: 1000 })))
  it("rejects a throughput below 1 msg/s, also for a registered channel", () =>
    spec.given([registered]).when({ ...cmd, throughputMps: 0 }).thenFails(new Errors.ThroughputOutOfRange({ throughputMps: 0, min: 1, max: 1000 })))
  const change = { _tag: "ChangeChannelSettings", phoneNumberId: PHONE, routing: null, throughputMps: null, at: 5 } as const
  it("changes the routing override alone, keeping the registration", () =>
    spec.given([registered]).when({ ...change, routing: "cloud_api" }).then([
      Channel.ChannelRoutingOverrideSet.make({ phoneNumberId: PHONE, routing: "cloud_api", at: 5 })
    ]))
  it("changes the throughput alone, keeping the credentials and the override", () =>
    spec.given([registered, Channel.ChannelRoutingOverrideSet.make({ phoneNumberId: PHONE, routing: "cloud_api", at: 2 })])
      .when({ ...change, throughputMps: 20 }).then([Channel.ChannelReconfigured.make({ ...config, throughputMps: 20, at: 5 })]))
  it("changes both, or does nothing when neither differs", () => {
    spec.given([registered]).when({ ...change, routing: "marketing_messages", throughputMps: 40 }).then([
      Channel.ChannelReconfigured.make({ ...config, throughputMps: 40, at: 5 }),
      Channel.ChannelRoutingOverrideSet.make({ phoneNumberId: PHONE, routing: "marketing_messages", at: 5 })
    ])
    spec.given([registered]).when({ ...change, routing: "inherit", throughputMps: 80 }).thenNothing()
    spec.given([registered]).when(change).thenNothing()
  })
  it("names who made a change on its events, for the audit", () => {
    spec.given([registered]).when({ ...change, routing: "cloud_api", throughputMps: 40, by: "api_key:k1" }).then([
      Channel.ChannelReconfigured.make({ ...config, throughputMps: 40, by: "api_key:k1", at: 5 }),
      Channel.ChannelRoutingOverrideSet.make({ phoneNumberId: PHONE, routing: "cloud_api", by: "api_key:k1", at: 5 })
    ])
    spec.given([registered]).when({ ...cmd, credentialsRef: "cred_2", routing: "cloud_api", by: "admin", at: 6 }).then([
      Channel.ChannelReconfigured.make({ ...config, credentialsRef: "cred_2", by: "admin", at: 6 }),
      Channel.ChannelRoutingOverrideSet.make({ phoneNumberId: PHONE, routing: "cloud_api", by: "admin", at: 6 })
    ])
  })
  it("refuses a change to a channel never registered, and a throughput out of range", () => {
    spec.given([]).when({ ...change, routing: "cloud_api" }).thenFails(new Errors.NotRegistered({ entity: "channel", id: PHONE }))
    spec.given([registered]).when({ ...change, throughputMps: 1001 }).thenFails(new Errors.ThroughputOutOfRange({ throughputMps: 1001, min: 1, max: 1000 }))
  })
  it("accepts the bounds 1 and 1000 msg/s", () => {
    spec.given([]).when({ ...cmd, throughputMps: 1 }).then([Channel.ChannelRegistered.make({ ...config, throughputMps: 1 })])
    spec.given([]).when({ ...cmd, throughputMps: 1000 }).then([Channel.ChannelRegistered.make({ ...config, throughputMps: 1000 })])
  })
})

describe("PartnerSettings decider", () => {
  const spec = deciderSpec(PartnerSettings.PartnerSettingsDecider)
  it("starts with MM routing on and TTL fallback warn: setting the defaults does nothing", () =>
    spec.given([]).when({ _tag: "ChangeRoutingSettings", marketingViaMmApi: true, ttlOnCloudFallback: "warn", at: 1 }).thenNothing())
  it("disables MM routing", () =>
    spec.given([]).when({ _tag: "ChangeRoutingSettings", marketingViaMmApi: false, ttlOnCloudFallback: "warn", at: 1 }).then([
      PartnerSettings.RoutingSettingsChanged.make({ marketingViaMmApi: false, ttlOnCloudFallback: "warn", at: 1 })
    ]))
  it("names who changed the settings", () =>
    spec.given([]).when({ _tag: "ChangeRoutingSettings", marketingViaMmApi: false, ttlOnCloudFallback: "warn", by: "admin", at: 1 }).then([
      PartnerSettings.RoutingSettingsChanged.make({ marketingViaMmApi: false, ttlOnCloudFallback: "warn", by: "admin", at: 1 })
    ]))
  it("changes the TTL-on-fallback policy alone", () =>
    spec.given([PartnerSettings.RoutingSettingsChanged.make({ marketingViaMmApi: false, ttlOnCloudFallback: "warn", at: 1 })])
      .when({ _tag: "ChangeRoutingSettings", marketingViaMmApi: false, ttlOnCloudFallback: "reject", at: 2 }).then([
        PartnerSettings.RoutingSettingsChanged.make({ marketingViaMmApi: false, ttlOnCloudFallback: "reject", at: 2 })
      ]))
  it("does nothing when the same change repeats", () =>
    spec.given([PartnerSettings.RoutingSettingsChanged.make({ marketingViaMmApi: false, ttlOnCloudFallback: "reject", at: 1 })])
      .when({ _tag: "ChangeRoutingSettings", marketingViaMmApi: false, ttlOnCloudFallback: "reject", at: 2 }).thenNothing())
})
