import * as Domain from "@mm-gateway/domain"
import { ParseResult, Schema } from "effect"

/**
 * The wire shapes of WhatsApp Business Account webhooks, as far as the gateway reads them. Every
 * struct ignores properties it does not name (Meta adds fields without notice) and every optional
 * property also tolerates `null`. Bodies are decoded level by level (envelope, entry, change, item)
 * so that one bad item does not hide the good ones around it.
 */

/** Optional, and `null` counts as absent. */
const opt = <S extends Schema.Schema.Any>(schema: S) => Schema.optional(Schema.NullOr(schema))

const NonEmptyString = Schema.String.pipe(Schema.minLength(1)).annotations({ description: "a non-empty string" })

// Year 9999 in seconds: anything later is not a timestamp, and the milliseconds stay safe integers.
const MAX_UNIX_SECONDS = 253_402_300_799
const NUMERIC = /^[0-9]{1,15}(\.[0-9]{1,9})?$/

/** Unix seconds as a number or a numeric string → epoch milliseconds; `null` when it is neither. */
export const unixSecondsToMillis = (input: unknown): number | null => {
  const seconds = typeof input === "number"
    ? input
    : typeof input === "string" && NUMERIC.test(input.trim())
    ? Number(input.trim())
    : Number.NaN
  if (!Number.isFinite(seconds) || seconds < 0 || seconds > MAX_UNIX_SECONDS) return null
  return Math.round(seconds * 1000)
}

export const UNIX_SECONDS = "unix seconds (a number or a numeric string)"

/** Webhook times: unix seconds (Meta sends both `1764000100` and `"1764000100"`) → epoch milliseconds. */
export const UnixSeconds = Schema.transformOrFail(Schema.Unknown, Schema.Number, {
  strict: true,
  decode: (input, _, ast) => {
    const millis = unixSecondsToMillis(input)
    return millis === null ? ParseResult.fail(new ParseResult.Type(ast, input, UNIX_SECONDS)) : ParseResult.succeed(millis)
  },
  encode: (millis) => ParseResult.succeed(String(Math.floor(millis / 1000)))
}).annotations({ description: UNIX_SECONDS })

// The domain's schemas, described the way a quarantine reason should name them.
const Category = Domain.Template.TemplateCategory.annotations({ description: "MARKETING, UTILITY or AUTHENTICATION" })
export const WabaId = Domain.Ids.WabaId.annotations({ description: "a WABA id (digits)" })
const BusinessManagerId = Domain.Ids.BusinessManagerId.annotations({ description: "a business id (digits)" })
const PhoneNumberId = Domain.Ids.PhoneNumberId.annotations({ description: "a phone number id (digits)" })
const RecipientNumber = Domain.Ids.RecipientNumber.annotations({ description: "a WhatsApp number (international, digits only)" })
const Bsuid = Domain.Ids.Bsuid.annotations({ description: "a business-scoped user id (e.g. US.13491208655302741918)" })
const Wamid = Domain.Ids.Wamid.annotations({ description: "a wamid (a non-empty string)" })
const ObservedStatus = Domain.Status.ObservedStatus

// ---- envelope ----------------------------------------------------------------------------------

export const Envelope = Schema.Struct({
  object: Schema.Literal("whatsapp_business_account"),
  entry: Schema.Array(Schema.Unknown)
})

export const Entry = Schema.Struct({
  id: Schema.optional(Schema.Unknown),
  time: Schema.optional(Schema.Unknown),
  changes: Schema.Array(Schema.Unknown)
})

export const Change = Schema.Struct({
  field: Schema.String,
  value: Schema.optional(Schema.Unknown)
})

/** `value.waba_info.waba_id`, when a change names its WABA itself. */
export const WabaRef = Schema.Struct({
  waba_info: opt(Schema.Struct({ waba_id: opt(WabaId) }))
})

// ---- field: messages ---------------------------------------------------------------------------

export const MessagesValue = Schema.Struct({
  metadata: opt(Schema.Unknown),
  statuses: opt(Schema.Array(Schema.Unknown)),
  user_actions: opt(Schema.Array(Schema.Unknown)),
  messages: opt(Schema.Array(Schema.Unknown)),
  errors: opt(Schema.Array(Schema.Unknown)),
  contacts: opt(Schema.Array(Schema.Unknown))
})

/**
 * The identifiers a webhook names one user by together: `contacts[]` (`wa_id`, `user_id`,
 * `parent_user_id`) and inbound `messages[]` (`from`, `from_user_id`, `from_parent_user_id`). Read
 * leniently: an identifier that is not one is left out, never a problem (the gateway only links them).
 */
export const ContactIds = Schema.Struct({
  wa_id: opt(Schema.Unknown),
  user_id: opt(Schema.Unknown),
  parent_user_id: opt(Schema.Unknown)
})
export const InboundIds = Schema.Struct({
  from: opt(Schema.Unknown),
  from_user_id: opt(Schema.Unknown),
  from_parent_user_id: opt(Schema.Unknown)
})
export const isRecipientNumber = Schema.is(Domain.Ids.RecipientNumber)
export const isWabaId = Schema.is(Domain.Ids.WabaId)
export const isBsuid = Schema.is(Domain.Ids.Bsuid)

export const Metadata = Schema.Struct({ phone_number_id: PhoneNumberId })

export const StatusHead = Schema.Struct({ status: Schema.String })

/** Meta's error codes are integers; the domain's `ProviderError.code` is one too. */
const ErrorCode = Schema.Int.annotations({ description: "an error code (an integer)" })

export const WireError = Schema.Struct({
  code: ErrorCode,
  title: opt(Schema.String),
  message: opt(Schema.String),
  error_data: opt(Schema.Struct({ details: opt(Schema.String) }))
})

export const Status = Schema.Struct({
  id: Wamid,
  status: ObservedStatus,
  timestamp: UnixSeconds,
  recipient_id: opt(Schema.String),
  // The user's BSUID, beside `recipient_id` or instead of it (kept as a string, like `recipient_id`).
  recipient_user_id: opt(Schema.String),
  // Group messaging: `recipient_id` is then the group's id, the participant the member the status is about.
  recipient_type: opt(Schema.String),
  recipient_participant_id: opt(Schema.String),
  biz_opaque_callback_data: opt(Schema.String),
  conversation: opt(Schema.Struct({ origin: opt(Schema.Struct({ type: opt(Schema.String) })) })),
  pricing: opt(Schema.Struct({
    category: opt(Schema.String),
    pricing_model: opt(Schema.String),
    type: opt(Schema.String),
    billable: opt(Schema.Boolean)
  })),
  errors: opt(Schema.Array(WireError))
})

export const UserActionItem = Schema.Struct({
  action_type: NonEmptyString,
  timestamp: UnixSeconds,
  marketing_messages_link_click_data: opt(Schema.Struct({
    click_component: opt(Schema.String),
    product_id: opt(Schema.String),
    click_id: opt(Schema.String),
    tracking_token: opt(Schema.String)
  }))
})

// ---- field: account_update ---------------------------------------------------------------------

export const AccountUpdateHead = Schema.Struct({ event: opt(Schema.String) })

export const TermsSigned = Schema.Struct({
  waba_info: Schema.Struct({
    waba_id: opt(WabaId),
    owner_business_id: opt(BusinessManagerId)
  })
})

export const Restriction = Schema.Struct({
  restriction_info: Schema.Array(Schema.Struct({
    restriction_type: Schema.String,
    expiration: opt(UnixSeconds)
  }))
})

export const BanInfo = Schema.Struct({
  ban_info: Schema.Struct({ waba_ban_state: Schema.String })
})

// ---- fields: template_category_update, message_template_status_update --------------------------

const TemplateName = NonEmptyString.pipe(Schema.maxLength(512)).annotations({ description: "a template name (1–512 characters)" })
const TemplateLanguage = NonEmptyString.pipe(Schema.maxLength(32)).annotations({
  description: "a template language code (1–32 characters)"
})

export const TemplateCategoryUpdate = Schema.Struct({
  message_template_name: TemplateName,
  message_template_language: TemplateLanguage,
  new_category: opt(Category),
  previous_category: opt(Category),
  correct_category: opt(Category),
  category_update_timestamp: opt(UnixSeconds)
})

export const TemplateStatusUpdate = Schema.Struct({
  event: NonEmptyString,
  message_template_name: TemplateName,
  message_template_language: TemplateLanguage,
  reason: opt(Schema.String),
  message_template_category: opt(Category)
})

// ---- field: user_preferences -------------------------------------------------------------------

export const UserPreferencesValue = Schema.Struct({
  user_preferences: Schema.Array(Schema.Unknown),
  contacts: opt(Schema.Array(Schema.Unknown))
})

export const PreferenceHead = Schema.Struct({ category: opt(Schema.String) })

/** A preference names its user by `wa_id`, by `user_id` (BSUID), or both; at least one. */
export const Preference = Schema.Struct({
  wa_id: opt(RecipientNumber),
  user_id: opt(Bsuid),
  value: Schema.String,
  timestamp: UnixSeconds
})
