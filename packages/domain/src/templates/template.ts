import { Match, Schema } from "effect"
import { accept, type Decider, nothing, reject } from "../shared/decider.js"
import { TtlOutOfRange } from "../shared/errors.js"
import { WabaId } from "../shared/ids.js"
import { EpochMillis } from "../shared/time.js"
import { TemplateCategory } from "./category.js"

/**
 * `message_send_ttl_seconds` ranges per category (docs/provider.md#template-ttl). Marketing: 12 h – 30 days, and only
 * the MM API honours it. `-1` (30 days) is allowed for utility and authentication only.
 */
const TTL_BOUNDS: Record<TemplateCategory, { readonly min: number; readonly max: number; readonly allowsMinusOne: boolean }> = {
  MARKETING: { min: 43_200, max: 2_592_000, allowsMinusOne: false },
  UTILITY: { min: 30, max: 43_200, allowsMinusOne: true },
  AUTHENTICATION: { min: 30, max: 900, allowsMinusOne: true }
}

const isTtlAllowed = (category: TemplateCategory, ttlSeconds: number): boolean => {
  const bounds = TTL_BOUNDS[category]
  if (!Number.isInteger(ttlSeconds)) return false
  if (ttlSeconds === -1) return bounds.allowsMinusOne
  return ttlSeconds >= bounds.min && ttlSeconds <= bounds.max
}

/** Where a category came from: the operator, a webhook (`template_category_update`, `message_template_status_update`), Meta's template list. */
const CategorySource = Schema.Literal("operator", "category_update", "status_update", "meta_api")
export type CategorySource = typeof CategorySource.Type

const TemplateKey = {
  wabaId: WabaId,
  name: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(512)),
  language: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(32))
}

// ---- commands ----------------------------------------------------------------------------------

/** The operator records a template's category and TTL (`PUT /v1/wabas/{id}/templates/{name}/{language}`). */
export const RecordTemplate = Schema.TaggedStruct("RecordTemplate", {
  ...TemplateKey,
  category: TemplateCategory,
  ttlSeconds: Schema.NullOr(Schema.Int),
  at: EpochMillis
})
/** A completed `template_category_update` (`previous_category` + `new_category`): route on it. */
export const RecordCategoryChange = Schema.TaggedStruct("RecordCategoryChange", {
  ...TemplateKey,
  previousCategory: Schema.NullOr(TemplateCategory),
  newCategory: TemplateCategory,
  occurredAt: EpochMillis,
  at: EpochMillis
})
/** An impending `template_category_update` (`correct_category` in 24 h): noticed, never routed on. */
export const RecordImpendingRecategorization = Schema.TaggedStruct("RecordImpendingRecategorization", {
  ...TemplateKey,
  currentCategory: Schema.NullOr(TemplateCategory),
  correctCategory: TemplateCategory,
  effectiveAt: Schema.NullOr(EpochMillis),
  occurredAt: EpochMillis,
  at: EpochMillis
})
/** `message_template_status_update` (APPROVED, PAUSED, DISABLED, …), possibly naming the category. */
export const RecordTemplateStatus = Schema.TaggedStruct("RecordTemplateStatus", {
  ...TemplateKey,
  status: Schema.String,
  reason: Schema.NullOr(Schema.String),
  category: Schema.NullOr(TemplateCategory),
  occurredAt: EpochMillis,
  at: EpochMillis
})
/**
 * The provider refused a message with this template on the MM route because it is not a marketing
 * template (131055 "Only marketing template messages are supported", 134100). Meta does not say which
 * category it is instead, so this is recorded as its own fact, not as a guessed category.
 *
 * The refusal refutes the category fact the message was routed on (`routedOnCategoryAt`, the time of
 * that fact; `null` when the category was unknown): every message of a campaign routed on the same
 * knowledge refutes the same fact, so a campaign failing a thousand times records one refusal, and a
 * newer category fact (a recategorization, the operator) ends it.
 */
export const RecordRefusedAsNotMarketing = Schema.TaggedStruct("RecordRefusedAsNotMarketing", {
  ...TemplateKey,
  errorCode: Schema.Int,
  routedOnCategoryAt: Schema.NullOr(EpochMillis),
  /** When the provider answered (the failed dispatch's time). */
  occurredAt: EpochMillis,
  at: EpochMillis
})
/**
 * What Meta's template list (`GET /{WABA_ID}/message_templates`) said of one template. `readAt` is when
 * the worker asked (before the request went out), so a webhook of a change Meta made while the list was
 * on its way counts as the newer fact (docs/domain.md#templates). `category` is `null` when Meta named
 * none the gateway knows; `status` is kept as Meta wrote it (an open set); `ttlSeconds` `null` when the
 * template has no `message_send_ttl_seconds`.
 */
export const RecordMetaTemplate = Schema.TaggedStruct("RecordMetaTemplate", {
  ...TemplateKey,
  category: Schema.NullOr(TemplateCategory),
  status: Schema.NullOr(Schema.String),
  ttlSeconds: Schema.NullOr(Schema.Int),
  readAt: EpochMillis,
  at: EpochMillis
})
export const TemplateCommand = Schema.Union(
  RecordTemplate,
  RecordMetaTemplate,
  RecordCategoryChange,
  RecordImpendingRecategorization,
  RecordTemplateStatus,
  RecordRefusedAsNotMarketing
)
export type TemplateCommand = typeof TemplateCommand.Type

// ---- events ------------------------------------------------------------------------------------

export const TemplateCategoryObserved = Schema.TaggedStruct("TemplateCategoryObserved", {
  ...TemplateKey,
  category: TemplateCategory,
  previousCategory: Schema.NullOr(TemplateCategory),
  source: CategorySource,
  occurredAt: EpochMillis,
  at: EpochMillis
})
export const TemplateRecategorizationImpending = Schema.TaggedStruct("TemplateRecategorizationImpending", {
  ...TemplateKey,
  currentCategory: Schema.NullOr(TemplateCategory),
  correctCategory: TemplateCategory,
  effectiveAt: Schema.NullOr(EpochMillis),
  occurredAt: EpochMillis,
  at: EpochMillis
})
export const TemplateTtlSet = Schema.TaggedStruct("TemplateTtlSet", {
  ...TemplateKey,
  ttlSeconds: Schema.Int,
  at: EpochMillis
})
export const TemplateTtlCleared = Schema.TaggedStruct("TemplateTtlCleared", {
  ...TemplateKey,
  reason: Schema.Literal("operator", "recategorized", "meta_api"),
  at: EpochMillis
})
export const TemplateStatusChanged = Schema.TaggedStruct("TemplateStatusChanged", {
  ...TemplateKey,
  status: Schema.String,
  reason: Schema.NullOr(Schema.String),
  occurredAt: EpochMillis,
  at: EpochMillis
})
export const TemplateRefusedAsNotMarketing = Schema.TaggedStruct("TemplateRefusedAsNotMarketing", {
  ...TemplateKey,
  errorCode: Schema.Int,
  routedOnCategoryAt: Schema.NullOr(EpochMillis),
  occurredAt: EpochMillis,
  at: EpochMillis
})
export const TemplateEvent = Schema.Union(
  TemplateCategoryObserved,
  TemplateRecategorizationImpending,
  TemplateTtlSet,
  TemplateTtlCleared,
  TemplateStatusChanged,
  TemplateRefusedAsNotMarketing
)
export type TemplateEvent = typeof TemplateEvent.Type

// ---- state -------------------------------------------------------------------------------------

export interface TemplateState {
  readonly known: boolean
  readonly category: TemplateCategory | null
  /** Time of the fact that set the category; older category facts arriving late are ignored. */
  readonly categoryAt: number | null
  readonly categorySource: CategorySource | null
  readonly ttlSeconds: number | null
  readonly status: string | null
  readonly statusAt: number | null
  readonly impending: { readonly correctCategory: TemplateCategory; readonly effectiveAt: number | null; readonly occurredAt: number } | null
  /**
   * The provider's "not a marketing template" answer, while no category fact newer than the one it
   * refutes is known: routing then treats the template as not MARKETING, whatever `category` says.
   */
  readonly refusedAsNotMarketing: {
    readonly errorCode: number
    readonly routedOnCategoryAt: number | null
    readonly occurredAt: number
  } | null
}

export const initialState = (): TemplateState => ({
  known: false,
  category: null,
  categoryAt: null,
  categorySource: null,
  ttlSeconds: null,
  status: null,
  statusAt: null,
  impending: null,
  refusedAsNotMarketing: null
})

/** `a` is a later category time than `b`; `null` (no category fact) is earlier than any. */
const laterThan = (a: number | null, b: number | null): boolean => a !== null && (b === null || a > b)

/**
 * The refusal still standing once the category is as of `categoryAt`. Folded states stored by read
 * models before this field existed lack it, hence the loose check.
 */
const refusalAfter = (state: TemplateState, categoryAt: number | null): TemplateState["refusedAsNotMarketing"] =>
  state.refusedAsNotMarketing != null && !laterThan(categoryAt, state.refusedAsNotMarketing.routedOnCategoryAt)
    ? state.refusedAsNotMarketing
    : null

/** Whether routing must treat the template as not MARKETING because the provider said so. */
export const isRefusedAsNotMarketing = (state: TemplateState): boolean => state.refusedAsNotMarketing != null

export const evolve = (state: TemplateState, event: TemplateEvent): TemplateState =>
  Match.value(event).pipe(
    Match.tagsExhaustive({
      TemplateCategoryObserved: (e) => {
        // The operator speaks last: a webhook repeated later never undoes what the operator set.
        const categoryAt = Math.max(state.categoryAt ?? 0, e.occurredAt)
        return {
          ...state,
          known: true,
          category: e.category,
          categoryAt,
          categorySource: e.source,
          impending: state.impending !== null && state.impending.occurredAt <= e.occurredAt ? null : state.impending,
          // A category fact newer than the one the provider refuted (a recategorization, the operator) ends the refusal.
          refusedAsNotMarketing: refusalAfter(state, categoryAt)
        }
      },
      TemplateRecategorizationImpending: (e) => ({
        ...state,
        known: true,
        impending: { correctCategory: e.correctCategory, effectiveAt: e.effectiveAt, occurredAt: e.occurredAt }
      }),
      TemplateTtlSet: (e) => ({ ...state, known: true, ttlSeconds: e.ttlSeconds }),
      TemplateTtlCleared: () => ({ ...state, ttlSeconds: null }),
      TemplateStatusChanged: (e) => ({ ...state, known: true, status: e.status, statusAt: e.occurredAt }),
      TemplateRefusedAsNotMarketing: (e) => ({
        ...state,
        known: true,
        refusedAsNotMarketing: { errorCode: e.errorCode, routedOnCategoryAt: e.routedOnCategoryAt, occurredAt: e.occurredAt }
      })
    })
  )

type Key = { readonly wabaId: WabaId; readonly name: string; readonly language: string }
const keyOf = (c: Key): Key => ({ wabaId: c.wabaId, name: c.name, language: c.language })

/** A category fact from a webhook: newer than what we know and different → observed, TTL cleared. */
const categoryChange = (
  state: TemplateState,
  key: Key,
  category: TemplateCategory,
  source: "category_update" | "status_update",
  occurredAt: number,
  at: number
): ReadonlyArray<TemplateEvent> => {
  // Older facts arriving late change nothing; two facts of the same time settle on one, whatever the
  // order. A newer fact confirming the same category is still recorded: it moves the time forward, so
  // an older different category repeated later cannot win.
  if (state.categoryAt !== null) {
    const tie = occurredAt === state.categoryAt &&
      (state.categorySource === "operator" || (state.category !== null && category <= state.category))
    if (occurredAt < state.categoryAt || tie) return []
  }
  const events: Array<TemplateEvent> = [
    TemplateCategoryObserved.make({ ...key, category, previousCategory: state.category, source, occurredAt, at })
  ]
  // Meta clears the TTL when it recategorizes a template (docs/provider.md#template-ttl).
  if (state.ttlSeconds !== null && state.category !== null && state.category !== category) {
    events.push(TemplateTtlCleared.make({ ...key, reason: "recategorized", at }))
  }
  return events
}

/**
 * A template as Meta's list shows it, against what is known: only what differs, and only where the
 * read is newer than the fact it would replace (a tie keeps the fact known). A list that agrees records
 * nothing, so passes over an unchanged list append nothing; it does not move the category's time
 * forward either (docs/domain.md#templates says what that leaves open). The list names the current
 * category, never an impending one, so it is a fact to route on like a completed recategorization; its
 * TTL is Meta's own, recorded as it is (the list is the template's truth, also against the operator).
 */
const metaTemplate = (state: TemplateState, c: typeof RecordMetaTemplate.Type): ReadonlyArray<TemplateEvent> => {
  const key = keyOf(c)
  const events: Array<TemplateEvent> = []
  const newerThanCategory = state.categoryAt === null || c.readAt > state.categoryAt
  if (c.category !== null && c.category !== state.category && newerThanCategory) {
    events.push(TemplateCategoryObserved.make({
      ...key,
      category: c.category,
      previousCategory: state.category,
      source: "meta_api",
      occurredAt: c.readAt,
      at: c.at
    }))
  }
  if (c.status !== null && c.status !== state.status && (state.statusAt === null || c.readAt > state.statusAt)) {
    events.push(TemplateStatusChanged.make({ ...key, status: c.status, reason: null, occurredAt: c.readAt, at: c.at }))
  }
  // The TTL goes with the category it was set for (Meta clears it on recategorization): a read older
  // than the category known says nothing of the TTL either.
  if (c.ttlSeconds !== state.ttlSeconds && newerThanCategory) {
    events.push(
      c.ttlSeconds === null
        ? TemplateTtlCleared.make({ ...key, reason: "meta_api", at: c.at })
        : TemplateTtlSet.make({ ...key, ttlSeconds: c.ttlSeconds, at: c.at })
    )
  }
  return events
}

export const decide = (command: TemplateCommand, state: TemplateState) =>
  Match.value(command).pipe(
    Match.tagsExhaustive({
      RecordTemplate: (c) => {
        const key = keyOf(c)
        if (c.ttlSeconds !== null && !isTtlAllowed(c.category, c.ttlSeconds)) {
          const bounds = TTL_BOUNDS[c.category]
          return reject(new TtlOutOfRange({ category: c.category, ttlSeconds: c.ttlSeconds, min: bounds.min, max: bounds.max }))
        }
        const events: Array<TemplateEvent> = []
        // The operator recording the category again after the provider's refusal overrides the refusal.
        const overridesRefusal = refusalAfter(state, c.at) === null && isRefusedAsNotMarketing(state)
        if (state.category !== c.category || !state.known || overridesRefusal) {
          events.push(TemplateCategoryObserved.make({
            ...key,
            category: c.category,
            previousCategory: state.category,
            source: "operator",
            occurredAt: c.at,
            at: c.at
          }))
        }
        if (c.ttlSeconds !== null && c.ttlSeconds !== state.ttlSeconds) {
          events.push(TemplateTtlSet.make({ ...key, ttlSeconds: c.ttlSeconds, at: c.at }))
        } else if (c.ttlSeconds === null && state.ttlSeconds !== null) {
          events.push(TemplateTtlCleared.make({ ...key, reason: "operator", at: c.at }))
        }
        return events.length === 0 ? nothing : accept(...events)
      },
      RecordMetaTemplate: (c) => accept(...metaTemplate(state, c)),
      RecordCategoryChange: (c) =>
        accept(...categoryChange(state, keyOf(c), c.newCategory, "category_update", c.occurredAt, c.at)),
      RecordImpendingRecategorization: (c) => {
        const seen = state.impending !== null && state.impending.occurredAt >= c.occurredAt
        const stale = state.categoryAt !== null && c.occurredAt <= state.categoryAt
        return seen || stale
          ? nothing
          : accept<TemplateEvent>(TemplateRecategorizationImpending.make({
            ...keyOf(c),
            currentCategory: c.currentCategory,
            correctCategory: c.correctCategory,
            effectiveAt: c.effectiveAt,
            occurredAt: c.occurredAt,
            at: c.at
          }))
      },
      RecordTemplateStatus: (c) => {
        const key = keyOf(c)
        const events: Array<TemplateEvent> = []
        const newer = state.statusAt === null || c.occurredAt > state.statusAt ||
          (c.occurredAt === state.statusAt && state.status !== null && c.status > state.status)
        if (newer) {
          events.push(TemplateStatusChanged.make({ ...key, status: c.status, reason: c.reason, occurredAt: c.occurredAt, at: c.at }))
        }
        if (c.category !== null) events.push(...categoryChange(state, key, c.category, "status_update", c.occurredAt, c.at))
        return accept(...events)
      },
      RecordRefusedAsNotMarketing: (c) => {
        // Nothing to add when a category fact newer than the refuted one is known (the next message
        // will tell whether that one is wrong too), or while a refusal of the same fact or a newer one
        // stands (the messages of a campaign routed on the same knowledge all fail the same way).
        // Both stay true once true, so a refusal delivered again later changes nothing either.
        const superseded = laterThan(state.categoryAt, c.routedOnCategoryAt)
        const refusal = state.refusedAsNotMarketing
        const stands = refusal != null && !laterThan(c.routedOnCategoryAt, refusal.routedOnCategoryAt)
        return superseded || stands
          ? nothing
          : accept<TemplateEvent>(TemplateRefusedAsNotMarketing.make({
            ...keyOf(c),
            errorCode: c.errorCode,
            routedOnCategoryAt: c.routedOnCategoryAt,
            occurredAt: c.occurredAt,
            at: c.at
          }))
      }
    })
  )

export const TemplateDecider: Decider<TemplateCommand, TemplateEvent, TemplateState, TtlOutOfRange> = {
  decide,
  evolve,
  initialState
}
