import { assert, describe, it } from "@effect/vitest"
import * as dispatch from "../src/application/dispatch.js"
import * as providerGateway from "../src/dispatch/provider-gateway.js"
import * as events from "../src/events.js"
import * as Domain from "../src/index.js"
import * as reactions from "../src/lifecycle/reactions.js"
import * as status from "../src/lifecycle/status.js"
import * as decider from "../src/shared/decider.js"
import * as time from "../src/shared/time.js"

/**
 * Names the domain's modules export to each other (or to its tests) that no other package uses: none
 * may be reachable from the package's entry point.
 */
const INTERNAL: ReadonlyArray<readonly [module: object, names: ReadonlyArray<string>]> = [
  [decider, ["accept", "nothing", "reject"]],
  [time, ["EpochMillis", "DAY_MS"]],
  [events, ["UPCASTERS", "eventSchemaVersion", "decodeEventEither"]],
  [status, ["STATUS_PRECEDENCE", "observationKey"]],
  [reactions, ["saysTermsNotAccepted"]],
  [dispatch, ["applyReactions"]],
  [providerGateway, ["buildProviderBody"]]
]

describe("the entry point (src/index.ts)", () => {
  it("exports namespaces only", () => {
    const notNamespaces = Object.entries(Domain).filter(([, value]) => Object.prototype.toString.call(value) !== "[object Module]")
    assert.deepStrictEqual(notNamespaces.map(([name]) => name), [])
    assert.isAbove(Object.keys(Domain).length, 0)
  })

  it("reaches none of the domain's internal names", () => {
    const reachable = new Set(Object.values(Domain).flatMap((namespace) => Object.keys(namespace)))
    for (const [module, names] of INTERNAL) {
      for (const name of names) {
        assert.isTrue(Object.hasOwn(module, name), `${name} is an export of its module`)
        assert.isFalse(reachable.has(name), `${name} is reachable from the entry point`)
      }
    }
  })
})
