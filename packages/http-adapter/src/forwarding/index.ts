export {
  addressProblem,
  type ForwardAddressPolicy,
  hostOf,
  isAllowedHost,
  isPublicAddress,
  LOOPBACK_HOSTS,
  registrationProblem,
  urlProblem
} from "./address-policy.js"
export { forwardAllowHosts } from "./config.js"
export { type DelivererOptions, ENDPOINT_SECRET_PURPOSE, layerWebhookDeliverer, makeWebhookDeliverer } from "./deliverer.js"
