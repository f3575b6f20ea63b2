/**
 * @mm-gateway/http-adapter — mm-gateway's HTTP adapters: the client-facing REST API (HttpApi, OpenAPI,
 * the lean webhook path in front of it) and the outbound provider clients (360dialog, Meta Graph,
 * the sandbox).
 */
export * from "./provider/index.js"
export { type ApiConfig, apiConfig, DEVELOPMENT_SECRETS, type Mode } from "./api/config.js"
export { GatewayApi } from "./api/definition.js"
export { CONSOLE_SECURITY_HEADERS } from "./api/console.js"
export { type ApiAssets, ApiServer, type ApiStore, layerApiServer } from "./api/server.js"
export { CredentialVault, layerCredentials } from "./credentials-store.js"
export { runProcess } from "./process-runtime.js"
