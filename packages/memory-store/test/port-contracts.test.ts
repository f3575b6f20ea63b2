import { eventStoreContract, unitOfWorkContract } from "@mm-gateway/domain/testing"
import {
  apiKeyStoreContract,
  clickQueriesContract,
  configurationQueriesContract,
  credentialStoreContract,
  dispatchQueueContract,
  leasesContract,
  messageQueriesContract,
  onboardingQueriesContract,
  projectionRunnerContract,
  statusMatchingContract,
  storeHealthContract,
  webhookInboxContract
} from "@mm-gateway/ports/testing"
import { layerMemoryStore } from "../src/store.js"

// The layer builds a fresh, empty store each time it is provided.
const store = () => layerMemoryStore

// The domain's own ports, with the read side projected on every append…
eventStoreContract("memory store", store)
unitOfWorkContract("memory store", store)

// …and every port of @mm-gateway/ports.
webhookInboxContract("memory store", store)
leasesContract("memory store", store)
apiKeyStoreContract("memory store", store)
credentialStoreContract("memory store", store)
storeHealthContract("memory store", store)
projectionRunnerContract("memory store", store)
onboardingQueriesContract("memory store", store)
configurationQueriesContract("memory store", store)
messageQueriesContract("memory store", store)
clickQueriesContract("memory store", store)
dispatchQueueContract("memory store", store)
statusMatchingContract("memory store", store)
