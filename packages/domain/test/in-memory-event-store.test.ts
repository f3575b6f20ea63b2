import { InMemoryEventStore } from "../src/index.js"
import { eventStoreContract } from "../testing/index.js"

eventStoreContract("in memory", () => InMemoryEventStore)
