/**
 * @mm-gateway/http-adapter — mm-gateway's HTTP adapters: the client-facing REST API (HttpApi, OpenAPI,
 * the lean webhook path in front of it), the outbound provider clients (360dialog, Meta Graph,
 * the sandbox) and the deliverer that forwards webhooks to the tenants' own apps.
 */
export * from "./forwarding/index.js"
export * from "./provider/index.js"
export { type ApiConfig, apiConfig, DEVELOPMENT_SECRETS, type Mode } from "./api/config.js"
export { GatewayApi } from "./api/definition.js"
export { ApiServer, type ApiStore, layerApiServer } from "./api/server.js"
export { CredentialVault, layerCredentials } from "./credentials-store.js"
export { durationConfig, parseDuration } from "./durations.js"
export { runProcess } from "./process-runtime.js"
