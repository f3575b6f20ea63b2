/** The `Status` namespace: status observations, the visible statuses and the route Meta really used. */
export { type MessageStatus, ObservedStatus, observedRoute, Pricing, StatusObservation } from "../lifecycle/status.js"
