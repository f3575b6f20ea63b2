// @ts-check
// How the generated event logs (make-log.mjs) name things, so a benchmark that builds on a log (B2's
// status webhooks) can address the same messages, channels and WABAs.

/** Messages are spread over this many channels, one WABA each. */
export const CHANNELS = 10

export const suffixOf = (/** @type {number} */ n) => String(n).padStart(7, "0")
export const messageIdOf = (/** @type {number} */ n) => `msg_${suffixOf(n)}`
export const wamidOf = (/** @type {number} */ n) => `wamid.LOG${suffixOf(n)}`
export const recipientOf = (/** @type {number} */ n) => `49151${suffixOf(n)}`
export const channelOf = (/** @type {number} */ n) => n % CHANNELS
export const wabaOf = (/** @type {number} */ c) => String(102290129340000 + c)
export const phoneOf = (/** @type {number} */ c) => String(106540352240000 + c)
/** Message `n` is accepted at `t0 + n * MESSAGE_SPACING_MS`; its lifecycle's events follow it by 1 ms each. */
export const MESSAGE_SPACING_MS = 10
