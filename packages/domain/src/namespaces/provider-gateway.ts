/** The `ProviderGateway` namespace: the outbound port, the request it sends and what comes back. */
export {
  type ListedTemplate,
  type OnboardingStatusRequest,
  type OnboardingStatusResult,
  ProviderError,
  ProviderGateway,
  type ProviderRequest,
  type ProviderSendResult,
  type TemplateListRequest,
  type TemplateListResult
} from "../dispatch/provider-gateway.js"
