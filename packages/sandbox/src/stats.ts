import type { WebhookStats } from "./webhooks.js"

/** What `GET /sandbox/stats` answers. Record keys are endpoint names, error codes, ids or unix seconds. */
export interface SandboxStats {
  readonly since: string
  readonly requests: { readonly total: number; readonly byEndpoint: Readonly<Record<string, number>> }
  readonly accepted: {
    readonly total: number
    readonly byEndpoint: Readonly<Record<string, number>>
    readonly byPricingCategory: Readonly<Record<string, number>>
    /** Clock time (ms) of the first and the last accepted send since the start or the last reset; null before any. */
    readonly firstAt: number | null
    readonly lastAt: number | null
  }
  readonly rejected: { readonly total: number; readonly byCode: Readonly<Record<string, number>> }
  readonly rateLimited: { readonly total: number; readonly byPhoneNumberId: Readonly<Record<string, number>> }
  /** Accepted sends whose connection the sandbox dropped on purpose (script 0999). */
  readonly droppedConnections: number
  readonly byCallbackData: Readonly<Record<string, { readonly requests: number; readonly accepted: number }>>
  readonly perPhoneNumber: Readonly<
    Record<string, { readonly accepted: number; readonly acceptedPerSecond: Readonly<Record<string, number>> }>
  >
  /** Status updates taken on `/messages` (read receipts, with a typing indicator or not), by the message id they name. */
  readonly statusUpdates: {
    readonly total: number
    readonly byMessageId: Readonly<Record<string, { readonly read: number; readonly typing: number }>>
  }
  readonly webhooks: WebhookStats
}

/** Windows kept per number; older ones are dropped so a long-running sandbox stays small. */
const MAX_WINDOWS = 3600

const bump = (record: Map<string, number>, key: string) => record.set(key, (record.get(key) ?? 0) + 1)

export const createStatsCollector = (clock: () => number) => {
  let since = clock()
  let requests = 0
  let accepted = 0
  let rejected = 0
  let rateLimited = 0
  let dropped = 0
  let firstAcceptedAt: number | null = null
  let lastAcceptedAt: number | null = null
  const requestsByEndpoint = new Map<string, number>()
  const acceptedByEndpoint = new Map<string, number>()
  const acceptedByCategory = new Map<string, number>()
  const rejectedByCode = new Map<string, number>()
  const rateLimitedByNumber = new Map<string, number>()
  const byCallback = new Map<string, { requests: number; accepted: number }>()
  const perNumber = new Map<string, { accepted: number; windows: Map<number, number> }>()
  let statusUpdates = 0
  const updatesByMessage = new Map<string, { read: number; typing: number }>()

  return {
    request: (endpoint: string): void => {
      requests++
      bump(requestsByEndpoint, endpoint)
    },
    callbackRequest: (data: string): void => {
      const entry = byCallback.get(data)
      if (entry === undefined) byCallback.set(data, { requests: 1, accepted: 0 })
      else entry.requests++
    },
    rejected: (code: number): void => {
      rejected++
      bump(rejectedByCode, String(code))
    },
    rateLimited: (phoneNumberId: string): void => {
      rateLimited++
      bump(rateLimitedByNumber, phoneNumberId)
    },
    dropped: (): void => {
      dropped++
    },
    statusUpdate: (messageId: string, typing: boolean): void => {
      statusUpdates++
      const entry = updatesByMessage.get(messageId) ?? { read: 0, typing: 0 }
      entry.read++
      if (typing) entry.typing++
      updatesByMessage.set(messageId, entry)
    },
    accepted: (endpoint: string, category: string, phoneNumberId: string, callbackData: string | undefined): void => {
      accepted++
      const now = clock()
      firstAcceptedAt ??= now
      lastAcceptedAt = now
      bump(acceptedByEndpoint, endpoint)
      bump(acceptedByCategory, category)
      if (callbackData !== undefined) {
        const entry = byCallback.get(callbackData)
        if (entry === undefined) byCallback.set(callbackData, { requests: 1, accepted: 1 })
        else entry.accepted++
      }
      let number = perNumber.get(phoneNumberId)
      if (number === undefined) {
        number = { accepted: 0, windows: new Map() }
        perNumber.set(phoneNumberId, number)
      }
      number.accepted++
      const second = Math.floor(now / 1000)
      const count = number.windows.get(second)
      if (count === undefined) {
        number.windows.set(second, 1)
        if (number.windows.size > MAX_WINDOWS) {
          const oldest = number.windows.keys().next().value as number
          number.windows.delete(oldest)
        }
      } else {
        number.windows.set(second, count + 1)
      }
    },
    /** `withCallbackData: false` leaves `byCallbackData` empty: a cheap poll while many messages are counted. */
    snapshot: (webhooks: WebhookStats, withCallbackData = true): SandboxStats => ({
      since: new Date(since).toISOString(),
      requests: { total: requests, byEndpoint: Object.fromEntries(requestsByEndpoint) },
      accepted: {
        total: accepted,
        byEndpoint: Object.fromEntries(acceptedByEndpoint),
        byPricingCategory: Object.fromEntries(acceptedByCategory),
        firstAt: firstAcceptedAt,
        lastAt: lastAcceptedAt
      },
      rejected: { total: rejected, byCode: Object.fromEntries(rejectedByCode) },
      rateLimited: { total: rateLimited, byPhoneNumberId: Object.fromEntries(rateLimitedByNumber) },
      droppedConnections: dropped,
      byCallbackData: withCallbackData ? Object.fromEntries([...byCallback].map(([key, value]) => [key, { ...value }])) : {},
      perPhoneNumber: Object.fromEntries(
        [...perNumber].map(([id, value]) => [
          id,
          { accepted: value.accepted, acceptedPerSecond: Object.fromEntries([...value.windows].map(([s, n]) => [String(s), n])) }
        ])
      ),
      statusUpdates: { total: statusUpdates, byMessageId: Object.fromEntries([...updatesByMessage].map(([key, value]) => [key, { ...value }])) },
      webhooks
    }),
    reset: (): void => {
      since = clock()
      requests = accepted = rejected = rateLimited = dropped = statusUpdates = 0
      firstAcceptedAt = lastAcceptedAt = null
      for (const map of [requestsByEndpoint, acceptedByEndpoint, acceptedByCategory, rejectedByCode, rateLimitedByNumber]) {
        map.clear()
      }
      byCallback.clear()
      perNumber.clear()
      updatesByMessage.clear()
    }
  }
}
