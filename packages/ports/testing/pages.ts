import { assert } from "@effect/vitest"
import { Effect } from "effect"
import type { Page } from "../src/pagination.js"

/**
 * Walks a list page by page from the start and checks what docs/api.md#pagination promises of every
 * page: at most `limit` items, a next cursor only after a full page, `null` on the last page (a page
 * that ends exactly at the end may be followed by one empty page). Returns every item in order.
 */
export const walkPages = <A>(limit: number, fetch: (cursor: string | null) => Effect.Effect<Page<A>>) =>
  Effect.gen(function*() {
    const items: Array<A> = []
    let cursor: string | null = null
    for (let pages = 0; pages < 1_000; pages++) {
      const page: Page<A> = yield* fetch(cursor)
      assert.isAtMost(page.items.length, limit, "a page holds at most `limit` items")
      if (page.nextCursor !== null) assert.strictEqual(page.items.length, limit, "only a full page has a next cursor")
      if (page.items.length === 0) assert.isNull(page.nextCursor, "an empty page is the last one")
      items.push(...page.items)
      if (page.nextCursor === null) return items
      cursor = page.nextCursor
    }
    return assert.fail("the pages never ended")
  })
