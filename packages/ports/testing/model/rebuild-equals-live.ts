/**
 * Invariant 5 (docs/invariants.md#invariant-5), model-based, for every store (fast-check `fc.commands`
 * + `fc.asyncModelRun`): random command sequences across every stream run against each store given and
 * against a model (`log-model.ts`: the pure domain over an in-memory log, every read model derived from
 * the folds of its streams). After each command the log and every query-port answer of every store
 * must equal the model's; at the end each store checks that its live read models equal a rebuild from
 * the log (`finish`). sqlite-projection and postgres-projection each run it from a test of their own.
 *
 * A failure prints its seed, path and the commands with their `replayPath`. To replay it, pass
 * `{ seed, path }` in the settings and `{ replayPath }` to `fc.commands`.
 */
import { assert } from "@effect/vitest"
import { EventStore, Message } from "@mm-gateway/domain"
import { Effect, Either, type Layer, ManagedRuntime } from "effect"
import fc from "fast-check"
import type { ChannelDispatchView, ChannelView } from "../../src/queries.js"
import { ClickQueries, ConfigurationQueries, DispatchQueue, MessageQueries, OnboardingQueries } from "../../src/queries.js"
import {
  type AnyCommand,
  attributeClick,
  businessTermsSigned,
  changeRouting,
  dispatchFailed,
  dispatchOutcomeUnknown,
  dispatchSucceeded,
  ids,
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
  target,
  userAction,
  wabaTermsSigned
} from "./commands.js"
import { LogModel } from "./log-model.js"

const MAX_COMMANDS = 40

// Few ids, so commands collide on the same rows: that is where projections go wrong.
const BMS = ["1", "2"] as const
const WABAS = ["10", "11", "12"] as const
const PHONES = ["100", "101"] as const
const TEMPLATE_NAMES = ["t1", "t2"] as const
const MESSAGES = ["m1", "m2", "m3", "m4"] as const
const ATTEMPTS = [1, 2] as const
const CAMPAIGNS = ["c1", "c2"] as const
const CLICK_IDS = ["k1", "k2"] as const
const RECIPIENTS = ["16505551234", "16505550000"] as const
const TTL_SECONDS = 43_200
/** The times the read models are asked about: within the commands' times, after them, and past every TTL. */
const NOWS = [25_000, 60_000, TTL_SECONDS * 1000 + 60_000] as const
const PHASES: ReadonlyArray<Message.DispatchPhase["_tag"]> = ["Ready", "InFlight", "Submitted", "OutcomeUnknown", "DispatchUnknown", "Failed", "GivenUp"]

const time = fc.integer({ min: 1, max: 50 }).map((n) => n * 1000)
const bm = fc.constantFrom(...BMS.map(Number))
const waba = fc.constantFrom(...WABAS.map(Number))
const phone = fc.constantFrom(...PHONES.map(Number))
const templateName = fc.constantFrom(...TEMPLATE_NAMES)
const messageId = fc.constantFrom(...MESSAGES)
const attempt = fc.constantFrom(...ATTEMPTS)
const category = fc.constantFrom("MARKETING", "UTILITY" as const)
const wamidOf = (id: string, a: number) => `wamid.${id}.${a}`
const cmd = <S extends AnyCommand["stream"]>(stream: S, command: Extract<AnyCommand, { stream: S }>["command"]): AnyCommand =>
  ({ stream, command }) as AnyCommand

const onboarding: fc.Arbitrary<AnyCommand> = fc.oneof(
  fc.tuple(bm, time, fc.constantFrom(null, "A", "B")).map(([b, t, name]) => registerBm(b, t, name)),
  fc.tuple(bm, time).map(([b, t]) => cmd("BusinessManager", { _tag: "DiscoverBusinessManager", businessManagerId: ids.bm(b), at: t })),
  fc.tuple(bm, time).map(([b, t]) => businessTermsSigned(b, t)),
  fc.tuple(bm, time).map(([b, t]) =>
    cmd("BusinessManager", { _tag: "IssueOnboardingInvitation", businessManagerId: ids.bm(b), link: `https://link/${t}`, at: t })
  ),
  fc.tuple(bm, time, fc.constantFrom(null, "893436979557695", "893436979557696")).map(([b, t, requestId]) =>
    cmd("BusinessManager", {
      _tag: "RecordMetaOnboardingRequest",
      businessManagerId: ids.bm(b),
      requestId,
      alreadyInvited: requestId === null,
      solutionId: null,
      at: t
    })
  ),
  fc.tuple(waba, bm, time).map(([w, b, t]) => registerWaba(w, b, t)),
  fc.tuple(waba, time).map(([w, t]) => wabaTermsSigned(w, t)),
  fc.tuple(waba, time, fc.option(time, { nil: null })).map(([w, t, e]) => suspend(w, t, e)),
  fc.tuple(waba, fc.constantFrom("disabled", "partner_removed", "account_deleted" as const), time).map(([w, kind, t]) =>
    cmd("Waba", { _tag: "RecordSuspension", wabaId: ids.waba(w), kind, occurredAt: t, expiresAt: null, at: t })
  ),
  fc.tuple(waba, fc.constantFrom("account_restriction", "disabled", "partner_removed" as const), time).map(([w, kind, t]) =>
    cmd("Waba", { _tag: "RecordReinstatement", wabaId: ids.waba(w), kind, occurredAt: t, at: t })
  ),
  fc.tuple(waba, time, fc.constantFrom("onboarded", "not_onboarded", "suspended" as const)).map(([w, t, status]) =>
    cmd("Waba", { _tag: "SetMmStatusManually", wabaId: ids.waba(w), status, reason: "operator", at: t })
  ),
  fc.tuple(waba, time).map(([w, t]) =>
    cmd("Waba", { _tag: "RecordTermsNotAccepted", wabaId: ids.waba(w), errorCode: 131055, details: "terms", at: t })
  )
)

const configuration: fc.Arbitrary<AnyCommand> = fc.oneof(
  fc.tuple(phone, waba, time, fc.constantFrom("inherit", "cloud_api", "marketing_messages" as const), fc.constantFrom(80, 200, 0))
    .map(([p, w, t, r, mps]): AnyCommand => {
      const c = registerChannel(p, w, t, r)
      // 0 msg/s is refused by the domain: rejections are part of the sequence too.
      return c.stream === "Channel" ? { stream: "Channel", command: { ...c.command, throughputMps: mps } } : c
    }),
  fc.tuple(fc.boolean(), fc.constantFrom("warn", "reject" as const), time).map(([mm, ttl, t]) => changeRouting(mm, ttl, t)),
  fc.tuple(waba, templateName, category, fc.constantFrom(null, 86_400, 1), time).map(([w, n, c, ttl, t]) => recordTemplate(w, n, c, ttl, t)),
  fc.tuple(waba, templateName, fc.option(category, { nil: null }), category, time).map(([w, n, previous, next, t]) =>
    cmd("Template", {
      _tag: "RecordCategoryChange",
      wabaId: ids.waba(w),
      name: n,
      language: "en",
      previousCategory: previous,
      newCategory: next,
      occurredAt: t,
      at: t
    })
  ),
  fc.tuple(waba, templateName, category, fc.option(time, { nil: null }), time).map(([w, n, correct, effective, t]) =>
    cmd("Template", {
      _tag: "RecordImpendingRecategorization",
      wabaId: ids.waba(w),
      name: n,
      language: "en",
      currentCategory: null,
      correctCategory: correct,
      effectiveAt: effective,
      occurredAt: t,
      at: t
    })
  ),
  fc.tuple(waba, templateName, fc.constantFrom("APPROVED", "PAUSED"), fc.constantFrom(null, "low quality"), fc.option(category, { nil: null }), time)
    .map(([w, n, status, reason, c, t]) =>
      cmd("Template", { _tag: "RecordTemplateStatus", wabaId: ids.waba(w), name: n, language: "en", status, reason, category: c, occurredAt: t, at: t })
    ),
  fc.tuple(waba, templateName, fc.option(category, { nil: null }), fc.constantFrom(null, "APPROVED", "PAUSED"), fc.constantFrom(null, 86_400), time)
    .map(([w, n, c, status, ttlSeconds, t]) =>
      cmd("Template", { _tag: "RecordMetaTemplate", wabaId: ids.waba(w), name: n, language: "en", category: c, status, ttlSeconds, readAt: t, at: t })
    )
)

/**
 * A command to run, possibly shaped by the model when it runs: a random attempt number would almost
 * never match the message's dispatch, so most lifecycle commands take the attempt (and the wamid) the
 * model says is current — the worker does the same — and a few keep a random one to be refused.
 */
interface Intent {
  readonly label: string
  readonly resolve: (model: LogModel) => AnyCommand
}

const fixed = (c: AnyCommand): Intent => ({ label: describeCommand(c), resolve: () => c })

/**
 * The message a lifecycle command is about: the `pick`-th of those the model has requested (random
 * ids would mostly name a message that does not exist yet), or a random one before any exists.
 */
const requestedMessage = (model: LogModel, pick: number): string => {
  const requested = MESSAGES.filter((id) => model.message(id) !== null)
  return requested.length === 0 ? MESSAGES[pick % MESSAGES.length]! : requested[pick % requested.length]!
}
const pick = fc.nat({ max: MESSAGES.length - 1 })

const label = (tag: string, fields: Record<string, unknown>) => `${tag} ${JSON.stringify(fields)}`

const rerouted = (c: AnyCommand): AnyCommand =>
  c.stream === "Message" && c.command._tag === "RecordDispatchFailed"
    ? { stream: "Message", command: { ...c.command, outcome: { _tag: "Reroute", to: "cloud_api", reason: "not_a_marketing_template" } } }
    : c

/**
 * What the worker (or a webhook) would do next to a requested message, by its dispatch phase, so
 * sequences reach every phase: start a dispatch (after any backoff), answer it every way a provider
 * can, mark an unknown outcome and resolve it, observe statuses (late ones too), expire at the TTL.
 */
const advance = (model: LogModel, id: string, choice: number, t: number): AnyCommand => {
  const m = model.message(id)
  if (m === null) return startDispatch(id, 1, t)
  const a = m.phase.attempt
  const status = (["sent", "delivered", "read", "failed"] as const)[choice % 4]!
  const observed = observe(id, m.wamid ?? wamidOf(id, a), status, t, choice % 3 === 0 ? null : "marketing_lite", status === "failed" ? 131049 : null)
  switch (m.phase._tag) {
    case "Ready":
      return startDispatch(id, a, Math.max(t, m.phase.notBefore ?? 0))
    case "InFlight":
      return [
        dispatchSucceeded(id, a, wamidOf(id, a), t),
        dispatchSucceeded(id, a, wamidOf(id, a), t),
        dispatchFailed(id, a, 131049, true, t),
        dispatchFailed(id, a, 130429, false, t),
        rerouted(dispatchFailed(id, a, 131055, true, t)),
        dispatchOutcomeUnknown(id, a, t)
      ][choice % 6]!
    case "OutcomeUnknown":
      return [markDispatchUnknown(id, t), dispatchSucceeded(id, a, wamidOf(id, a), t), observed][choice % 3]!
    case "DispatchUnknown":
      return cmd("Message", { _tag: "ResolveDispatch", messageId: ids.message(id), action: choice % 2 === 0 ? "resend" : "give_up", by: "operator", at: t })
    case "Submitted": {
      const deadline = Message.expiryDeadline(m)
      return deadline !== null && choice % 2 === 0 ? cmd("Message", { _tag: "ExpireMessage", messageId: ids.message(id), at: deadline }) : observed
    }
    case "Failed":
    case "GivenUp":
      return observed
  }
}

const advancing: fc.Arbitrary<Intent> = fc.tuple(pick, fc.nat({ max: 11 }), time).map(([n, choice, t]): Intent => ({
  label: label("Advance", { message: `requested #${n}`, choice, at: t }),
  resolve: (model) => advance(model, requestedMessage(model, n), choice, t)
}))

const webhooksAndClients: fc.Arbitrary<Intent> = fc.oneof(
  fc.tuple(pick, fc.constantFrom("sent", "delivered", "read", "failed" as const), time, fc.constantFrom(null, "marketing_lite", "marketing"))
    .map(([n, status, t, pricing]): Intent => ({
      label: label("ObserveStatus", { message: `requested #${n}`, wamid: "current", status, timestamp: t, pricing }),
      resolve: (model) => {
        const id = requestedMessage(model, n)
        return observe(id, model.message(id)?.wamid ?? wamidOf(id, 1), status, t, pricing, status === "failed" ? 131049 : null)
      }
    })),
  {
    // Often, so that one click id is claimed by two messages, before and after the click itself.
    arbitrary: fc.tuple(pick, fc.constantFrom(...CLICK_IDS), time).map(([n, k, t]): Intent => ({
      label: label("AttributeClick", { message: `requested #${n}`, clickId: k, at: t }),
      resolve: (model) => attributeClick(requestedMessage(model, n), k, t)
    })),
    weight: 2
  }
)

/** Commands with ids and attempts of their own: mostly unknown messages and stale attempts, which the domain refuses. */
const strays: fc.Arbitrary<Intent> = fc.oneof(
  fc.tuple(messageId, attempt, time).map(([id, a, t]) => fixed(startDispatch(id, a, t))),
  fc.tuple(messageId, attempt, time).map(([id, a, t]) => fixed(dispatchSucceeded(id, a, wamidOf(id, a), t))),
  fc.tuple(messageId, attempt, time).map(([id, a, t]) => fixed(dispatchOutcomeUnknown(id, a, t))),
  fc.tuple(messageId, attempt, fc.constantFrom(131049, 130429), fc.boolean(), time).map(([id, a, code, final, t]) =>
    fixed(dispatchFailed(id, a, code, final, t))
  ),
  fc.tuple(messageId, attempt, fc.constantFrom("sent", "read" as const), time).map(([id, a, status, t]) =>
    fixed(observe(id, wamidOf(id, a), status, t, "marketing_lite"))
  ),
  fc.tuple(messageId, time).map(([id, t]) => fixed(markDispatchUnknown(id, t))),
  fc.tuple(messageId, fc.constantFrom("resend", "give_up" as const), time).map(([id, action, t]) =>
    fixed(cmd("Message", { _tag: "ResolveDispatch", messageId: ids.message(id), action, by: "operator", at: t }))
  ),
  fc.tuple(messageId, fc.oneof(time, time.map((t) => TTL_SECONDS * 1000 + t))).map(([id, t]) =>
    fixed(cmd("Message", { _tag: "ExpireMessage", messageId: ids.message(id), at: t }))
  ),
  fc.tuple(messageId, fc.constantFrom(...CLICK_IDS), time).map(([id, k, t]) => fixed(attributeClick(id, k, t)))
)

const messages: fc.Arbitrary<Intent> = fc.oneof(
  {
    arbitrary: fc.record({
      id: messageId,
      channel: phone,
      waba,
      campaign: fc.constantFrom(...CAMPAIGNS, null),
      route: fc.constantFrom("marketing_messages", "cloud_api" as const),
      to: fc.constantFrom(...RECIPIENTS),
      ttlSeconds: fc.constantFrom(null, TTL_SECONDS),
      at: time
    }).map(({ id, ...options }) => fixed(requestMessage(id, options))),
    weight: 3
  },
  { arbitrary: advancing, weight: 8 },
  { arbitrary: webhooksAndClients, weight: 3 },
  { arbitrary: strays, weight: 2 }
)

const recipientsAndClicks: fc.Arbitrary<AnyCommand> = fc.oneof(
  fc.tuple(waba, fc.constantFrom(...RECIPIENTS), fc.boolean(), time).map(([w, r, optedOut, t]) =>
    cmd("Recipient", {
      _tag: "RecordMarketingPreference",
      wabaId: ids.waba(w),
      recipient: r as never,
      optedOut,
      source: "user_preferences",
      occurredAt: t,
      at: t
    })
  ),
  fc.tuple(waba, fc.constantFrom(...RECIPIENTS), time).map(([w, r, t]) =>
    cmd("Recipient", { _tag: "StartMarketingCooldown", wabaId: ids.waba(w), recipient: r as never, failedAt: t, at: t })
  ),
  {
    arbitrary: fc.tuple(phone, fc.constantFrom(...CLICK_IDS, null), time, fc.constantFrom("marketing_messages_link_click", "landing_page_view"))
      .map(([p, k, t, type]) => userAction(p, k, t, type)),
    weight: 2
  }
)

/** Commands across every stream kind, the message lifecycle most often. */
const anyCommand: fc.Arbitrary<Intent> = fc.oneof(
  { arbitrary: onboarding.map(fixed), weight: 3 },
  { arbitrary: configuration.map(fixed), weight: 2 },
  { arbitrary: messages, weight: 8 },
  { arbitrary: recipientsAndClicks.map(fixed), weight: 2 }
)

/** For a counterexample a person can read: the command, without the request body every message repeats. */
const describeCommand = (c: AnyCommand): string => {
  if (c.command._tag !== "RequestMessage") return JSON.stringify(c.command)
  const r = c.command
  return JSON.stringify({
    _tag: r._tag,
    messageId: r.messageId,
    channel: r.channel,
    wabaId: r.wabaId,
    campaignId: r.campaignId,
    to: r.to,
    route: r.decision._tag === "Routed" ? r.decision.route : null,
    ttlSeconds: r.template?.ttlSeconds ?? null,
    at: r.at
  })
}

// ---- the model-based test ------------------------------------------------------------------------

const withoutCredentialsRef = ({ credentialsRef: _, ...view }: ChannelDispatchView): ChannelView => view

/** What the model's questions are asked of: the log and every query port. */
export type ModelPorts = EventStore.EventStore | OnboardingQueries | ConfigurationQueries | MessageQueries | ClickQueries | DispatchQueue

/** Every question the API and the worker ask the query ports, over the whole id space, against the model. */
const readModelsEqualTheModel = (model: LogModel) =>
  Effect.gen(function*() {
    const onboarding = yield* OnboardingQueries
    const configuration = yield* ConfigurationQueries
    const messages = yield* MessageQueries
    const clicks = yield* ClickQueries
    const queue = yield* DispatchQueue
    for (const now of NOWS) {
      for (const id of BMS) assert.deepStrictEqual(yield* onboarding.businessManager(id, now), model.businessManagerView(id, now), `BM ${id} at ${now}`)
      for (const id of WABAS) assert.deepStrictEqual(yield* onboarding.waba(id, now), model.wabaView(id, now), `WABA ${id} at ${now}`)
      assert.deepStrictEqual((yield* onboarding.wabas({ now, limit: 100 })).items, model.wabaViews(now))
      for (const status of ["not_onboarded", "onboarded", "suspended"] as const) {
        assert.deepStrictEqual((yield* onboarding.wabas({ now, status, limit: 100 })).items, model.wabaViews(now, { status }), `${status} at ${now}`)
      }
      for (const bmId of BMS) {
        assert.deepStrictEqual(
          (yield* onboarding.wabas({ now, businessManagerIds: [bmId], limit: 100 })).items,
          model.wabaViews(now, { businessManagerIds: [bmId] })
        )
      }
    }
    for (const now of [...NOWS, ...model.boundaries()]) {
      assert.deepStrictEqual(yield* queue.dispatchable(now, 100), model.dispatchable(now), `dispatchable at ${now}`)
      assert.deepStrictEqual(yield* queue.expiryDue(now, 100), model.expiryDue(now), `expiry due at ${now}`)
    }
    for (const id of PHONES) {
      const forDispatch = model.channelView(id)
      assert.deepStrictEqual(yield* queue.channelForDispatch(id), forDispatch, `channel ${id}`)
      assert.deepStrictEqual(yield* configuration.channel(id), forDispatch === null ? null : withoutCredentialsRef(forDispatch))
      assert.deepStrictEqual((yield* clicks.clicks(id, { limit: 100 })).items, model.clicks(id), `clicks on ${id}`)
      for (const to of RECIPIENTS) {
        assert.deepStrictEqual(yield* queue.messagesToRecipient(id, to, 0, NOWS[0]), model.messagesToRecipient(id, to, 0, NOWS[0]))
      }
    }
    assert.deepStrictEqual(yield* configuration.routingSettings(), model.routingSettings())
    for (const w of WABAS) {
      for (const name of TEMPLATE_NAMES) {
        assert.deepStrictEqual(yield* configuration.template(w, name, "en"), model.templateView(w, name, "en"), `template ${w}/${name}`)
      }
      assert.deepStrictEqual((yield* configuration.templates(w, { limit: 100 })).items, model.templateViews(w))
    }
    for (const id of MESSAGES) {
      assert.deepStrictEqual(yield* messages.message(id), model.messageView(id), `message ${id}`)
      for (const a of ATTEMPTS) assert.deepStrictEqual(yield* messages.messagesByWamid(wamidOf(id, a)), model.messagesByWamid(wamidOf(id, a)))
    }
    for (const phase of PHASES) assert.deepStrictEqual((yield* queue.inDispatchPhase(phase, { limit: 100 })).items, model.inDispatchPhase(phase), phase)
    for (const campaign of CAMPAIGNS) {
      assert.deepStrictEqual(yield* messages.campaignStats(campaign), model.campaignStats(campaign), `campaign ${campaign}`)
      for (const bmId of BMS) {
        const scope = { businessManagerIds: [bmId], channelIds: [] }
        assert.deepStrictEqual(yield* messages.campaignStats(campaign, scope), model.campaignStats(campaign, scope), `campaign ${campaign} for BM ${bmId}`)
      }
      for (const phone of PHONES) {
        const scope = { businessManagerIds: [], channelIds: [phone] }
        assert.deepStrictEqual(yield* messages.campaignStats(campaign, scope), model.campaignStats(campaign, scope), `campaign ${campaign} for channel ${phone}`)
      }
    }
    for (const k of CLICK_IDS) {
      for (const id of PHONES) assert.strictEqual(yield* clicks.clickAttribution(k, id), model.clickAttribution(k, id), `click ${k} on ${id}`)
    }
  })

/** One command through a store (the domain decides on its log), compared with what the model decided. */
const stepOn = (c: AnyCommand, expected: Either.Either<ReadonlyArray<unknown>, unknown>) =>
  Effect.gen(function*() {
    const actual = yield* run(c)
    if (Either.isLeft(expected)) {
      assert.isTrue(Either.isLeft(actual), "the store accepted what the domain refuses")
      if (Either.isLeft(actual)) assert.strictEqual((actual.left as { _tag: string })._tag, (expected.left as { _tag: string })._tag)
    } else {
      assert.isTrue(Either.isRight(actual), "the store refused what the domain accepts")
      if (Either.isRight(actual)) assert.deepStrictEqual(actual.right.events, expected.right)
    }
  })

/** The log holds exactly the model's stream, and the read models are the model's already (inline). */
const agreesWith = (model: LogModel, streamId: string) =>
  Effect.gen(function*() {
    const store = yield* EventStore.EventStore
    assert.deepStrictEqual((yield* store.readStream(streamId)).events.map((e) => e.event), model.events(streamId))
    yield* readModelsEqualTheModel(model)
  })

/** A store the property runs: a fresh, empty one for every run, and what it checks at the end. */
export interface StoreUnderTest {
  readonly name: string
  readonly open: () => OpenStore
}

interface OpenStore {
  readonly run: <A>(effect: Effect.Effect<A, never, ModelPorts>) => Promise<A>
  /** The store's own check at the end of a run (live = rebuild): how many rows it compared; null without one. */
  readonly finish: () => Promise<number | null>
  readonly close: () => Promise<void>
}

/**
 * A store for the property: `layer()` builds a fresh, empty one (each run builds its own); `finish`,
 * if the store has tables to rebuild, is its check after the last command — that its live read models
 * equal a rebuild from the log — and answers how many rows it compared, which must not be none.
 */
export const storeUnderTest = <R>(
  name: string,
  layer: () => Layer.Layer<ModelPorts | R>,
  finish?: Effect.Effect<number, never, ModelPorts | R>
): StoreUnderTest => ({
  name,
  open: () => {
    const runtime = ManagedRuntime.make(layer())
    return {
      run: (effect) => runtime.runPromise(effect),
      finish: () => (finish === undefined ? Promise.resolve(null) : runtime.runPromise(finish)),
      close: () => runtime.dispose()
    }
  }
})

/** One command through every store and the model, then compared. */
const step = async (model: LogModel, stores: ReadonlyArray<OpenStore>, c: AnyCommand) => {
  const { streamId } = target(c)
  const expected = model.decide(c)
  for (const store of stores) await store.run(stepOn(c, expected))
  if (Either.isRight(expected)) model.append(streamId, expected.right)
  for (const store of stores) await store.run(agreesWith(model, streamId))
}

class Step implements fc.AsyncCommand<LogModel, ReadonlyArray<OpenStore>> {
  constructor(readonly intent: Intent) {}
  check = () => true
  run = (model: LogModel, stores: ReadonlyArray<OpenStore>) => step(model, stores, this.intent.resolve(model))
  toString = () => this.intent.label
}

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

/**
 * The property: for random command sequences, after every command each store's log and read models
 * equal the model's, and at the end each store's live read models equal a rebuild (`finish`, which
 * must have compared some rows). Resolves once `settings.numRuns` runs passed; a failure rejects with
 * fast-check's report (seed, path, commands).
 */
export const rebuildEqualsLive = (stores: ReadonlyArray<StoreUnderTest>, settings: { readonly numRuns: number; readonly seed?: number; readonly path?: string }) =>
  fc.assert(
    fc.asyncProperty(seeding, fc.commands([anyCommand.map((c) => new Step(c))], { maxCommands: MAX_COMMANDS, size: "medium" }), async (seed, steps) => {
      // Each run is a long chain of promises: without a turn of the event loop between runs, vitest's
      // own messages to its worker wait for the whole property, and time out.
      await new Promise<void>((resolve) => setImmediate(resolve))
      const open = stores.map((s) => s.open())
      try {
        const model = new LogModel()
        for (const c of seed) await new Step(fixed(c)).run(model, open)
        await fc.asyncModelRun(() => ({ model, real: open }), steps)
        for (const [i, store] of open.entries()) {
          const compared = await store.finish()
          if (compared !== null) assert.isAbove(compared, 0, `${stores[i]!.name}: the rebuild compared no rows`)
        }
      } finally {
        for (const store of open) await store.close()
      }
    }),
    { ...settings }
  )
