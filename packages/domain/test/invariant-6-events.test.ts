import { describe, it } from "@effect/vitest"
import { Arbitrary, FastCheck } from "effect"
import { isDeepStrictEqual } from "node:util"
import { decodeEvent, DomainEvent, encodeEvent } from "../src/index.js"
import { propertySettings } from "../testing/index.js"

/**
 * SPEC §8 invariant 6 (the domain half): every event encodes and decodes to itself, also through JSON
 * text as the stores keep it. Events are generated from their own schemas. This file uses
 * `effect/FastCheck` (the one `Arbitrary` builds on) and no `fast-check` import, so the two never mix.
 * The webhook half (every fixture decodes without loss) lives in packages/webhook-adapter.
 */
describe("invariant 6: events round-trip", () => {
  it("decode(encode(e)) equals e, through JSON text", () => {
    FastCheck.assert(
      FastCheck.property(Arbitrary.make(DomainEvent), (event) => {
        const stored = JSON.parse(JSON.stringify(encodeEvent(event)))
        const decoded = decodeEvent(stored)
        if (!isDeepStrictEqual(decoded, event)) {
          throw new Error(`round trip changed the event: ${JSON.stringify(event)} → ${JSON.stringify(decoded)}`)
        }
        if (JSON.stringify(encodeEvent(decoded)) !== JSON.stringify(stored)) throw new Error("encoding is not stable")
      }),
      propertySettings(2_000)
    )
  })
})
