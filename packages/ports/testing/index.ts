/**
 * @mm-gateway/ports/testing — one contract suite per port (vitest, `@effect/vitest`). Every store runs
 * them unchanged: the in-memory store, SQLite, and whichever comes next (docs/persistence.md#contract-suites).
 * Each suite takes a name and a factory that builds a fresh, empty store.
 */
export { apiKeyStoreContract, credentialStoreContract, storeHealthContract } from "./admin-contracts.js"
export { clickQueriesContract } from "./click-queries-contract.js"
export { configurationQueriesContract } from "./configuration-queries-contract.js"
export { dispatchQueueContract } from "./dispatch-queue-contract.js"
export { forwardingOutboxContract, webhookEndpointsContract } from "./forwarding-contract.js"
export { webhookInboxContract } from "./inbox-contract.js"
export { leasesContract } from "./leases-contract.js"
export { messageQueriesContract } from "./message-queries-contract.js"
export { onboardingQueriesContract } from "./onboarding-queries-contract.js"
export { projectionRunnerContract } from "./projection-runner-contract.js"
export { statusMatchingContract } from "./status-matching-contract.js"
export { storePortContracts, type StorePorts } from "./store-ports.js"
export { type ReadSide } from "./facts.js"
export { walkPages } from "./pages.js"
