/**
 * What each child of `two-processes.test.ts` does, shared by the child (`two-process-writer.ts`) and the
 * test's checks. Both writers run the same rounds with their own ids, and three commands of every round
 * land on streams the other writer also writes.
 */
import { type AnyCommand, dispatchSucceeded, observe, registerBm, requestMessage, startDispatch, userAction } from "./support.js"

export interface WriterReport {
  readonly writer: string
  readonly commands: number
  /** Appends refused with a version conflict (each one decided again by `handleCommand`). */
  readonly conflicts: number
  /** Commands the domain refused: none are expected. */
  readonly rejected: ReadonlyArray<string>
}

/** Streams both writers share; the parent registers them before the children start. */
export const SHARED_BUSINESS_MANAGERS = [1, 2, 3] as const
export const SHARED_MESSAGES = ["shared-0", "shared-1", "shared-2", "shared-3"] as const
export const sharedWamid = (id: string) => `wamid.${id}`

/** The status both writers observe for a shared message in round `i`: equal in both, so only one may be stored. */
export const sharedObservation = (i: number) => ({
  message: SHARED_MESSAGES[i % SHARED_MESSAGES.length]!,
  status: (["sent", "delivered", "read"] as const)[Math.floor(i / SHARED_MESSAGES.length) % 3]!,
  timestamp: 1_000_000 + i
})

export const ownMessage = (writer: string, i: number) => `w${writer}-${i}`
export const renameTo = (writer: string, i: number) => `w${writer}-${i}`
export const sharedClick = (i: number) => `k${i}`

export const COMMANDS_PER_ROUND = 7

/** One round: an api-like request, the worker-like dispatch and status, and three commands on shared streams. */
export const round = (writer: string, i: number): ReadonlyArray<AnyCommand> => {
  const id = ownMessage(writer, i)
  const at = 10_000 + i
  const shared = sharedObservation(i)
  return [
    requestMessage(id, { at, campaign: `c${writer}` }),
    startDispatch(id, 1, at + 1),
    dispatchSucceeded(id, 1, `wamid.${id}`, at + 2),
    observe(id, `wamid.${id}`, "sent", at + 3, "marketing_lite"),
    // Always an event (the name is new), on one of three streams both writers rename.
    registerBm(SHARED_BUSINESS_MANAGERS[i % SHARED_BUSINESS_MANAGERS.length]!, at, renameTo(writer, i)),
    // The same webhook handled by both writers: exactly one of them may record it.
    observe(shared.message, sharedWamid(shared.message), shared.status, shared.timestamp, "marketing_lite"),
    // The same click from both: one stream, one event.
    userAction(100, sharedClick(i), 20_000 + i)
  ]
}
