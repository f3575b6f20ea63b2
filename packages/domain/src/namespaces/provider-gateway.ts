/** The `ProviderGateway` namespace: the outbound port, the request it sends and what comes back. */
export {
  type OnboardingStatusRequest,
  type OnboardingStatusResult,
  ProviderError,
  ProviderGateway,
  type ProviderRequest,
  type ProviderSendResult
} from "../dispatch/provider-gateway.js"
