/** Dates in the viewer's own time zone, numbers with their units. */

/** The viewer's locale, or English when the browser names one Intl refuses (a POSIX locale such as `en-US@posix`). */
const locale = (() => {
  try {
    return new Intl.NumberFormat(navigator.language).resolvedOptions().locale
  } catch {
    return "en"
  }
})()
const dateTime = new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeStyle: "medium" })
const number = new Intl.NumberFormat(locale)

export const when = (iso: string | null | undefined): string => (iso == null ? "—" : dateTime.format(new Date(iso)))
export const count = (n: number, unit: string, plural = `${unit}s`): string => `${number.format(n)} ${n === 1 ? unit : plural}`
/** A plain number in the viewer's format. */
export const formatNumber = (n: number): string => number.format(n)
export const percent = (part: number, whole: number): string => (whole === 0 ? "—" : `${Math.round((part / whole) * 1000) / 10} %`)
export const timeZone = (): string => new Intl.DateTimeFormat(locale).resolvedOptions().timeZone

/** What a provider error code means (docs/provider.md, Meta's error codes). */
export const ERROR_MEANINGS: Readonly<Record<string, string>> = {
  "130429": "throughput exceeded on the number: messages per second over the limit",
  "130472": "the user is part of a Meta experiment: marketing message not delivered",
  "131009": "a parameter is not valid (or the template's ad sync is not complete yet)",
  "131026": "undeliverable: the recipient cannot receive this message",
  "131047": "more than 24 hours since the user last replied: only a template may be sent",
  "131048": "spam rate limit reached on the number",
  "131049": "per-user marketing limit: Meta chose not to deliver; wait at least 24 h before resending",
  "131050": "the user stopped marketing messages from this business",
  "131055": "method not allowed: only marketing templates on the MM API (or the terms are not signed)",
  "131056": "too many messages to the same user in a short time (pair rate limit)",
  "131057": "the number's throughput is being upgraded",
  "131061": "a max-price template sent through the Cloud API",
  "131062": "business-scoped user ids are not supported for this message",
  "131063": "marketing templates are disabled on the Cloud API for this business",
  "131064": "messaging limit after template classification violations",
  "132015": "the template was paused during pacing: held messages were dropped",
  "132018": "template parameter validation error",
  "134100": "only marketing messages may be sent on the MM API",
  "134101": "the template is still syncing (up to 10 minutes)",
  "134102": "template unavailable: check the WABA's MM API eligibility"
}
export const meaningOf = (code: string): string => ERROR_MEANINGS[code] ?? "no description known to the console"
