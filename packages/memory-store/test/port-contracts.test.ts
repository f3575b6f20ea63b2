import { eventStoreContract, unitOfWorkContract } from "@mm-gateway/domain/testing"
import { storePortContracts } from "@mm-gateway/ports/testing"
import { layerMemoryStore } from "../src/store.js"

// The layer builds a fresh, empty store each time it is provided.
const store = () => layerMemoryStore

// The domain's own ports, with the read side projected on every append…
eventStoreContract("memory store", store)
unitOfWorkContract("memory store", store)

// …and every port of @mm-gateway/ports.
storePortContracts("memory store", store)
