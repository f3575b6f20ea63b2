import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { inboxPathFor } from "../src/inbox.js"

// What the inbox promises through its port is the contract suite's (test/port-contracts.test.ts).
describe("webhook inbox on SQLite", () => {
  it.effect("the inbox file sits beside the main database", () =>
    Effect.sync(() => {
      assert.strictEqual(inboxPathFor("./data/mm-gateway.sqlite"), "./data/mm-gateway.inbox.sqlite")
      assert.strictEqual(inboxPathFor("/var/lib/mmgw/db"), "/var/lib/mmgw/db.inbox.sqlite")
      assert.strictEqual(inboxPathFor(":memory:"), ":memory:")
    }))
})
