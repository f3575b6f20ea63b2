import { InMemoryEventStore } from "../src/index.js"
import { eventStoreContract, unitOfWorkContract } from "../testing/index.js"

eventStoreContract("in memory", () => InMemoryEventStore.layer)
unitOfWorkContract("in memory", () => InMemoryEventStore.layer)
