import type { EventStore, StatusReports, UnitOfWork } from "@mm-gateway/domain"
import type { Layer } from "effect"
import type { ApiKeyStore } from "../src/api-keys.js"
import type { CredentialStore } from "../src/credentials.js"
import type { ForwardingOutbox, WebhookEndpoints } from "../src/forwarding.js"
import type { StoreHealth } from "../src/health.js"
import type { WebhookInbox } from "../src/inbox.js"
import type { Leases } from "../src/leases.js"
import type { ProjectionRunner } from "../src/projections.js"
import type { ClickQueries, ConfigurationQueries, DispatchQueue, MessageQueries, OnboardingQueries } from "../src/queries.js"
import { apiKeyStoreContract, credentialStoreContract, storeHealthContract } from "./admin-contracts.js"
import { clickQueriesContract } from "./click-queries-contract.js"
import { configurationQueriesContract } from "./configuration-queries-contract.js"
import { dispatchQueueContract } from "./dispatch-queue-contract.js"
import { forwardingOutboxContract, webhookEndpointsContract } from "./forwarding-contract.js"
import { webhookInboxContract } from "./inbox-contract.js"
import { leasesContract } from "./leases-contract.js"
import { messageQueriesContract } from "./message-queries-contract.js"
import { onboardingQueriesContract } from "./onboarding-queries-contract.js"
import { projectionRunnerContract } from "./projection-runner-contract.js"
import { statusMatchingContract } from "./status-matching-contract.js"

/** Every port of @mm-gateway/ports (and the domain's `StatusMatching`) that a whole store provides. */
export type StorePorts =
  | EventStore.EventStore
  | UnitOfWork.UnitOfWork
  | StatusReports.StatusMatching
  | WebhookInbox
  | Leases
  | ApiKeyStore
  | CredentialStore
  | StoreHealth
  | ProjectionRunner
  | OnboardingQueries
  | ConfigurationQueries
  | MessageQueries
  | ClickQueries
  | DispatchQueue
  | WebhookEndpoints
  | ForwardingOutbox

/** Every port's contract suite on one store: what each store package runs (docs/persistence.md#contract-suites). */
export const storePortContracts = (name: string, makeStore: () => Layer.Layer<StorePorts>) => {
  webhookInboxContract(name, makeStore)
  leasesContract(name, makeStore)
  apiKeyStoreContract(name, makeStore)
  credentialStoreContract(name, makeStore)
  storeHealthContract(name, makeStore)
  projectionRunnerContract(name, makeStore)
  onboardingQueriesContract(name, makeStore)
  configurationQueriesContract(name, makeStore)
  messageQueriesContract(name, makeStore)
  clickQueriesContract(name, makeStore)
  dispatchQueueContract(name, makeStore)
  statusMatchingContract(name, makeStore)
  webhookEndpointsContract(name, makeStore)
  forwardingOutboxContract(name, makeStore)
}
