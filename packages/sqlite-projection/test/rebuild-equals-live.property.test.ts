import { assert, describe, it } from "@effect/vitest"
import { EventStore, loadState, Message, MessageStream, mmApiStatus, WabaStream, BusinessManagerStream } from "@mm-gateway/domain"
import { Effect } from "effect"
import fc from "fast-check"
import { SqliteDatabase } from "../src/database.js"
import { layer } from "../src/layers.js"
import { allProjections, type MessageResource, resourceOf } from "../src/projections/index.js"
import { rebuild } from "../src/runner.js"
import {
  type AnyCommand,
  attributeClick,
  businessTermsSigned,
  changeRouting,
  dispatchFailed,
  dispatchOutcomeUnknown,
  dispatchSucceeded,
  dumpReadModels,
  markDispatchUnknown,
  observe,
  recordTemplate,
  registerBm,
  registerChannel,
  registerWaba,
  requestMessage,
  run,
  startDispatch,
  suspend,
  userAction,
  wabaTermsSigned
} from "./support.js"

const NUM_RUNS = Number(process.env["FC_NUM_RUNS"] ?? 25)

const time = fc.integer({ min: 1, max: 50 }).map((n) => n * 1000)
const bm = fc.constantFrom(1, 2)
const waba = fc.constantFrom(10, 11, 12)
const phone = fc.constantFrom(100, 101)
const messageId = fc.constantFrom("m1", "m2", "m3", "m4")
const wamidOf = (id: string, attempt: number) => `wamid.${id}.${attempt}`
const attempt = fc.constantFrom(1, 2)

/** Commands across every stream kind, over few ids so they collide: that is where projections go wrong. */
const command: fc.Arbitrary<AnyCommand> = fc.oneof(
  fc.tuple(bm, time, fc.constantFrom(null, "A", "B")).map(([b, t, name]) => registerBm(b, t, name)),
  fc.tuple(bm, time).map(([b, t]) => businessTermsSigned(b, t)),
  fc.tuple(bm, time).map(([b, t]): AnyCommand => ({
    stream: "BusinessManager",
    command: { _tag: "IssueOnboardingInvitation", businessManagerId: String(b) as never, link: `https://link/${t}`, at: t }
  })),
  fc.tuple(waba, bm, time).map(([w, b, t]) => registerWaba(w, b, t)),
  fc.tuple(waba, time).map(([w, t]) => wabaTermsSigned(w, t)),
  fc.tuple(waba, time, fc.option(time, { nil: null })).map(([w, t, e]) => suspend(w, t, e)),
  fc.tuple(waba, time).map(([w, t]): AnyCommand => ({
    stream: "Waba",
    command: { _tag: "RecordReinstatement", wabaId: String(w) as never, kind: "account_restriction", occurredAt: t, at: t }
  })),
  fc.tuple(waba, time, fc.constantFrom("onboarded", "not_onboarded", "suspended" as const)).map(([w, t, status]): AnyCommand => ({
    stream: "Waba",
    command: { _tag: "SetMmStatusManually", wabaId: String(w) as never, status, reason: "operator", at: t }
  })),
  fc.tuple(phone, waba, time, fc.constantFrom("inherit", "cloud_api", "marketing_messages" as const)).map(([p, w, t, r]) =>
    registerChannel(p, w, t, r)
  ),
  fc.tuple(fc.boolean(), fc.constantFrom("warn", "reject" as const), time).map(([mm, ttl, t]) => changeRouting(mm, ttl, t)),
  fc.tuple(waba, fc.constantFrom("t1", "t2"), fc.constantFrom("MARKETING", "UTILITY" as const), time).map(([w, n, c, t]) =>
    recordTemplate(w, n, c, c === "MARKETING" ? 86_400 : null, t)
  ),
  fc.tuple(waba, fc.constantFrom("t1", "t2"), fc.constantFrom("APPROVED", "PAUSED"), fc.constantFrom(null, "MARKETING", "UTILITY" as const), time)
    .map(([w, n, status, category, t]): AnyCommand => ({
      stream: "Template",
      command: { _tag: "RecordTemplateStatus", wabaId: String(w) as never, name: n, language: "en", status, reason: null, category, occurredAt: t, at: t }
    })),
  fc.tuple(messageId, phone, fc.constantFrom("c1", "c2", null), fc.constantFrom("marketing_messages", "cloud_api" as const), time)
    .map(([id, p, campaign, route, t]) => requestMessage(id, { channel: p, campaign, route, at: t })),
  fc.tuple(messageId, attempt, time).map(([id, a, t]) => startDispatch(id, a, t)),
  fc.tuple(messageId, attempt, time).map(([id, a, t]) => dispatchSucceeded(id, a, wamidOf(id, a), t)),
  fc.tuple(messageId, attempt, fc.constantFrom(131049, 131026, 130429), fc.boolean(), time).map(([id, a, code, final, t]) =>
    dispatchFailed(id, a, code, final, t)
  ),
  fc.tuple(messageId, attempt, time).map(([id, a, t]) => dispatchOutcomeUnknown(id, a, t)),
  fc.tuple(messageId, time).map(([id, t]) => markDispatchUnknown(id, t)),
  fc.tuple(
    messageId,
    attempt,
    fc.constantFrom("sent", "delivered", "read", "failed" as const),
    time,
    fc.constantFrom(null, "marketing_lite", "marketing")
  ).map(([id, a, status, t, pricing]) => observe(id, wamidOf(id, a), status, t, pricing, status === "failed" ? 131049 : null)),
  fc.tuple(messageId, time).map(([id, t]): AnyCommand => ({ stream: "Message", command: { _tag: "ExpireMessage", messageId: id as never, at: t } })),
  fc.tuple(messageId, fc.constantFrom("k1", "k2"), time).map(([id, k, t]) => attributeClick(id, k, t)),
  fc.tuple(phone, fc.constantFrom("k1", "k2", null), time, fc.constantFrom("marketing_messages_link_click", "landing_page_view"))
    .map(([p, k, t, type]) => userAction(p, k, t, type))
)

/** The read models against the deciders themselves: each row equals the fold of its own stream. */
const agreesWithTheDeciders = Effect.gen(function*() {
  const { db } = yield* SqliteDatabase
  const messages = db.prepare("SELECT id, view FROM messages").all() as Array<{ id: string; view: string }>
  for (const row of messages) {
    const { state } = yield* loadState(MessageStream, `Message-${row.id}`)
    assert.strictEqual(state._tag, "Requested")
    if (state._tag === "Requested") {
      assert.deepStrictEqual(JSON.parse(row.view) as MessageResource, JSON.parse(JSON.stringify(resourceOf(state.message, Message.viewOf(state.message)))))
    }
  }
  const wabas = db.prepare("SELECT id, mm_status, mm_since, mm_source, as_of FROM wabas").all() as Array<
    { id: string; mm_status: string; mm_since: number | null; mm_source: string | null; as_of: number }
  >
  for (const row of wabas) {
    const waba = (yield* loadState(WabaStream, `Waba-${row.id}`)).state
    const bm = waba.businessManagerId === null ? null : (yield* loadState(BusinessManagerStream, `BusinessManager-${waba.businessManagerId}`)).state
    const status = mmApiStatus(waba, bm, row.as_of)
    assert.deepStrictEqual([row.mm_status, row.mm_since, row.mm_source], [status.status, status.since, status.source])
  }
})

/**
 * Commands that always leave a row behind, whatever came before: a non-empty, shuffled pick of them
 * leads every sequence, so no run can pass vacuously on empty tables.
 */
const seeding: fc.Arbitrary<ReadonlyArray<AnyCommand>> = fc.shuffledSubarray(
  [
    registerBm(1, 1000),
    registerWaba(10, 1, 1000),
    registerChannel(100, 10, 1000),
    changeRouting(false, "warn", 1000),
    recordTemplate(10, "t1", "MARKETING", 86_400, 1000),
    requestMessage("m1", { at: 1000 }),
    userAction(100, "k1", 1000)
  ],
  { minLength: 1 }
)

describe("SPEC §8 invariant 5: rebuilding the read models from the log equals live projection", () => {
  it.effect("random command sequences: live (inline) tables = rebuilt tables = rebuilt again", () =>
    Effect.promise(() =>
      fc.assert(
        fc.asyncProperty(seeding, fc.array(command, { maxLength: 60 }), (seed, rest) =>
          Effect.runPromise(
            Effect.provide(
              Effect.gen(function*() {
                for (const c of [...seed, ...rest]) yield* run(c)
                const { db } = yield* SqliteDatabase
                const store = yield* EventStore
                const events = yield* store.readAll(0, 1_000_000)
                const live = dumpReadModels(db)
                rebuild(db, allProjections, 7)
                const rebuilt = dumpReadModels(db)
                // Applying every event again, past the checkpoints, changes nothing: each projection is idempotent.
                db.transaction(() => {
                  for (const p of allProjections) for (const e of events) p.apply(db, e)
                })()
                const replayed = dumpReadModels(db)
                assert.deepStrictEqual(rebuilt, live)
                assert.deepStrictEqual(replayed, live)
                assert.isAbove(Object.values(live).reduce((n, rows) => n + rows.length, 0), 0)
                yield* agreesWithTheDeciders
              }),
              layer({ path: ":memory:" })
            )
          )
        ),
        { numRuns: NUM_RUNS }
      )
    ))
})
