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
import { freshStore } from "./support.js"

// Every port's contract on the real server, each test on a database of its own.
webhookInboxContract("postgres", freshStore)
leasesContract("postgres", freshStore)
apiKeyStoreContract("postgres", freshStore)
credentialStoreContract("postgres", freshStore)
storeHealthContract("postgres", freshStore)
projectionRunnerContract("postgres", freshStore)
onboardingQueriesContract("postgres", freshStore)
configurationQueriesContract("postgres", freshStore)
messageQueriesContract("postgres", freshStore)
clickQueriesContract("postgres", freshStore)
dispatchQueueContract("postgres", freshStore)
statusMatchingContract("postgres", freshStore)
