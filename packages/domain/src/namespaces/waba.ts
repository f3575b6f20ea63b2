/** The `Waba` namespace: the WABA's stream and its derived Marketing Messages API status. */
export * from "../onboarding/waba.js"
export { mmApiStatus, type MmApiSource, type MmApiStatus, type MmApiStatusView } from "../onboarding/mm-status.js"
