import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { headersToKeep } from "../src/inbox.js"

describe("headersToKeep", () => {
  it.effect("keeps only the headers that matter, lower-cased, never a shared-secret header", () =>
    Effect.sync(() => {
      assert.deepStrictEqual(
        headersToKeep({
          "Content-Type": "application/json",
          "X-Hub-Signature-256": "sha256=ab",
          "x-mmgw-webhook-secret": "s3cret",
          authorization: "Bearer x",
          "x-request-id": ["a", "b"],
          "user-agent": undefined
        }),
        { "content-type": "application/json", "x-hub-signature-256": "sha256=ab", "x-request-id": "a, b" }
      )
    }))
})
